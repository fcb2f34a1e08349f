"""The HTTP client of the wire checks: HTTP/1.1 over asyncio, with keep-alive connections.

Every http kind runs on it: http.get and http.redirect make a request or walk a chain in
a short event loop (:func:`run`), http.redirects walks a whole map on one loop with
``concurrency`` tasks. One thread multiplexing the connections beat both httpcore and a
thread per connection over ``http.client`` on a 1,000-entry map (bench/README.md): on
loopback a request costs CPU, not waiting, and threads only add GIL hand-offs to it.

Connections go where :class:`Dialer` says (``connect_to``, ``port_map``, DNS through the
environment's resolvers), while ``Host``, TLS SNI and the certificate's name stay the URL's
own: ``curl --resolve``, for every hop of a redirect chain. Responses are read by
:mod:`runbook.kinds.wire.parse`; httpx only parses URLs (IDNA, percent-encoding).

Through a proxy (:mod:`runbook.kinds.wire.proxy`) an http URL is asked for in absolute
form; an https URL, and an http URL pinned by ``connect_to``, go through a ``CONNECT``
tunnel to where the pin says, so Host and SNI stay the URL's. Bodies are decoded and
Locations resolved by :mod:`runbook.kinds.wire.content`.

Only the http kinds import this module, inside their ``run``: it imports httpx.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx

from runbook.kinds.wire import content
from runbook.kinds.wire.net import Dialer, WireError, connect_tcp, is_ip
from runbook.kinds.wire.parse import ProtocolError, Response
from runbook.kinds.wire.proxy import DIRECT, Proxy, ProxyChoice

T = TypeVar("T")

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_REQUEST = "{method} {target} HTTP/1.1\r\nHost: {host}\r\n{defaults}{extra}\r\n"
_Origin = tuple[str, str, int]  # scheme, host as dialled (IDNA), port
_DEFAULT_PORT = {"http": 80, "https": 443}
_CHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
# An http(s) URL with nothing for httpx to do (no IDNA, percent-encoding, dot segments or
# fragment): most of a redirect map. httpx's parser costs 8 us a URL, a tenth of a check.
_PLAIN = re.compile(rf"(https?)://([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)(?::([0-9]{{1,5}}))?"
                    rf"((?:/(?!\.\.?(?:[/?]|$)){_CHAR}*)*)(\?(?:{_CHAR}|[/?])*)?")


@dataclass(frozen=True)
class Fetched:
    """One request and what came back. ``headers`` has lower-case names; repeated
    headers are joined with ", " as RFC 9110 allows."""

    url: str
    status: int
    reason: str
    headers: dict[str, str]
    location: str | None  # absolute, resolved against ``url``
    text: str  # decoded (Content-Encoding undone, then the charset)
    encoding: str | None = None  # the Content-Encoding the body came in


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end on an event loop of its own, from synchronous code (a
    check's ``run``); in a worker thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


class _Watch:
    """The silence timeout of every request in flight on one client, kept by one timer
    that looks every quarter of the timeout, instead of a timer per request (a push and
    a pop on the loop's heap, compared in Python). A silent server is caught between
    ``timeout`` and 1.25 x ``timeout``."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.busy: set[_Connection] = set()
        self._handle: asyncio.TimerHandle | None = None

    def add(self, connection: _Connection) -> None:
        self.busy.add(connection)
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.timeout / 4,
                                                                 self._sweep)

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in [c for c in self.busy if now - c.last >= self.timeout]:
            connection.expire()
        self._handle = loop.call_later(self.timeout / 4, self._sweep) if self.busy else None

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _Connection(asyncio.Protocol):
    """One keep-alive connection, carrying one request at a time."""

    def __init__(self, watch: _Watch) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.last = 0.0  # loop time of the last byte read, for the silence timeout
        self._buf = bytearray()
        self._response: Response | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._watch = watch
        self._eof = False

    @property
    def idle(self) -> bool:
        """Open, and nothing unasked-for arrived on it while it waited."""
        return not self.closed and not self._eof and not self._buf

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self._progress()

    def eof_received(self) -> bool:
        self._eof = True
        self._progress()
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof = True
        self._progress(exc)

    # --- the request ----------------------------------------------------------------------

    async def exchange(self, request: bytes, response: Response, *,
                       tunnel: bool = False) -> None:
        """Send ``request`` and read ``response``; TimeoutError when the server is silent
        for the watch's timeout, ProtocolError or OSError when the answer is not HTTP."""
        assert self.transport is not None and self._response is None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._response = response
        self.transport.write(request)
        if self._buf or self._eof:
            self._progress()
        self.last = loop.time()
        self._watch.add(self)
        try:
            await waiter
        finally:
            self._watch.busy.discard(self)
            self._response, self._waiter = None, None
        if not response.reusable and not tunnel:
            self.close()

    def expire(self) -> None:
        """The server was silent too long: the request fails with TimeoutError."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError())
        self.close()

    def _progress(self, exc: Exception | None = None) -> None:
        response, waiter = self._response, self._waiter
        if response is None or waiter is None or waiter.done():
            return
        if self._buf:
            self.last = asyncio.get_running_loop().time()
        try:
            response.feed(self._buf)
            if not response.done and self._eof:
                if exc is not None and not response.started:
                    raise exc
                response.eof()
        except (ProtocolError, OSError) as error:
            waiter.set_exception(error)
            self.close()
            return
        if response.done:
            waiter.set_result(None)

    def close(self) -> None:
        # abort, not close: nothing is ever left to send, and a TLS close waits for the
        # server's close_notify, which may outlive the check's event loop.
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()


class Client:
    """One check's HTTP client. Keeps idle connections per origin; a connection carries
    one request at a time, so a host never sees more connections than there are
    requests in flight (``concurrency`` tasks for http.redirects). With ``rate``, the
    requests to each host start at most ``rate`` a second."""

    def __init__(self, dialer: Dialer, tls: Callable[[], ssl.SSLContext], *,
                 timeout: float, proxies: ProxyChoice = DIRECT,
                 rate: float | None = None, send: dict[str, str] | None = None) -> None:
        self.timeout = timeout
        self._always = dict(send or {})  # sent with every request (a check's request_headers)
        self._dialer = dialer
        self._tls = tls  # called at the first https connection: CAs take 20-40 ms to load
        self._context: ssl.SSLContext | None = None
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._all: list[_Connection] = []
        self._proxies = proxies
        self._interval = 1.0 / rate if rate else 0.0
        self._next: dict[str, float] = {}  # host: loop time its next request may start
        # sent unless the check gives its own (a header given twice is two headers: a
        # function reading `accept` would see ours); the lines for `send` made once
        self._default_values = {"User-Agent": "runbook (+wire checks)", "Accept": "*/*",
                                "Accept-Encoding": content.accept_encoding()}
        self._defaults = self._defaults_without(self._always)
        self._watch = _Watch(timeout)

    def _defaults_without(self, given: Mapping[str, str]) -> str:
        """The default header lines that ``given`` does not name."""
        named = {k.lower() for k in given}
        return "".join(f"{k}: {v}\r\n" for k, v in self._default_values.items()
                       if k.lower() not in named)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._watch.stop()
        for connection in self._all:
            connection.close()
        self._all, self._idle = [], {}
        await asyncio.sleep(0)  # let the transports' close callbacks run on this loop

    async def fetch(self, url: str, method: str = "GET", *, body: bool = True,
                    headers: Mapping[str, str] | None = None,
                    payload: bytes | None = None) -> Fetched:
        """Make one request; WireError when there is no HTTP answer to judge.

        Without ``body`` the body is read and dropped (so the connection is reused).
        ``headers`` are sent as given (after the client's own); ``payload`` is the
        request's body."""
        origin, netloc, target = _split(url)
        proxy = None if self._proxies is DIRECT else \
            self._proxies.for_url(origin[0], origin[1])
        given = {**self._always, **headers} if headers else self._always
        extra = _header_lines(given, payload)
        defaults = self._defaults_without(given) if headers else self._defaults
        if proxy is not None and not self._tunnels(origin):
            # Plain HTTP through the proxy: the absolute URL in the request line.
            target = f"http://{netloc}{target}"
            extra += proxy.header()
        request = _REQUEST.format(method=method, target=target, host=netloc,
                                  defaults=defaults, extra=extra).encode("utf-8")
        if payload is not None:
            request += payload
        if self._interval:
            await self._pace(origin[1])
        response = await self._send(url, origin, request, method, keep_body=body,
                                    proxy=proxy)
        headers = response.headers
        try:
            location = content.location(url, response.locations)
            coding = headers.get("content-encoding")
            data = bytes(response.body)
            if coding and data:
                data = content.decode(data, coding)
        except ProtocolError as exc:
            raise _failed(exc, url) from exc
        return Fetched(url, response.status, response.reason, headers, location,
                       _decode(data, headers.get("content-type", "")), coding)

    def _tunnels(self, origin: _Origin) -> bool:
        """Through a proxy: https always tunnels, http when ``connect_to`` pins it (a
        forward proxy would send it to the URL's host, not the pin)."""
        return origin[0] == "https" or self._dialer.pinned(origin[1])

    async def _pace(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next.get(host, now))
        self._next[host] = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _send(self, url: str, origin: _Origin, request: bytes, method: str, *,
                    keep_body: bool, proxy: Proxy | None) -> Response:
        idle = self._idle.setdefault(origin, [])
        while True:
            connection = idle.pop() if idle else None
            if connection is not None and not connection.idle:
                connection.close()
                continue
            reused = connection is not None
            if connection is None:
                connection = await self._open(url, origin, proxy)
            response = Response(head_request=method == "HEAD", keep_body=keep_body)
            try:
                await connection.exchange(request, response)
            except TimeoutError as exc:
                raise WireError("timeout", f"no answer from {url} within "
                                           f"{self.timeout:g}s") from exc
            except (ProtocolError, OSError) as exc:
                if reused and not response.started and method in ("GET", "HEAD"):
                    continue  # the server closed it while idle: ask again on a new one
                raise _failed(exc, url) from exc
            if not connection.closed:
                idle.append(connection)
            return response

    async def _open(self, url: str, origin: _Origin, proxy: Proxy | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        if proxy is not None:
            address, real_port = proxy.host, proxy.port  # the proxy resolves the URL's host
        elif self._dialer.network.resolve_via_dns and not is_ip(host):
            # dnspython blocks: off the loop (answers are cached for the check).
            address, real_port = await loop.run_in_executor(None, self._dialer.target,
                                                            host, port)
        else:
            address, real_port = self._dialer.target(host, port)
        try:
            async with asyncio.timeout(self.timeout):
                sock = await connect_tcp(address, real_port)
                transport, connection = await loop.create_connection(
                    lambda: _Connection(self._watch), sock=sock)
        except TimeoutError as exc:
            where = f"the proxy {proxy.shown}" if proxy else url
            raise WireError("timeout", f"could not connect to {where} within "
                                       f"{self.timeout:g}s") from exc
        except OSError as exc:
            if proxy is not None:
                raise _proxy_failed(exc, proxy, url) from exc
            raise _failed(exc, url) from exc
        self._all.append(connection)
        if proxy is not None and self._tunnels(origin):
            await self._connect(connection, proxy, url, *self._dialer.route(host, port))
        if scheme == "https":
            if self._context is None:
                self._context = self._tls()
            try:
                async with asyncio.timeout(self.timeout):
                    tls = await loop.start_tls(transport, connection, self._context,
                                               server_hostname=host)
            except TimeoutError as exc:
                connection.close()
                raise WireError("timeout", f"TLS handshake with {url} took over "
                                           f"{self.timeout:g}s") from exc
            except (ssl.SSLError, OSError) as exc:
                connection.close()
                raise _failed(exc, url) from exc
            assert isinstance(tls, asyncio.Transport)
            connection.transport = tls  # start_tls hands the protocol a new transport
        return connection

    async def _connect(self, connection: _Connection, proxy: Proxy, url: str, host: str,
                       port: int) -> None:
        """Open a tunnel to ``host:port`` (the pin's, when there is one) through ``proxy``."""
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        request = (f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
                   f"User-Agent: runbook (+wire checks)\r\n{proxy.header()}\r\n")
        answer = Response(head_request=True, keep_body=False)
        try:
            await connection.exchange(request.encode("ascii"), answer, tunnel=True)
        except TimeoutError as exc:
            connection.close()
            raise WireError("timeout", f"the proxy {proxy.shown} did not answer CONNECT "
                                       f"{authority} within {self.timeout:g}s") from exc
        except (ProtocolError, OSError) as exc:
            connection.close()
            raise _proxy_failed(exc, proxy, url) from exc
        if not 200 <= answer.status < 300:
            connection.close()
            why = " (it wants credentials: put them in the proxy URL)" \
                if answer.status == 407 else ""
            raise WireError("unreachable", f"the proxy {proxy.shown} answered "
                                           f"{answer.status} {answer.reason} to CONNECT "
                                           f"{authority} for {url}{why}")


def _header_lines(headers: Mapping[str, str], payload: bytes | None) -> str:
    """A request's own header lines; WireError for a name or value that would end the
    header early (a line break in a plan's value must not smuggle a second request)."""
    lines = []
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
            raise WireError("error", f"the header {name!r} cannot be sent: a header name is "
                                     "a word and a value is one line")
        lines.append(f"{name}: {value}\r\n")
    if payload is not None:
        lines.append(f"Content-Length: {len(payload)}\r\n")
    return "".join(lines)


def _split(url: str) -> tuple[_Origin, str, str]:
    """The origin to dial, the ``Host`` header and the request target of ``url``."""
    m = _PLAIN.fullmatch(url)
    if m is not None and (m.group(3) is None or int(m.group(3)) < 65536):
        scheme, host, port = m.group(1), m.group(2).lower(), m.group(3)
        number = int(port) if port else _DEFAULT_PORT[scheme]
        netloc = host if number == _DEFAULT_PORT[scheme] else f"{host}:{number}"
        return (scheme, host, number), netloc, (m.group(4) or "/") + (m.group(5) or "")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise WireError("error", f"invalid URL {url}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WireError("error", f"{url} is not an http(s) URL")
    origin = (parsed.scheme, parsed.raw_host.decode("ascii"),
              parsed.port or _DEFAULT_PORT[parsed.scheme])
    return origin, parsed.netloc.decode("ascii"), parsed.raw_path.decode("ascii")


def _decode(data: bytes, content_type: str) -> str:
    if not data:
        return ""
    m = _CHARSET.search(content_type)
    try:
        return data.decode(m.group(1) if m else "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def _failed(exc: Exception, url: str) -> WireError:
    """A named outcome and one line for what went wrong under a request."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return WireError("tls", f"TLS certificate of {url} not accepted: "
                                f"{exc.verify_message or exc.reason}")
    if isinstance(exc, ssl.SSLError):
        return WireError("tls", f"TLS failed for {url}: {exc.reason or exc}")
    if isinstance(exc, ProtocolError):
        return WireError("protocol", f"{url} broke the HTTP protocol: {exc}")
    if isinstance(exc, ConnectionRefusedError):
        return WireError("refused", f"connection refused for {url}")
    if isinstance(exc, socket.gaierror):
        return WireError("nxdomain", f"cannot resolve the host of {url}: {exc.strerror}")
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return WireError("unreachable", f"cannot reach {url}: {why}")


def _proxy_failed(exc: Exception, proxy: Proxy, url: str) -> WireError:
    """The proxy itself failed: said so, with the proxy named (password hidden)."""
    if isinstance(exc, ConnectionRefusedError):
        return WireError("refused", f"the proxy {proxy.shown} refused the connection "
                                    f"(for {url})")
    if isinstance(exc, socket.gaierror):
        return WireError("nxdomain", f"cannot resolve the proxy {proxy.shown}: "
                                     f"{exc.strerror}")
    if isinstance(exc, ProtocolError):
        return WireError("protocol", f"the proxy {proxy.shown} broke the HTTP protocol "
                                     f"(for {url}): {exc}")
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return WireError("unreachable", f"cannot reach {url} through the proxy {proxy.shown}: "
                                    f"{why}")
