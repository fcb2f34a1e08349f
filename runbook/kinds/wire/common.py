"""Parameters and plumbing shared by the http.* kinds (no heavy imports here).

``client_for`` is runbook's one HTTP client factory: every HTTP request runbook makes (the
``http.*`` checks, ``http.request``, the plan's ``notify:`` webhooks) goes through a client
it builds from the run's network settings: the proxy and ``NO_PROXY``, the CA bundle, the
client certificate, the resolvers and port map (``resolve-via``, the twin). ``exchange`` is
one request with a body, from synchronous code."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from runbook.durations import Duration
from runbook.kinds.base import Params
from runbook.kinds.wire.net import Dialer, parse_hostport, pins_for, ssl_context

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runbook.context import RunContext
    from runbook.kinds.wire.client import Client, Fetched

_STATUS_CLASS = r"^[1-5]xx$"


def _status_class(value: str) -> str:
    if not re.fullmatch(_STATUS_CLASS, value):
        # said in the plan's words: what is accepted, not the pattern
        raise ValueError("should be a class of statuses written like 2xx or 3xx (1xx to 5xx)")
    return value


Status = int | list[int] | Annotated[
    str, AfterValidator(_status_class),
    WithJsonSchema({"type": "string", "pattern": _STATUS_CLASS})]


def status_matches(spec: Status, status: int) -> bool:
    if isinstance(spec, int):
        return status == spec
    if isinstance(spec, str):
        return str(status)[0] == spec[0]
    return status in spec


def status_text(spec: Status | Iterable[int]) -> str:
    if isinstance(spec, int | str):
        return str(spec)
    words = [str(s) for s in spec]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]



def _hostport(value: str) -> str:
    parse_hostport(value)  # raises ValueError with the reason
    return value


# `connect_to` of the http and tls kinds: host, host:port, IP or [IPv6]:port
HostPort = Annotated[str, AfterValidator(_hostport)]

_RATE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*")


def _rate(value: object) -> object:
    """``50/s``, ``600/m`` or a number (per second) -> requests per second."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = _RATE.fullmatch(value)
        if m is None:
            raise ValueError(f"{value!r} is not a rate: write it like 50/s or 600/m")
        per = 60.0 if (m.group(2) or "s")[0] == "m" else 1.0
        return float(m.group(1)) / per
    return value


# `rate:` of the http kinds: requests a second to one host
Rate = Annotated[float, BeforeValidator(_rate), Field(gt=0), WithJsonSchema({"anyOf": [
    {"type": "number", "exclusiveMinimum": 0},
    {"type": "string", "pattern": f"^{_RATE.pattern}$"}]})]


def rate_text(rate: float) -> str:
    return f"{rate:g}/s" if rate >= 1 else f"{rate * 60:g}/m"


class TlsOptions(Params):
    verify: bool | str = Field(
        True, description="true: the certificate must chain to a trusted CA (the system's "
        "and the environment's sandbox CA) and name the host; false: accept any; a path "
        "(relative to the plan's folder): also trust the CAs in that PEM bundle")
    cert: str | None = Field(
        None, description="a client certificate (PEM, relative to the plan's folder) to "
        "present to a server that asks for one; may hold the key too; the environment's "
        "`client_cert` otherwise")
    key: str | None = Field(None, description="the client certificate's private key (PEM), "
                            "when it is not in `cert`")

    @model_validator(mode="after")
    def _key_needs_cert(self) -> TlsOptions:
        if self.key and not self.cert:
            raise ValueError("`key` needs `cert`: the client certificate it belongs to")
        return self


class Connection(Params):
    """How to reach the server: options every http.* check shares."""

    model_config = ConfigDict(populate_by_name=True)

    connect_to: HostPort | None = Field(
        None, description="host[:port] or IP to connect to instead of the URL's host; the "
        "request keeps the URL's Host header and TLS name (like curl --resolve)")
    tls: TlsOptions = Field(default_factory=TlsOptions, description="certificate checking")
    timeout: Duration | None = Field(
        None, description="give up on a request after this long (default: the "
        "environment's network timeout)")
    rate: Rate | None = Field(
        None, description="most requests a second to any one host, like 50/s or 600/m "
        "(default: no limit, as fast as `concurrency` allows)")
    request_headers: dict[str, str] = Field(
        default_factory=dict, description="headers every request sends, name: value (a "
        "staged change's header phase adds its own)")

    @field_validator("request_headers")
    @classmethod
    def _header_lines(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if "\r" in text or "\n" in text or not text.isascii():
                raise ValueError(f"the value of header {name} is not one line of ASCII")
        return value


class RedirectOptions(Connection):
    status: int | list[int] = Field(
        [301, 308], description="status every hop must answer with (a code or a list)")
    hops: int = Field(1, ge=1, le=20, description="most redirects allowed to get there")
    keep_path: bool = Field(
        False, description="the source's path must be carried: the destination is `to` "
        "with the source's path appended")
    keep_query: bool = Field(False, description="the source's query string must be carried")

    def allowed(self) -> list[int]:
        return [self.status] if isinstance(self.status, int) else list(self.status)

    def describe_options(self) -> str:
        bits = [f"with {status_text(self.allowed())}"]
        if self.hops != 1:
            bits.append(f"in at most {self.hops} hops")
        kept = [w for w, on in (("path", self.keep_path), ("query", self.keep_query)) if on]
        if kept:
            bits.append(f"keeping the {' and '.join(kept)}")
        if self.connect_to:
            bits.append(f"via {self.connect_to}")
        if self.rate:
            bits.append(f"at most {rate_text(self.rate)} a host")
        return " " + ", ".join(bits)


def host_of(url: str) -> str | None:
    """The host the client will dial for ``url``: IDNA-encoded as httpx encodes it, so a
    pin on an internationalised name is found. None for a URL that does not parse (the
    request reports it)."""
    import httpx

    try:
        return httpx.URL(url).raw_host.decode("ascii") or None
    except (httpx.InvalidURL, UnicodeError):
        return None


def timeout_of(ctx: RunContext, own: float | None) -> float:
    return own if own is not None else ctx.network.timeout


def client_for(ctx: RunContext, p: Connection, urls: Iterable[str]) -> Client:
    """An HTTP client for one check: pins ``connect_to`` on the hosts of ``urls``, goes
    through the environment's proxy. WireError("error") for a proxy it cannot use."""
    from runbook.kinds.wire.client import Client
    from runbook.kinds.wire.proxy import DIRECT, choose

    pins: dict[str, tuple[str, int | None]] = {}
    if p.connect_to:
        for url in urls:
            pins.update(pins_for(host_of(url), p.connect_to))
    dialer = Dialer(ctx.network, pins)
    net = ctx.network
    # The sandbox's names exist only in its DNS: no proxy could reach them.
    proxies = DIRECT if net.resolve_via_dns and net.proxy is None else choose(net.proxy)
    tls = functools.partial(ssl_context, ctx.network, p.tls.verify, ctx.plan_dir,
                            cert=p.tls.cert, key=p.tls.key)
    return Client(dialer, tls, timeout=timeout_of(ctx, p.timeout), proxies=proxies,
                  rate=p.rate, send=p.request_headers)


def exchange(ctx: RunContext, method: str, url: str, *, timeout: float,
             headers: Mapping[str, str] | None = None,
             content: bytes | None = None) -> Fetched:
    """One request through a client of ``client_for`` (the environment's proxy, CAs,
    client certificate and resolvers); WireError when no HTTP answer came back."""
    from runbook.kinds.wire.client import run

    client = client_for(ctx, Connection(timeout=timeout), [url])

    async def one() -> Fetched:
        async with client:
            return await client.fetch(url, method, headers=headers, payload=content)
    return run(one())
