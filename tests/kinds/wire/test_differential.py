"""Differential test: tricky responses served on loopback, runbook's verdict beside
httpx's (the oracle) on the very same bytes. They must agree, except where a row says
why not (and then the row asserts both verdicts as they are)."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.kinds.wire.helpers import network, run_check
from tests.kinds.wire.rawserver import Raw


@dataclass(frozen=True)
class Case:
    name: str
    answer: bytes
    kind: str  # "get": http.get with `params`; "redirect": http.redirect to `to`
    params: dict[str, Any]
    to: str = ""  # for redirects: where it must go, "{base}" standing for the server
    differs: str = ""  # why runbook and httpx disagree on purpose; empty: they agree
    ours: bool = True  # runbook's verdict, where they differ


def head(status: str, *headers: str, body: bytes = b"", length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def moved(location: bytes, *more: bytes) -> bytes:
    return (b"HTTP/1.1 301 Moved Permanently\r\nLocation: " + location + b"\r\n"
            + b"".join(b"Location: " + m + b"\r\n" for m in more)
            + b"Content-Length: 0\r\n\r\n")


PAGE = "<title>TIS Self-Service</title> café".encode()
DEFLATE = zlib.compressobj(wbits=-zlib.MAX_WBITS)
RAW_DEFLATE = DEFLATE.compress(PAGE) + DEFLATE.flush()
GZ = gzip.compress(PAGE)
WANT = {"contains": "TIS Self-Service"}

CASES = [
    Case("gzip-unasked", head("200 OK", "Content-Encoding: gzip", body=GZ), "get", WANT),
    Case("deflate-raw", head("200 OK", "Content-Encoding: deflate", body=RAW_DEFLATE), "get",
         WANT),
    Case("gzip-chunked", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n%x\r\n" % len(GZ) + GZ + b"\r\n0\r\n\r\n", "get", WANT),
    Case("gzip-but-plain", head("200 OK", "Content-Encoding: gzip", body=PAGE), "get", WANT),
    Case("latin-1-charset", head("200 OK", "Content-Type: text/html; charset=iso-8859-1",
                                 body="prix: 5 €uro café".encode("cp1252")[:-5]
                                 + "café".encode("latin-1")), "get", {"contains": "café"}),
    Case("folded-header", b"HTTP/1.1 200 OK\r\nX-Policy: max-age=1;\r\n includeSubDomains\r\n"
         b"Content-Length: 0\r\n\r\n", "get",
         {"headers": {"x-policy": "^max-age=1; includeSubDomains$"}}),
    Case("interim-103", b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
         + head("200 OK", body=PAGE), "get", WANT),
    Case("http-1.0-until-close", b"HTTP/1.0 200 OK\r\n\r\n" + PAGE, "get", WANT),
    Case("bare-lf", b"HTTP/1.1 200 OK\nContent-Length: %d\n\n" % len(PAGE) + PAGE, "get",
         WANT),
    Case("head-120k", head("200 OK", "X-Big: " + "a" * 120_000), "get", {}, ours=False,
         differs="a head over 64 KiB is refused however it arrives (issue 16); h11 "
         "let this one through"),
    Case("head-60k", head("200 OK", "X-Big: " + "a" * 60_000), "get", {}),
    Case("not-http", b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "get", {}),
    Case("location-space", moved(b"/new/a b"), "redirect", {}, "{base}/new/a%20b"),
    Case("location-utf8-raw", moved("/new/café".encode()), "redirect", {}, "{base}/new/café"),
    Case("location-utf8-plan-encoded", moved("/new/café".encode()), "redirect", {},
         "{base}/new/caf%C3%A9"),
    Case("location-latin-1-raw", moved(b"/new/caf\xe9"), "redirect", {}, "{base}/new/café"),
    Case("location-protocol-relative", moved(b"//other.test/x"), "redirect", {},
         "http://other.test/x"),
    Case("location-dot-segments", moved(b"/a/b/../c"), "redirect", {}, "{base}/a/c"),
    Case("location-idn-host", moved("https://bücher.test/".encode()), "redirect", {},
         "https://xn--bcher-kva.test/"),
    Case("location-query-unicode", moved("/s?q=é ü".encode()), "redirect", {},
         "{base}/s?q=%C3%A9%20%C3%BC"),
    Case("location-twice-different", moved(b"/one", b"/two"), "redirect", {}, "{base}/one"),
    Case("location-twice-same", moved(b"/one", b"/one"), "redirect", {}, "{base}/one",
         differs="one value sent twice is that value, as browsers read it; httpx joins "
         "the two with a comma and goes to /one,%20/one"),
]


def runbook_verdict(case: Case, url: str, to: str) -> tuple[bool, str]:
    net = network(timeout=5)
    if case.kind == "get":
        r = run_check("http.get", {"url": url, **case.params}, net)
    else:
        r = run_check("http.redirect", {"from": url, "to": to, **case.params}, net)
    return r.ok, r.summary


def httpx_verdict(case: Case, url: str, to: str) -> tuple[bool, str]:
    try:
        with httpx.Client(trust_env=False, timeout=5) as client:
            r = client.get(url)
            if case.kind == "redirect":
                target = r.next_request.url if r.next_request else None
                ok = r.status_code in (301, 308) and target == httpx.URL(to)
                return ok, f"{r.status_code} -> {target}"
            ok = r.status_code == 200
            if "contains" in case.params:
                ok = ok and case.params["contains"] in r.text
            for name, pattern in case.params.get("headers", {}).items():
                ok = ok and re.search(pattern, r.headers.get(name, "")) is not None
            return ok, f"{r.status_code} {r.text[:60]!r}"
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_runbook_judges_as_httpx_does(raw: Callable[..., Raw], case: Case) -> None:
    server = raw(case.answer, close_after=1)
    base = server.url("").rstrip("/")
    url, to = server.url("/old"), case.to.replace("{base}", base)
    ours, said = runbook_verdict(case, url, to)
    theirs, saw = httpx_verdict(case, url, to)
    if case.differs:
        assert (ours, theirs) == (case.ours, not case.ours), (said, saw)
    else:
        assert ours == theirs, f"runbook: {ours} ({said}); httpx: {theirs} ({saw})"


def test_the_table_holds_passes_and_failures(raw: Callable[..., Raw]) -> None:
    """A table where everything passes (or fails) would prove little."""
    verdicts = []
    for case in CASES:
        server = raw(case.answer, close_after=1)
        base = server.url("").rstrip("/")
        verdicts.append(runbook_verdict(case, server.url("/old"),
                                        case.to.replace("{base}", base))[0])
    assert verdicts.count(True) >= 10 and verdicts.count(False) >= 4
