"""What a check reads once the bytes are in: compressed bodies decoded as a browser's
are, folded headers, the size limit of a response head however it arrives, and the
client certificate a server may ask for."""

from __future__ import annotations

import gzip
import ssl
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from runbook.kinds.base import CheckResult
from runbook.kinds.wire import content
from runbook.sandbox.httpserver import Reply, WebServer
from tests.kinds.wire.conftest import ServerContext
from tests.kinds.wire.helpers import network, run_check
from tests.kinds.wire.rawserver import Raw

PAGE = b"<title>TIS Self-Service</title>" + b"x" * 2000


def get(url: str, **params: Any) -> CheckResult:
    return run_check("http.get", {"url": url, **params}, network(timeout=5))


def reply(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n").encode() + body


def test_a_browsers_accept_encoding_is_sent(raw: Callable[..., Raw]) -> None:
    server = raw(reply(b"hi"))
    assert get(server.url()).ok
    wanted = b"gzip, deflate, br" if content.brotli() else b"gzip, deflate"
    assert b"\r\nAccept-Encoding: " + wanted + b"\r\n" in server.requests[0] + b"\r\n"


def test_a_header_the_check_gives_replaces_the_default_one(raw: Callable[..., Raw]) -> None:
    """A browser's navigation as a check sends it: one Accept, the check's, so that a
    function reading `accept` sees text/html, not our */*."""
    server = raw(reply(b"hi"))
    assert get(server.url(), request_headers={"accept": "text/html",
                                              "User-Agent": "a browser"}).ok
    head = server.requests[0].decode().lower()
    assert head.count("\r\naccept:") == 1 and "\r\naccept: text/html" in head
    assert head.count("\r\nuser-agent:") == 1 and "user-agent: a browser" in head
    assert "\r\naccept-encoding: gzip" in head  # the defaults not given stay
    assert get(server.url()).ok  # and without headers, all three defaults
    plain = server.requests[1].decode()
    assert "\r\nUser-Agent: runbook (+wire checks)\r\nAccept: */*\r\n" in plain


def test_a_gzip_body_is_decoded_before_contains(raw: Callable[..., Raw]) -> None:
    server = raw(reply(gzip.compress(PAGE), "Content-Encoding: gzip"))
    r = get(server.url(), contains="TIS Self-Service")
    assert r.ok, r.summary
    assert r.observed["encoding"] == "gzip"
    assert r.observed["body"].startswith("<title>TIS Self-Service</title>")


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_wrapped_or_raw(raw: Callable[..., Raw], wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(PAGE) + packer.flush()
    server = raw(reply(body, "Content-Encoding: deflate"))
    assert get(server.url(), contains="TIS Self-Service").ok


def test_gzip_sent_with_chunks_and_then_keep_alive(raw: Callable[..., Raw]) -> None:
    packed = gzip.compress(PAGE)
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
               b"\r\n%x\r\n" % len(packed) + packed + b"\r\n0\r\n\r\n")
    server = raw(chunked)
    assert get(server.url(), contains="TIS Self-Service").ok


def test_a_body_that_is_not_what_its_encoding_says(raw: Callable[..., Raw]) -> None:
    server = raw(reply(b"plain text, not gzip", "Content-Encoding: gzip"))
    r = get(server.url(), contains="plain")
    assert r.outcome == "protocol"
    assert r.summary.startswith(f"{server.url()} broke the HTTP protocol: the body is not "
                                "valid gzip (Content-Encoding: gzip)")


def test_an_encoding_runbook_cannot_decode(raw: Callable[..., Raw]) -> None:
    server = raw(reply(b"\x28\xb5\x2f\xfd", "Content-Encoding: zstd"))
    r = get(server.url())
    assert r.outcome == "protocol"
    assert r.summary == (f"{server.url()} broke the HTTP protocol: the body is encoded with "
                         "'zstd', which runbook cannot decode (and did not ask for)")


def test_brotli_when_a_decoder_is_installed(raw: Callable[..., Raw]) -> None:
    brotli = pytest.importorskip("brotli")
    server = raw(reply(brotli.compress(PAGE), "Content-Encoding: br"))
    r = get(server.url(), contains="TIS Self-Service")
    assert r.ok and r.observed["encoding"] == "br"


def test_a_folded_header_is_one_value(raw: Callable[..., Raw]) -> None:
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Policy: max-age=31536000;\r\n"
                 b"  includeSubDomains\r\n\tpreload\r\n\r\n")
    r = get(server.url(), headers={"x-policy": "^max-age=31536000; includeSubDomains preload$"})
    assert r.ok, r.summary


def test_a_fold_before_any_header_is_refused(raw: Callable[..., Raw]) -> None:
    server = raw(b"HTTP/1.1 200 OK\r\n  stray\r\nContent-Length: 0\r\n\r\n")
    r = get(server.url())
    assert r.outcome == "protocol" and "a folded line before any header" in r.summary


@pytest.mark.parametrize("pieces", [1, 40], ids=["one-read", "many-reads"])
def test_a_head_over_64k_is_refused_however_it_arrives(raw: Callable[..., Raw],
                                                       pieces: int) -> None:
    whole = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 120_000 + b"\r\nContent-Length: 0\r\n\r\n"
    size = -(-len(whole) // pieces)
    server = raw([whole[i:i + size] for i in range(0, len(whole), size)])
    r = get(server.url())
    assert r.outcome == "protocol"
    assert r.summary == (f"{server.url()} broke the HTTP protocol: no end of headers in the "
                         "first 65536 bytes")


# --- client certificates ---------------------------------------------------------------

@pytest.fixture
def mtls(web: Callable[..., WebServer], server_context: ServerContext,
         ca: trustme.CA) -> WebServer:
    """An HTTPS server that requires a client certificate issued by the test CA."""
    context = server_context("mtls.example.test")
    context.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(context)
    return web({"/": Reply(200, "hello, client")}, tls=context)


def test_a_client_certificate_per_check(mtls: WebServer, ca: trustme.CA, ca_bundle: str,
                                        tmp_path: Path) -> None:
    cert = ca.issue_cert("runbook-client@example.test")
    cert.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    url = f"https://mtls.example.test:{mtls.port}/"
    net = network(ca_bundle=ca_bundle, timeout=5)
    params = {"url": url, "connect_to": "127.0.0.1", "contains": "hello, client"}
    without = run_check("http.get", params, net)
    assert not without.ok and without.outcome in ("unreachable", "tls", "protocol")
    r = run_check("http.get", {**params, "tls": {"cert": "client.pem", "key": "client.key"}},
                  net, plan_dir=tmp_path)
    assert r.ok, r.summary


def test_a_client_certificate_per_environment(mtls: WebServer, ca: trustme.CA,
                                              ca_bundle: str, tmp_path: Path) -> None:
    cert = ca.issue_cert("runbook-client@example.test")
    both = tmp_path / "client-and-key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(both))
    base = network(ca_bundle=ca_bundle, timeout=5)
    net = type(base)(**{**base.__dict__, "client_cert": str(both)})
    r = run_check("http.get", {"url": f"https://mtls.example.test:{mtls.port}/",
                               "connect_to": "127.0.0.1"}, net)
    assert r.ok, r.summary


def test_a_client_certificate_that_cannot_be_loaded(mtls: WebServer, tmp_path: Path,
                                                    ca_bundle: str) -> None:
    from runbook.errors import NetworkError

    with pytest.raises(NetworkError) as info:
        run_check("http.get", {"url": f"https://mtls.example.test:{mtls.port}/",
                               "connect_to": "127.0.0.1", "tls": {"cert": "nope.pem"}},
                  network(ca_bundle=ca_bundle), plan_dir=tmp_path)
    assert str(info.value) == (f"cannot load the client certificate {tmp_path}/nope.pem: "
                               "No such file or directory")


def test_the_environments_client_certificate_through_runbook_run(
        mtls: WebServer, ca: trustme.CA, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("runbook-client@example.test").private_key_and_cert_chain_pem \
        .write_to_path(str(tmp_path / "client.pem"))
    check = (f"      - http.get: {{url: 'https://mtls.example.test:{mtls.port}/', "
             "connect_to: 127.0.0.1, tls: {verify: ca.pem}, contains: 'hello, client'}\n")
    (tmp_path / "plan.yaml").write_text(
        "runbook: 1\nname: mtls\nenvironments:\n  office:\n    client_cert: client.pem\n"
        "  bare: {}\nstages:\n  - name: gate\n    checks:\n" + check)
    r = run_cli("run", "plan.yaml", "--env", "office", "--yes", cwd=tmp_path)
    assert r.code == 0, r.stdout + r.stderr
    r = run_cli("run", "plan.yaml", "--env", "bare", "--yes", cwd=tmp_path)
    assert r.code != 0 and "hello, client" in r.stdout
