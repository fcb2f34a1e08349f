"""Where HTTP and TLS checks connect, and what they trust. Shared by http.* and tls.*.

A check names a URL or a host; :class:`Dialer` decides the address and port actually
dialled, in this order:

1. ``connect_to`` pins the URL's host to another host or IP (``curl --resolve``): the
   request still carries the URL's host in ``Host`` and in TLS SNI, and the certificate
   is still checked against it. A pin without a port keeps the URL's port.
2. ``ctx.network.port_map`` rewrites the destination port (443 -> the sandbox edge).
3. With ``ctx.network.resolve_via_dns`` host names are resolved through
   ``ctx.network.resolvers`` (dnspython), not the operating system.

Nothing heavy is imported at module level: this module is imported when plans are
validated.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.errors import NetworkError

if TYPE_CHECKING:
    import socket
    import ssl

    from runbook.context import NetworkSettings


class WireError(NetworkError):
    """A request that could not be made, with the named outcome a CheckResult carries:
    "timeout", "refused", "unreachable", "tls", "nxdomain", "servfail", "protocol". Part of
    the error tree: one that escapes a kind is a NetworkError like any other."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def parse_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``IP``, ``[v6]`` or ``[v6]:port``; ValueError otherwise."""
    text = text.strip()
    if not text or "/" in text:
        raise ValueError(f"{text!r} is not host[:port]")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r} is not [ipv6]:port")
        port = rest[1:] if rest else ""
    elif text.count(":") > 1:  # a bare IPv6 address
        return str(ipaddress.ip_address(text)), None
    else:
        host, _, port = text.partition(":")
    if not host:
        raise ValueError(f"{text!r} has no host")
    if not port:
        return host, None
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError(f"port {number} out of range in {text!r}")
    return host, number


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass
class Dialer:
    """Maps the (host, port) a URL names to the (address, port) to dial."""

    network: NetworkSettings
    pins: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)
    _cache: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def target(self, host: str, port: int) -> tuple[str, int]:
        """Raises WireError when DNS (via the context's resolvers) has no address."""
        host, port = self.route(host, port)
        return self.address(host), port

    def pinned(self, host: str) -> bool:
        return bool(self.pins) and host.strip("[]").lower().rstrip(".") in self.pins

    def route(self, host: str, port: int) -> tuple[str, int]:
        """Where ``host:port`` goes, before any DNS: the pin and ``port_map`` applied. A
        proxy's CONNECT names this, and the proxy resolves it."""
        host = host.strip("[]").lower().rstrip(".")
        pin = self.pins.get(host)
        if pin is not None:
            host, port = pin[0].strip("[]"), pin[1] or port
        return host, self.network.port_map.get(port, port)

    def address(self, host: str) -> str:
        if is_ip(host) or not self.network.resolve_via_dns:
            return host  # the OS resolves it while connecting
        with self._lock:
            cached = self._cache.get(host)
        if cached is not None:
            return cached
        from runbook.kinds.wire import resolver

        servers = resolver.system_servers(self.network.resolvers)
        answer = resolver.lookup(host, "A", servers, timeout=self.network.timeout)
        if answer.outcome == "ok" and not answer.values:
            answer = resolver.lookup(host, "AAAA", servers, timeout=self.network.timeout)
        if answer.outcome != "ok":
            raise WireError(answer.outcome, f"cannot resolve {host}: {answer.detail}")
        if not answer.values:
            raise WireError("nxdomain", f"cannot resolve {host}: it has no A or AAAA record")
        with self._lock:
            self._cache[host] = answer.values[0]
        return answer.values[0]

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP socket to where ``host:port`` goes; WireError when it cannot be made."""
        import socket

        address, real_port = self.target(host, port)
        where = f"{address}:{real_port}" if (address, real_port) != (host, port) else \
            f"{host}:{port}"
        try:
            sock = socket.create_connection((address, real_port), timeout=timeout)
        except TimeoutError as exc:
            raise WireError("timeout", f"could not connect to {where} within "
                                       f"{timeout:g}s") from exc
        except ConnectionRefusedError as exc:
            raise WireError("refused", f"{where} refused the connection") from exc
        except socket.gaierror as exc:
            raise WireError("nxdomain", f"cannot resolve {address}: {exc.strerror}") from exc
        except OSError as exc:
            raise WireError("unreachable", f"cannot connect to {where}: "
                                           f"{exc.strerror or exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


async def connect_tcp(host: str, port: int) -> socket.socket:
    """A connected socket to the first address of ``host`` that answers, or the first
    address's error, as ``socket.create_connection`` does: asyncio's own connect merges
    the errors of several addresses ("localhost": ::1 and 127.0.0.1) into one OSError,
    and "refused" would become "unreachable"."""
    import asyncio
    import socket

    loop = asyncio.get_running_loop()
    if is_ip(host):
        targets: list[tuple[int, Any]] = [
            (socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port))]
    else:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        targets = [(info[0], info[4]) for info in infos]
    first: OSError | None = None
    for kind, address in targets:
        sock = socket.socket(kind, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            first = first or exc
            continue
        except BaseException:  # a timeout or a cancellation: no socket left open
            sock.close()
            raise
        return sock
    assert first is not None  # getaddrinfo answers at least one address or raises
    raise first



def pins_for(host: str | None, connect_to: str | None) -> dict[str, tuple[str, int | None]]:
    """The pin table for one check: ``connect_to`` applies to its URL's host only."""
    if not host or not connect_to:
        return {}
    return {host.strip("[]").lower().rstrip("."): parse_hostport(connect_to)}


def ssl_context(network: NetworkSettings, verify: bool | str, plan_dir: Path, *,
                check_hostname: bool = True, cert: str | None = None,
                key: str | None = None) -> ssl.SSLContext:
    """System CAs plus the context's bundle (and a check's own bundle when ``verify`` is
    a path), or no verification at all when ``verify`` is false. tls.certificate turns
    ``check_hostname`` off to judge the names itself and say which one is missing.

    A client certificate is presented when the check names one (``cert``, ``key``:
    relative to the plan's folder) or, failing that, the environment does."""
    extra = str((plan_dir / verify).resolve()) if isinstance(verify, str) else None
    if cert:
        pair: tuple[str | None, str | None] = (
            str((plan_dir / cert).resolve()), str((plan_dir / key).resolve()) if key else None)
    else:
        pair = (network.client_cert, network.client_key)
    return _context(bool(verify), network.ca_bundle, extra, check_hostname, *pair)


@functools.lru_cache(maxsize=16)
def _context(verify: bool, bundle: str | None, extra: str | None,
             check_hostname: bool, cert: str | None = None,
             key: str | None = None) -> ssl.SSLContext:
    # Loading the system store costs tens of milliseconds; contexts are safe to share.
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = check_hostname
    if cert:
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            what = f"{cert} and {key}" if key else cert
            raise NetworkError(f"cannot load the client certificate {what}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    for path in (bundle, extra):
        if path:
            try:
                context.load_verify_locations(cafile=path)
            except (OSError, ssl.SSLError) as exc:
                    raise NetworkError(f"cannot load the CA bundle {path}: {exc}") from exc
    return context
