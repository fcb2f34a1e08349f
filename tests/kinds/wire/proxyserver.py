"""A small forward proxy on loopback for the wire tests: ``CONNECT`` tunnels and
absolute-form plain HTTP, optional Basic credentials, and a table of names only it can
resolve (as an office proxy resolves names the desk's DNS does not)."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Seen:
    method: str
    target: str  # "host:port" for CONNECT, the absolute URL otherwise
    headers: dict[str, str]  # lower-case names


@dataclass
class ForwardProxy:
    names: dict[str, str] = field(default_factory=dict)  # name -> address only we resolve
    credentials: tuple[str, str] | None = None  # (user, password) required when set
    port: int = 0
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ForwardProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._listener.close()

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _dial(self, host: str, port: int) -> socket.socket:
        return socket.create_connection((self.names.get(host, host), port), timeout=5)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, rest = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (ln.partition(":") for ln in lines[1:])}
            if method != "CONNECT":  # the whole body, to pass it on
                while len(rest) < int(headers.get("content-length") or 0):
                    data = conn.recv(65536)
                    if not data:
                        return
                    rest += data
            self.seen.append(Seen(method, target, headers))
            if self.credentials is not None:
                wanted = "Basic " + base64.b64encode(
                    ":".join(self.credentials).encode()).decode()
                if headers.get("proxy-authorization") != wanted:
                    conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                 b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                    return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                try:
                    upstream = self._dial(host.strip("[]"), int(port))
                except OSError:
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(conn, upstream, rest)
                return
            # Absolute form: one request, sent on in origin form, the answer passed back.
            after = target.partition("://")[2]
            authority, slash, path = after.partition("/")
            host, _, port = authority.partition(":")
            upstream = self._dial(host, int(port or 80))
            kept = [ln for ln in lines[1:] if not ln.lower().startswith(
                ("proxy-authorization:", "connection:"))]
            request = "\r\n".join([f"{method} {slash}{path} HTTP/1.1", *kept,
                                   "Connection: close", "", ""]).encode("latin-1")
            with upstream:
                upstream.sendall(request + rest)
                while data := upstream.recv(65536):
                    conn.sendall(data)

    def _pipe(self, client: socket.socket, upstream: socket.socket, first: bytes) -> None:
        if first:
            upstream.sendall(first)

        def down() -> None:
            try:
                while data := upstream.recv(65536):
                    client.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv

        thread = threading.Thread(target=down, daemon=True)
        thread.start()
        with upstream:
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass
            finally:
                upstream.close()
