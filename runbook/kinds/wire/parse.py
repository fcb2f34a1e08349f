"""Reading one HTTP/1.1 response from bytes as they arrive (RFC 9112), for the wire checks.

Only the client side, and only what a check needs: the status line, headers, and the
body framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the
connection, with 1xx interim responses skipped and bodiless answers (HEAD, 204, 304)
known. A general library pays for requests, models and validation that checks never use:
that was some 60% of the CPU of a redirect check, and a map's speed is CPU on loopback.

:class:`Response` is fed the connection's buffer and takes what is its own, so the bytes
of the next response on a keep-alive connection stay where they are.
"""

from __future__ import annotations

MAX_HEAD = 64 * 1024  # status line and headers: more is not an HTTP server worth judging
MAX_BODY = 10 * 1024 * 1024  # a check reads at most this much of a body

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE, _DONE = range(8)


class ProtocolError(Exception):
    """What the server sent is not HTTP/1.1 a client can read."""


class Response:
    """One response. ``feed`` it the connection's buffer until ``done``; at end of stream
    call ``eof``. ``reusable`` says whether the connection can carry another request."""

    def __init__(self, *, head_request: bool, keep_body: bool) -> None:
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}  # lower-case names; repeats joined with ", "
        self.locations: list[str] = []  # every Location header, each whole
        self.body = bytearray()
        self.done = False
        self.reusable = True
        self.started = False  # a byte of this response has arrived
        self._head_request = head_request
        self._keep = keep_body
        self._state = _HEAD
        self._left = 0

    def feed(self, buf: bytearray) -> None:
        """Consume from the front of ``buf`` what belongs to this response."""
        if buf:
            self.started = True
        while not self.done and buf:
            state = self._state
            if state == _HEAD:
                if not self._head(buf):
                    return
            elif state in (_LENGTH, _CHUNK_DATA):
                take = min(self._left, len(buf))
                self._take(buf, take)
                self._left -= take
                if self._left == 0:
                    if state == _LENGTH:
                        self._finish()
                    else:
                        self._state = _CHUNK_END
            elif state == _UNTIL_CLOSE:
                self._take(buf, len(buf))
            elif state == _CHUNK_END:
                if len(buf) < 2:
                    return
                if buf[:2] != b"\r\n":
                    raise ProtocolError("a chunk is longer than its size says")
                del buf[:2]
                self._state = _CHUNK_SIZE
            else:  # _CHUNK_SIZE, _TRAILER: one line each
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise ProtocolError("a chunk-size or trailer line is too long")
                    return
                line = bytes(buf[:end]).strip()
                del buf[:end + 1]
                if state == _TRAILER:
                    if not line:
                        self._finish()
                    continue
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {line[:40]!r}") from None
                if size < 0:
                    raise ProtocolError(f"bad chunk size {line[:40]!r}")
                self._left = size
                self._state = _CHUNK_DATA if size else _TRAILER

    def eof(self) -> None:
        """The server closed the connection: the end of a body framed by it, or an error."""
        self.reusable = False
        if self.done:
            return
        if self._state == _UNTIL_CLOSE:
            self._finish()
            return
        raise ProtocolError("the server closed the connection in the middle of the response"
                            if self.started else
                            "the server closed the connection without answering")

    def _take(self, buf: bytearray, count: int) -> None:
        if self._keep:
            self.body += buf[:count]
        del buf[:count]
        if len(self.body) >= MAX_BODY:
            # Enough to judge: the rest is not read, so the connection cannot be reused.
            del self.body[MAX_BODY:]
            self.reusable = False
            self._finish()

    def _finish(self) -> None:
        self._state = _DONE
        self.done = True

    def _head(self, buf: bytearray) -> bool:
        end = buf.find(b"\r\n\r\n")
        size = 4
        if end < 0:  # bare LF line ends: old or hand-written servers still send them
            end, size = buf.find(b"\n\n"), 2
        if end < 0 or end > MAX_HEAD:
            # However the head arrives, in one read or many, more than MAX_HEAD is refused.
            if end > MAX_HEAD or len(buf) > MAX_HEAD:
                raise ProtocolError(f"no end of headers in the first {MAX_HEAD} bytes")
            return False
        lines = bytes(buf[:end]).decode("latin-1").split("\n")
        del buf[:end + size]
        version, _, rest = lines[0].rstrip("\r").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1 status line: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        locations: list[str] = []
        key = ""
        for line in lines[1:]:
            if line[:1] in (" ", "\t"):
                # obs-fold (RFC 9112 5.2): a continuation of the previous header's value,
                # read as one space, as httpx and curl read it.
                if not key:
                    raise ProtocolError(f"a folded line before any header: {line[:80]!r}")
                more = line.strip()
                if more:
                    headers[key] = f"{headers[key]} {more}".lstrip()
                    if key == "location":
                        locations[-1] = f"{locations[-1]} {more}".lstrip()
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name[-1] in " \t":
                raise ProtocolError(f"bad header line {line[:80]!r}")
            key, value = name.lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
            if key == "location":
                locations.append(value)
        self.locations = locations
        status = int(code)
        if 100 <= status < 200 and status != 101:
            return True  # interim (100 Continue, 103 Early Hints): the answer follows
        self.status, self.reason, self.headers = status, reason.strip(), headers
        connection = headers.get("connection", "").lower()
        if "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection):
            self.reusable = False
        self._framing(headers)
        return True

    def _framing(self, headers: dict[str, str]) -> None:
        """RFC 9112 section 6.3: how long the body is."""
        if self._head_request or self.status in (204, 304) or self.status == 101:
            self.reusable = self.reusable and self.status != 101
            self._finish()
            return
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.rsplit(",", 1)[-1].strip().lower() == "chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state, self.reusable = _UNTIL_CLOSE, False
            return
        length = headers.get("content-length")
        if length is None:
            self._state, self.reusable = _UNTIL_CLOSE, False
            return
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise ProtocolError(f"bad Content-Length {length[:40]!r}")
        self._left = int(values.pop())
        if self._left == 0:
            self._finish()
        else:
            self._state = _LENGTH
