"""http.get against real HTTP(S) servers on loopback."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from runbook.sandbox.dnsserver import DNSServer, Record, Zone
from runbook.sandbox.httpserver import Reply, WebServer
from tests.kinds.wire.conftest import ServerContext
from tests.kinds.wire.helpers import describe, network, run_check

PAGE = "<html><head><title>TIS Self-Service</title></head><body>Version v1.42.0</body></html>"
HEADERS = {"Strict-Transport-Security": "max-age=31536000", "Server": "edge",
           "Cache-Control": "no-cache"}

Web = Callable[..., WebServer]


@pytest.fixture
def site(web: Web) -> WebServer:
    return web({
        "/": Reply(200, PAGE, HEADERS),
        "/missing": Reply(404, "gone"),
        "/moved": Reply(301, "", {"Location": "/"}),
        "/slow": Reply(200, "late", delay=2.0),
    })


def get(url: str, net: Any = None, **params: Any) -> Any:
    return run_check("http.get", {"url": url, **params}, net or network())


# --- status -------------------------------------------------------------------------------

def test_status_200_and_what_it_saw(site: WebServer) -> None:
    r = get(site.url("/"))
    assert r.ok, r.summary
    assert r.summary == f"200 from {site.url('/')}"
    assert r.observed["status"] == 200
    assert r.observed["headers"]["server"] == "edge"
    assert r.observed["body"].startswith("<html>")


def test_wrong_status(site: WebServer) -> None:
    r = get(site.url("/missing"))
    assert not r.ok and r.outcome == "mismatch"
    assert r.summary == f"expected 200 from {site.url('/missing')}, got 404"


def test_wrong_status_shows_where_a_redirect_goes(site: WebServer) -> None:
    r = get(site.url("/moved"))
    assert r.summary == (f"expected 200 from {site.url('/moved')}, got 301 "
                         f"(Location: {site.url('/')})")


@pytest.mark.parametrize(("status", "ok"), [(404, True), ([200, 404], True), ("4xx", True),
                                            ("2xx", False), ([200, 410], False)])
def test_status_forms(site: WebServer, status: Any, ok: bool) -> None:
    r = get(site.url("/missing"), status=status)
    assert r.ok is ok, r.summary
    if not ok:
        assert r.summary.endswith(", got 404")


def test_method_head(site: WebServer) -> None:
    r = get(site.url("/"), method="head")
    assert r.ok, r.summary
    assert site.requests[-1].method == "HEAD"


# --- body -----------------------------------------------------------------------------------

def test_contains_text(site: WebServer) -> None:
    r = get(site.url("/"), contains="<title>TIS Self-Service")
    assert r.ok and r.summary == f"200 from {site.url('/')}, '<title>TIS Self-Service' found"
    r = get(site.url("/"), contains="TIS Admin")
    assert not r.ok
    assert r.summary == f"{site.url('/')} answered 200 but does not contain 'TIS Admin'"


def test_contains_is_text_not_regex_unless_slashed(site: WebServer) -> None:
    assert not get(site.url("/"), contains="v1.4.").ok  # the dot is a dot
    assert get(site.url("/"), contains=r"/v1\.\d+\.0/").ok
    assert get(site.url("/"), contains="/tis self-service/i").ok
    r = get(site.url("/"), contains=r"/v2\.\d+/")
    assert r.summary.endswith(r"does not contain /v2\.\d+/")


def test_contains_list_needs_all(site: WebServer) -> None:
    r = get(site.url("/"), contains=["TIS", "Version v9"])
    assert not r.ok and r.summary.endswith("does not contain 'Version v9'")


def test_absent(site: WebServer) -> None:
    assert get(site.url("/"), absent=["Error", "/stack ?trace/i"]).ok
    r = get(site.url("/"), absent="/v1\\.\\d+/")
    assert not r.ok
    assert r.summary == f"{site.url('/')} contains /v1\\.\\d+/ (found 'v1.42')"


# --- headers ----------------------------------------------------------------------------------

def test_headers_match(site: WebServer) -> None:
    assert get(site.url("/"), headers={"strict-transport-security": r"max-age=\d{7,}",
                                       "x-powered-by": "absent"}).ok


def test_header_value_mismatch(site: WebServer) -> None:
    r = get(site.url("/"), headers={"Cache-Control": "max-age"})
    assert r.summary == "header Cache-Control is 'no-cache', which does not match /max-age/"


def test_header_missing(site: WebServer) -> None:
    r = get(site.url("/"), headers={"Content-Security-Policy": "default-src"})
    assert r.summary == "header Content-Security-Policy is missing, expected /default-src/"


def test_header_must_be_absent(site: WebServer) -> None:
    r = get(site.url("/"), headers={"Server": "absent"})
    assert r.summary == "header Server is sent ('edge'), expected absent"


def test_every_problem_is_reported(site: WebServer) -> None:
    r = get(site.url("/"), contains="nope", headers={"Server": "absent"})
    assert r.summary == (f"{site.url('/')} answered 200 but does not contain 'nope'; "
                         "header Server is sent ('edge'), expected absent")


# --- connection failures ----------------------------------------------------------------------

def test_timeout(site: WebServer) -> None:
    r = get(site.url("/slow"), timeout="200ms")
    assert not r.ok and r.outcome == "timeout"
    assert r.summary == f"no answer from {site.url('/slow')} within 0.2s"


def test_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = get(f"http://127.0.0.1:{port}/")
    assert not r.ok and r.outcome == "refused"
    assert r.summary == f"connection refused for http://127.0.0.1:{port}/"


@pytest.fixture
def hangs_up() -> Iterator[int]:
    """A server that reads a request and hangs up without a word of HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def test_protocol_error(hangs_up: int) -> None:
    r = get(f"http://127.0.0.1:{hangs_up}/")
    assert not r.ok and r.outcome == "protocol"
    assert r.summary.startswith(f"http://127.0.0.1:{hangs_up}/ broke the HTTP protocol")


# --- TLS, connect_to, resolve_via_dns, port_map --------------------------------------------------

@pytest.fixture
def edge(web: Web, server_context: ServerContext) -> WebServer:
    """An HTTPS server for site.example.test (and the default certificate for
    other.example.test), with a page that says which host it was asked for."""
    return web({"/": lambda req: Reply(200, f"host={req.host} sni={req.sni}")},
               tls=server_context("other.example.test"),
               sni={"site.example.test": server_context("site.example.test")})


def test_connect_to_proves_a_host_before_dns_exists(edge: WebServer, ca_bundle: str) -> None:
    url = f"https://site.example.test:{edge.port}/"
    r = get(url, network(ca_bundle=ca_bundle), connect_to="127.0.0.1",
            contains="host=site.example.test sni=site.example.test")
    assert r.ok, r.summary


def test_connect_to_with_a_port_and_port_map(edge: WebServer, ca_bundle: str) -> None:
    r = get("https://site.example.test/", network(ca_bundle=ca_bundle),
            connect_to=f"127.0.0.1:{edge.port}")
    assert r.ok, r.summary
    r = get("https://site.example.test/", network(ca_bundle=ca_bundle,
                                                  port_map={443: edge.port}),
            connect_to="localhost")
    assert r.ok, r.summary


def test_connect_to_an_internationalised_name(site: WebServer) -> None:
    r = get(f"http://bücher.example.test:{site.port}/", connect_to="127.0.0.1")
    assert r.ok, r.summary
    assert site.requests[-1].host == "xn--bcher-kva.example.test"


def test_connect_to_a_host_that_does_not_answer(edge: WebServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    r = get(f"https://site.example.test:{edge.port}/", connect_to=f"127.0.0.1:{closed}")
    assert not r.ok and r.outcome == "refused"
    assert r.summary == f"connection refused for https://site.example.test:{edge.port}/"


def test_tls_untrusted_ca_is_a_tls_failure(edge: WebServer) -> None:
    r = get(f"https://site.example.test:{edge.port}/", connect_to="127.0.0.1")
    assert not r.ok and r.outcome == "tls"
    assert r.summary == (f"TLS certificate of https://site.example.test:{edge.port}/ not "
                         "accepted: unable to get local issuer certificate")


def test_tls_wrong_name(edge: WebServer, ca_bundle: str) -> None:
    r = get(f"https://third.example.test:{edge.port}/", network(ca_bundle=ca_bundle),
            connect_to="127.0.0.1")
    assert r.outcome == "tls"
    assert "Hostname mismatch" in r.summary


def test_tls_expired_certificate(web: Web, server_context: ServerContext,
                                  ca_bundle: str) -> None:
    old = web({"/": Reply(200, "stale")}, tls=server_context("site.example.test", days=-3))
    r = get(f"https://site.example.test:{old.port}/", network(ca_bundle=ca_bundle),
            connect_to="127.0.0.1")
    assert not r.ok and r.outcome == "tls"
    assert r.summary == (f"TLS certificate of https://site.example.test:{old.port}/ not "
                         "accepted: certificate has expired")


def test_tls_handshake_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as mute:  # accepts, never speaks
        port = mute.getsockname()[1]
        r = get(f"https://site.example.test:{port}/", connect_to="127.0.0.1",
                timeout="300ms")
    assert r.outcome == "timeout"
    assert r.summary == f"TLS handshake with https://site.example.test:{port}/ took over 0.3s"


def test_tls_verify_false(edge: WebServer) -> None:
    r = get(f"https://third.example.test:{edge.port}/", connect_to="127.0.0.1",
            tls={"verify": False})
    assert r.ok, r.summary


def test_tls_verify_with_a_bundle_of_the_plan(edge: WebServer, ca_bundle: str,
                                              tmp_path: Path) -> None:
    shutil.copy(ca_bundle, tmp_path / "ca.pem")
    r = run_check("http.get", {"url": f"https://site.example.test:{edge.port}/",
                               "connect_to": "127.0.0.1", "tls": {"verify": "ca.pem"}},
                  network(), plan_dir=tmp_path)
    assert r.ok, r.summary


def test_resolve_via_dns_and_port_map(edge: WebServer, ca_bundle: str,
                                      dns_server: Callable[..., DNSServer]) -> None:
    dns = dns_server([Zone("example.test", [Record("site.example.test", "A", "127.0.0.1")])])
    net = network(resolvers=(dns.resolver,), resolve_via_dns=True, ca_bundle=ca_bundle,
                  port_map={443: edge.port})
    r = get("https://site.example.test/", net, contains="sni=site.example.test")
    assert r.ok, r.summary
    r = get("https://nowhere.example.test/", net)
    assert not r.ok and r.outcome == "nxdomain"
    assert r.summary == "cannot resolve nowhere.example.test: nowhere.example.test does not exist"


# --- params and describe -----------------------------------------------------------------------

@pytest.mark.parametrize(("params", "message"), [
    ({"url": "https://x/", "status": "2xy"}, "written like 2xx or 3xx"),
    ({"url": "https://x/", "contains": "/(unclosed/"}, "not a valid regular expression"),
    ({"url": "https://x/", "headers": {"x": "("}}, "not a valid regular expression"),
    ({"url": "https://x/", "connect_to": "a:b:c:d"}, "does not appear to be an IPv4 or IPv6"),
    ({"url": "https://x/", "tls": {"verify": True, "pin": "x"}}, "Extra inputs"),
    ({"url": "https://x/", "method": "head", "contains": "x"}, "HEAD request has no body"),
])
def test_bad_params(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        describe("http.get", params)


def test_method_is_one_word() -> None:
    with pytest.raises(ValidationError, match="'GET /x' is not an HTTP method"):
        describe("http.get", {"url": "https://x/", "method": "GET /x"})
    with pytest.raises(ValidationError, match="is not an HTTP method"):
        describe("http.get", {"url": "https://x/", "method": "GET\r\nX-Evil: 1"})


def test_describe() -> None:
    assert describe("http.get", {"url": "https://trainee.tis.nhs.uk/",
                                 "contains": "TIS Self-Service"}) == \
        "https://trainee.tis.nhs.uk/ answers 200 and contains 'TIS Self-Service'"
    assert describe("http.get", {"url": "https://a/", "status": "2xx", "absent": "/err/i",
                                 "headers": {"server": "absent", "hsts": "max"},
                                 "connect_to": "d1.cloudfront.net"}) == \
        ("https://a/ answers 2xx and does not contain /err/i and sends no server header and "
         "sends hsts matching /max/ (via d1.cloudfront.net)")
