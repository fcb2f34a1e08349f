"""The HTTP client of the wire checks: httpx over a pool that dials where :class:`Dialer`
says.

The override lives in an httpcore *network backend*: httpcore keys its pool, sends
``Host`` and TLS SNI, and checks the certificate by the URL's own host, and asks the
backend only for a TCP stream to ``(host, port)``. Answering that with a socket to the
pinned or DNS-resolved address is exactly ``curl --resolve``, for every hop of a redirect
chain, with keep-alive connections reused per host.

Only the http kinds import this module, inside their ``run``: it imports httpx.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

import httpcore
import httpx

from runbook.kinds._net import Dialer, WireError

MAX_BODY = 10 * 1024 * 1024  # a check reads at most this much of a body


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


class _Stream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class _Transport(httpx.BaseTransport):
    """httpx's own HTTPTransport, minus proxies, over a pool with our backend."""

    def __init__(self, dialer: Dialer, context: ssl.SSLContext, connections: int) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, max_connections=connections,
            max_keepalive_connections=connections, network_backend=_Backend(dialer))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, Iterable)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Stream(response.stream), extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


@dataclass(frozen=True)
class Fetched:
    """One request and what came back."""

    url: str
    status: int
    reason: str
    headers: httpx.Headers
    location: str | None  # absolute, resolved against ``url``
    text: str


class Client:
    """One check's HTTP client: a keep-alive pool of ``connections`` connections."""

    def __init__(self, dialer: Dialer, context: ssl.SSLContext, *, timeout: float,
                 connections: int = 10) -> None:
        self.timeout = timeout
        self._client = httpx.Client(
            transport=_Transport(dialer, context, connections), timeout=timeout,
            follow_redirects=False, trust_env=False,
            headers={"User-Agent": "runbook (+wire checks)"})

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._client.close()

    def fetch(self, url: str, method: str = "GET", *, body: bool = True) -> Fetched:
        """Make one request; WireError when there is no HTTP answer to judge."""
        try:
            with self._client.stream(method, url) as response:
                data = b""
                if body:
                    for chunk in response.iter_bytes():
                        data += chunk
                        if len(data) >= MAX_BODY:
                            break
                else:
                    for _ in response.iter_raw():  # drain, so the connection is reused
                        pass
                location = response.headers.get("location")
                if location is not None:
                    location = str(response.url.join(location))
                text = data.decode(response.encoding or "utf-8", "replace") if data else ""
                return Fetched(str(response.url), response.status_code,
                               response.reason_phrase, response.headers, location, text)
        except WireError:
            raise
        except (httpx.HTTPError, httpcore.ConnectionNotAvailable, httpcore.NetworkError,
                httpcore.TimeoutException, httpcore.ProtocolError, httpx.InvalidURL) as exc:
            raise translate(exc, url, self.timeout) from exc


def translate(exc: Exception, url: str, timeout: float) -> WireError:
    """A named outcome and one line for what went wrong under a request."""
    root = _root(exc)
    if isinstance(exc, httpx.ConnectTimeout | httpcore.ConnectTimeout):
        if isinstance(root, ssl.SSLError):
            return WireError("timeout", f"TLS handshake with {url} took over {timeout:g}s")
        return WireError("timeout", f"could not connect for {url} within {timeout:g}s")
    if isinstance(exc, httpx.TimeoutException | httpcore.TimeoutException):
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
    if isinstance(exc, httpx.RemoteProtocolError | httpcore.RemoteProtocolError):
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
