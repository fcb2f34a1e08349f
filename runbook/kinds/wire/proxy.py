"""Which proxy an http check goes through: the plan's ``proxy:``, else the environment
variables curl reads, and ``NO_PROXY``.

curl's rules, with one addition: ``https_proxy``/``HTTPS_PROXY`` for https URLs,
``http_proxy`` for http URLs, ``all_proxy``/``ALL_PROXY`` for both when the scheme's own
is unset, the lower-case name winning over the upper-case one. curl ignores upper-case
``HTTP_PROXY`` (a CGI script receives it from a request header); runbook is no CGI
script, and CI runners and office networks set it, so it is read too, after
``http_proxy``. ``NO_PROXY`` is a comma- or space-separated list: ``*`` (no proxy at
all), host names (``example.com`` and ``.example.com`` both match the name and every
name under it), IP addresses and CIDR ranges (``10.0.0.0/8``).

Credentials in a proxy URL (``http://user:pass@proxy:3128``) become a
``Proxy-Authorization: Basic`` header; wherever the proxy is named, it is named by
:attr:`Proxy.shown`, with the password replaced by ``***``.

The sandbox twin is reached directly: its names exist only in its own DNS.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from runbook.kinds.wire.net import WireError

NONE = ("none", "direct", "")  # `proxy: none`: go direct, whatever the variables say


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization header's value
    shown: str  # the URL with the password hidden: the only form ever written

    def header(self) -> str:
        return f"Proxy-Authorization: {self.authorization}\r\n" if self.authorization else ""


def parse(url: str, *, where: str) -> Proxy:
    """A proxy URL as curl reads it: ``host:port`` alone means ``http://host:port``,
    the port defaults to 1080 as curl's does. ValueError names ``where`` it came from."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    shown = redact(text)
    if parts.scheme.lower() != "http":
        raise ValueError(f"{where}: proxy {shown} is not supported: only http:// proxies "
                         "(plain HTTP to the proxy, CONNECT for https) are")
    try:
        port = parts.port or 1080
    except ValueError as exc:
        raise ValueError(f"{where}: proxy {shown} has a bad port") from exc
    if not parts.hostname:
        raise ValueError(f"{where}: proxy {shown} has no host")
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return Proxy(parts.hostname, port, auth, shown)


def redact(url: str) -> str:
    """``url`` with its password (if any) written ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def _variable(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name)
        if value and value.strip():
            return name, value
    return None


def bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``host`` (a name or an IP, without brackets) is in ``no_proxy``."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = \
            ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.removeprefix("*").lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


@dataclass(frozen=True)
class ProxyChoice:
    """The proxies of one check: per scheme, or None for direct."""

    http: Proxy | None
    https: Proxy | None
    no_proxy: str

    def for_url(self, scheme: str, host: str) -> Proxy | None:
        chosen = self.https if scheme == "https" else self.http
        if chosen is None or (self.no_proxy and bypassed(host, self.no_proxy)):
            return None
        return chosen


DIRECT = ProxyChoice(None, None, "")


def choose(plan_proxy: str | None, env: Mapping[str, str] | None = None) -> ProxyChoice:
    """The plan's ``proxy:`` when set (a URL for both schemes, or ``none``), else the
    environment variables. WireError("error") for a proxy that cannot be used."""
    env = os.environ if env is None else env
    no_proxy = (_variable(env, "no_proxy", "NO_PROXY") or ("", ""))[1]
    try:
        if plan_proxy is not None:
            if plan_proxy.strip().lower() in NONE:
                return DIRECT
            one = parse(plan_proxy, where="the environment's `proxy:`")
            return ProxyChoice(one, one, no_proxy)
        every = _variable(env, "all_proxy", "ALL_PROXY")
        http = _variable(env, "http_proxy", "HTTP_PROXY") or every
        https = _variable(env, "https_proxy", "HTTPS_PROXY") or every
        return ProxyChoice(parse(http[1], where=http[0]) if http else None,
                           parse(https[1], where=https[0]) if https else None, no_proxy)
    except ValueError as exc:
        raise WireError("error", str(exc)) from exc
