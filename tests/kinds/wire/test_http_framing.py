"""How the HTTP client reads responses: every way HTTP/1.1 frames a body, interim
answers, connections the server closes, and what is not HTTP, against a raw server on
loopback that sends exactly the bytes a test gives it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from runbook.kinds.base import CheckResult
from tests.kinds.wire.helpers import network, run_check
from tests.kinds.wire.rawserver import Raw


def get(url: str, **params: Any) -> CheckResult:
    return run_check("http.get", {"url": url, **params}, network())


CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nHello\r\n7;note=x\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n")


def test_chunked_body(raw: Callable[..., Raw]) -> None:
    server = raw(CHUNKED)
    r = get(server.url(), contains="Hello, world")
    assert r.ok, r.summary


def test_chunked_body_in_pieces_then_keep_alive(raw: Callable[..., Raw]) -> None:
    pieces = [CHUNKED[i:i + 3] for i in range(0, len(CHUNKED), 3)]
    server = raw(pieces)
    r = run_check("http.redirects", {"map": {server.url("/a"): "https://n.test/",
                                             server.url("/b"): "https://n.test/"},
                                     "concurrency": 1}, network())
    # Both were read to their end: the second request went on the same connection.
    assert r.summary.splitlines()[-1] == (f"    {server.url('/b')} answered 200, not a "
                                          "redirect to https://n.test/")
    assert server.connections == 1 and len(server.requests) == 2


def test_content_length_body_in_many_reads(raw: Callable[..., Raw]) -> None:
    body = b"x" * 5000 + b"TIS Self-Service"
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    server = raw([reply[i:i + 700] for i in range(0, len(reply), 700)])
    assert get(server.url(), contains="TIS Self-Service").ok


def test_body_until_the_server_closes(raw: Callable[..., Raw]) -> None:
    server = raw(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold server", close_after=1)
    assert get(server.url(), contains="old server").ok


def test_interim_answers_are_skipped(raw: Callable[..., Raw]) -> None:
    server = raw(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                 b"HTTP/1.1 204 No Content\r\nServer: edge\r\n\r\n")
    r = get(server.url(), status=204, headers={"server": "edge", "link": "absent"})
    assert r.ok, r.summary


REDIRECT = b"HTTP/1.1 301 Moved\r\nLocation: https://n.test/\r\nContent-Length: 4\r\n%s\r\nmove"


def test_connection_close_opens_a_new_connection(raw: Callable[..., Raw]) -> None:
    server = raw(REDIRECT % b"Connection: close\r\n", close_after=1)
    pairs = {server.url(f"/{i}"): "https://n.test/" for i in range(3)}
    r = run_check("http.redirects", {"map": pairs, "concurrency": 1}, network())
    assert r.ok, r.summary
    assert server.connections == 3


def test_an_idle_connection_the_server_dropped_is_replaced(raw: Callable[..., Raw]) -> None:
    # No "Connection: close": the server just hangs up after each answer, as one does when
    # its keep-alive timer runs out between two requests.
    server = raw(REDIRECT % b"", close_after=1)
    pairs = {server.url(f"/{i}"): "https://n.test/" for i in range(3)}
    r = run_check("http.redirects", {"map": pairs, "concurrency": 1}, network())
    assert r.ok, r.summary


@pytest.mark.parametrize(("reply", "why"), [
    (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1 status line: 'SSH-2.0-OpenSSH_9.6'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
     "the server closed the connection in the middle of the response"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size b'zz'"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab", "bad Content-Length '1, 2'"),
    (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "bad header line 'Bad Header'"),
    (None, "the server closed the connection without answering"),
])
def test_what_is_not_http(raw: Callable[..., Raw], reply: bytes | None, why: str) -> None:
    server = raw(reply, close_after=1)
    r = get(server.url())
    assert r.outcome == "protocol"
    assert r.summary == f"{server.url()} broke the HTTP protocol: {why}"


def test_a_server_silent_in_the_middle_of_a_body_times_out(raw: Callable[..., Raw]) -> None:
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")  # then nothing
    r = get(server.url(), timeout="300ms")
    assert r.outcome == "timeout"
    assert r.summary == f"no answer from {server.url()} within 0.3s"


def test_a_check_run_from_inside_an_event_loop(raw: Callable[..., Raw]) -> None:
    server = raw(b"HTTP/1.1 204 No Content\r\n\r\n")

    async def caller() -> CheckResult:
        return get(server.url(), status=204)  # its own loop, in a thread of its own

    r = asyncio.run(caller())
    assert r.ok, r.summary
