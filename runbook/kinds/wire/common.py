"""Parameters and plumbing shared by the http.* kinds (no heavy imports here)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, ConfigDict, Field

from runbook.durations import Duration
from runbook.kinds.base import Params
from runbook.kinds.wire.net import Dialer, parse_hostport, pins_for, ssl_context

if TYPE_CHECKING:
    from runbook.context import RunContext
    from runbook.kinds.wire.client import Client

Status = int | list[int] | Annotated[str, Field(pattern=r"^[1-5]xx$")]


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

class TlsOptions(Params):
    verify: bool | str = Field(
        True, description="true: the certificate must chain to a trusted CA (the system's "
        "and the environment's sandbox CA) and name the host; false: accept any; a path "
        "(relative to the plan's folder): also trust the CAs in that PEM bundle")


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
    """An HTTP client for one check: pins ``connect_to`` on the hosts of ``urls``."""
    from runbook.kinds.wire.client import Client

    pins: dict[str, tuple[str, int | None]] = {}
    if p.connect_to:
        for url in urls:
            pins.update(pins_for(host_of(url), p.connect_to))
    dialer = Dialer(ctx.network, pins)
    tls = functools.partial(ssl_context, ctx.network, p.tls.verify, ctx.plan_dir)
    return Client(dialer, tls, timeout=timeout_of(ctx, p.timeout))



