"""A raw server on loopback for the wire tests: sends exactly the bytes a test gives it,
so framing, headers and encodings can be anything a real server might send."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Raw:
    """Answers each request with the next of ``replies`` (the last one repeats); a reply
    of ``None`` hangs up without a word. ``close_after`` closes every connection after
    that many answers, as a server whose keep-alive timer ran out."""

    replies: list[bytes | list[bytes] | None]
    close_after: int = 0
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _serve(raw: Raw, conn: socket.socket) -> None:
    # A client that gives up mid-answer (a head too big to read) is what a test checks.
    with conn, contextlib.suppress(ConnectionError):
        buf, answered = b"", 0
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            raw.requests.append(head)
            reply = raw.replies[min(len(raw.requests) - 1, len(raw.replies) - 1)]
            if reply is None:
                return
            # A list is sent piece by piece: a body that arrives in many reads.
            for piece in reply if isinstance(reply, list) else [reply]:
                conn.sendall(piece)
            answered += 1
            if raw.close_after and answered >= raw.close_after:
                return


def serve_raw() -> Iterator[Callable[..., Raw]]:
    listeners: list[socket.socket] = []

    def start(*replies: bytes | list[bytes] | None, close_after: int = 0) -> Raw:
        server = Raw(list(replies), close_after)
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        server.port = listener.getsockname()[1]

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                server.connections += 1
                threading.Thread(target=_serve, args=(server, conn), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return server

    yield start
    for listener in listeners:
        listener.close()
