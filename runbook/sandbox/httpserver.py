"""A small HTTP(S) server on loopback, for tests and the sandbox edge.

Routes map ``"/path"`` (any host) or ``"host/path"`` (that Host only; the query string is
part of the path) to a :class:`Reply`, or a callable that makes one from the
:class:`Request`; anything else is a 404. HTTP/1.1 with keep-alive, one thread per
connection, ``TCP_NODELAY`` on every accepted socket (without it each small response
waits ~40 ms for delayed ACKs)::

    routes = {"/old": redirect("https://new.test/"), "/": Reply(200, "hello")}
    with WebServer(routes) as web:            # port 0: a free port is picked
        web.url("/old")                       # "http://127.0.0.1:43121/old"

With ``tls`` it serves HTTPS (and sets that context's ``sni_callback`` to record the
name each client sent); ``sni`` maps server names to their own contexts, so one server
can present different certificates to different names, as an edge does.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    host: str  # the Host header without its port
    path: str  # with the query string
    headers: Mapping[str, str]
    sni: str | None  # the TLS server name the client sent, None over plain HTTP
    header_list: tuple[tuple[str, str], ...] = ()  # every header line, repeats included


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str | bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for timeout tests)
    repeated: tuple[tuple[str, str], ...] = ()  # more header lines (a repeated Set-Cookie)


def redirect(location: str, status: int = 301) -> Reply:
    return Reply(status, b"", {"Location": location})


Route = Reply | Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    web: WebServer

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        web = self.web
        with web._lock:
            web.connections += 1
            web._open += 1
            web.peak_connections = max(web.peak_connections, web._open)
        try:
            self._finish(request, client_address)
        finally:
            with web._lock:
                web._open -= 1

    def _finish(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread: in the accept
        # loop one client that never finishes its handshake would stall all the others.
        context = self.web._tls
        if context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls = context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # the client gave up on our certificate: that is what tests look at
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # clients that hang up mid-request are normal in tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _serve(self) -> None:
        web = self.server.web
        raw = self.headers.get("Host") or ""
        host = (raw[1:].split("]")[0] if raw.startswith("[") else raw.rsplit(":", 1)[0]).lower()
        sni = getattr(self.connection, "sni", None)
        request = Request(self.command, host, self.path, dict(self.headers.items()), sni,
                          tuple(self.headers.items()))
        web.requests.append(request)
        route = web.routes.get(f"{host}{self.path}") or web.routes.get(self.path) or \
            web.routes.get(f"{host}{self.path.split('?')[0]}") or \
            web.routes.get(self.path.split("?")[0])
        reply = route(request) if callable(route) else route
        if reply is None:
            reply = Reply(404, "not found")
        if reply.delay:
            threading.Event().wait(reply.delay)
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        self.send_response_only(reply.status)
        self.send_header("Date", self.date_time_string())
        if not any(k.lower() == "server" for k in reply.headers):
            self.send_header("Server", "runbook-sandbox")
        for name, value in (*reply.headers.items(), *reply.repeated):
            self.send_header(name, value)
        if not any(k.lower() == "content-type" for k in reply.headers):
            self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _serve


class WebServer:
    """Serves ``routes`` over HTTP, or HTTPS with ``tls``, in background threads."""

    def __init__(self, routes: Mapping[str, Route] | None = None, *,
                 tls: ssl.SSLContext | None = None,
                 sni: Mapping[str, ssl.SSLContext] | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []  # every request seen, for assertions
        self.connections = 0  # connections accepted so far
        self.peak_connections = 0  # most connections open at once
        self._open = 0
        self._lock = threading.Lock()
        self._tls = tls
        self._sni = {k.lower(): v for k, v in (sni or {}).items()}
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the web server is not started")
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    def url(self, path: str = "/", host: str | None = None) -> str:
        """A URL on this server: ``host`` (default the bound address) with its port."""
        return f"{self.scheme}://{host or self._address[0]}:{self.port}{path}"

    def start(self) -> WebServer:
        family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET
        server_cls = type("_Bound", (_Server,), {"address_family": family})
        server = server_cls(self._address, _Handler)
        server.web = self
        if self._tls is not None:
            self._tls.sni_callback = self._pick
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True,
                                        name=f"web-{self.port}")
        self._thread.start()
        return self

    def _pick(self, sock: ssl.SSLObject | ssl.SSLSocket, name: str | None,
              _ctx: ssl.SSLContext) -> None:
        sock.sni = name  # type: ignore[union-attr]  # read back by the handler
        chosen = self._sni.get((name or "").lower())
        if chosen is not None:
            sock.context = chosen

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
