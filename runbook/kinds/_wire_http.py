"""The HTTP client of the wire checks: httpcore's pool, dialling where :class:`Dialer` says.

The override lives in an httpcore *network backend*: httpcore keys its pool, sends
``Host`` and TLS SNI, and checks the certificate by the URL's own host, and asks the
backend only for a TCP stream to ``(host, port)``. Answering that with a socket to the
pinned or DNS-resolved address is exactly ``curl --resolve``, for every hop of a redirect
chain, with keep-alive connections reused per host.

Requests go straight to httpcore's pool, under httpx: httpx's Client costs some 300 us a
request in cookies, hooks and models that checks do not use, which made a 1,000-entry
redirect map three times slower. httpx still parses the URLs (IDNA, percent-encoding).

Only the http kinds import this module, inside their ``run``: it imports httpx.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin

import httpcore
import httpx

from runbook.kinds._net import Dialer, WireError

MAX_BODY = 10 * 1024 * 1024  # a check reads at most this much of a body

_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_USER_AGENT = (b"User-Agent", b"runbook (+wire checks)")


class _Backend(httpcore.NetworkBackend):
    def __init__(self, dialer: Dialer) -> None:
        self._dialer = dialer
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        address, real_port = self._dialer.target(host, port)
        return self._inner.connect_tcp(address, real_port, timeout, local_address,
                                       socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@dataclass(frozen=True)
class Fetched:
    """One request and what came back. ``headers`` has lower-case names; repeated
    headers are joined with ", " as RFC 9110 allows."""

    url: str
    status: int
    reason: str
    headers: dict[str, str]
    location: str | None  # absolute, resolved against ``url``
    text: str


class Client:
    """One check's HTTP client: keep-alive connections, one per worker thread and origin.

    Each thread keeps its own connections instead of sharing httpcore's pool: under ten
    threads the pool's locking halved throughput. So a check run by N workers opens at
    most N connections to a host, and each carries many requests.
    """

    def __init__(self, dialer: Dialer, context: ssl.SSLContext, *, timeout: float) -> None:
        self.timeout = timeout
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout,
                          "pool": timeout}
        self._context = context
        self._backend = _Backend(dialer)
        self._local = threading.local()
        self._opened: list[httpcore.HTTPConnection] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def _send(self, request: httpcore.Request) -> httpcore.Response:
        mine: dict[tuple[bytes, bytes, int], httpcore.HTTPConnection] | None = \
            getattr(self._local, "connections", None)
        if mine is None:
            mine = self._local.connections = {}
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port)  # Origin itself is not hashable
        for _ in range(2):
            connection = mine.get(key)
            if connection is None or connection.is_closed() or connection.has_expired():
                if connection is not None:
                    connection.close()
                connection = httpcore.HTTPConnection(
                    origin, ssl_context=self._context, network_backend=self._backend)
                mine[key] = connection
                with self._lock:
                    self._opened.append(connection)
            try:
                return connection.handle_request(request)
            except httpcore.ConnectionNotAvailable:
                connection.close()  # the server closed it while idle: one more try
                del mine[key]
        raise httpcore.ConnectionNotAvailable()

    def fetch(self, url: str, method: str = "GET", *, body: bool = True) -> Fetched:
        """Make one request; WireError when there is no HTTP answer to judge.

        Without ``body`` the body is read and dropped (so the connection is reused)."""
        try:
            parsed = httpx.URL(url)
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise WireError("error", f"{url} is not an http(s) URL")
            request = httpcore.Request(
                method,
                httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host,
                             port=parsed.port, target=parsed.raw_path),
                headers=[(b"Host", parsed.netloc), _USER_AGENT, (b"Accept", b"*/*")],
                extensions={"timeout": self._timeouts})
            response = self._send(request)
            try:
                data = b"".join(_limited(response.iter_stream()) if body else
                                (b"" for _ in response.iter_stream()))
            finally:
                response.close()
        except WireError:
            raise
        except (httpx.InvalidURL, httpcore.ConnectionNotAvailable, httpcore.NetworkError,
                httpcore.TimeoutException, httpcore.ProtocolError,
                httpcore.UnsupportedProtocol) as exc:
            raise translate(exc, url, self.timeout) from exc
        headers: dict[str, str] = {}
        for name, value in response.headers:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        location = headers.get("location")
        if location is not None and not location.startswith(("https://", "http://")):
            location = urljoin(url, location)  # relative: most redirects are absolute
        reason = response.extensions.get("reason_phrase", b"").decode("latin-1", "replace")
        return Fetched(url, response.status, reason, headers, location,
                       _decode(data, headers.get("content-type", "")))


def _limited(chunks: Iterable[bytes]) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        yield chunk
        if size >= MAX_BODY:
            break


def _decode(data: bytes, content_type: str) -> str:
    if not data:
        return ""
    m = _CHARSET.search(content_type)
    try:
        return data.decode(m.group(1) if m else "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def translate(exc: Exception, url: str, timeout: float) -> WireError:
    """A named outcome and one line for what went wrong under a request."""
    root = _root(exc)
    if isinstance(exc, httpcore.ConnectTimeout):
        if isinstance(root, ssl.SSLError):
            return WireError("timeout", f"TLS handshake with {url} took over {timeout:g}s")
        return WireError("timeout", f"could not connect for {url} within {timeout:g}s")
    if isinstance(exc, httpcore.TimeoutException):
        return WireError("timeout", f"no answer from {url} within {timeout:g}s")
    if isinstance(root, ssl.SSLCertVerificationError):
        return WireError("tls", f"TLS certificate of {url} not accepted: "
                                f"{root.verify_message or root.reason}")
    if isinstance(root, ssl.SSLError):
        return WireError("tls", f"TLS failed for {url}: {root.reason or root}")
    if isinstance(root, ConnectionRefusedError):
        return WireError("refused", f"connection refused for {url}")
    if isinstance(root, OSError) and root.__class__.__name__ == "gaierror":
        return WireError("nxdomain", f"cannot resolve the host of {url}: {root.strerror}")
    if isinstance(exc, httpx.InvalidURL):
        return WireError("error", f"invalid URL {url}: {exc}")
    if isinstance(exc, httpcore.ProtocolError):
        return WireError("protocol", f"{url} broke the HTTP protocol: {exc}")
    if isinstance(root, OSError):
        return WireError("unreachable", f"cannot reach {url}: {root.strerror or root}")
    return WireError("unreachable", f"cannot reach {url}: {exc or type(exc).__name__}")


def _root(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc
