"""tls.certificate against real TLS servers on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from pydantic import ValidationError

from runbook.certnames import covers as covered
from runbook.sandbox.dnsserver import DNSServer, Record, Zone
from runbook.sandbox.httpserver import WebServer
from tests.kinds.wire.conftest import ServerContext
from tests.kinds.wire.helpers import PATIENCE, SILENCE, describe, network, run_check

Web = Callable[..., WebServer]


def cert_check(port: int, bundle: str | None, wait: float = PATIENCE, **params: Any) -> Any:
    params = {"host": "site.example.test", "port": port, "connect_to": "127.0.0.1", **params}
    return run_check("tls.certificate", params, network(ca_bundle=bundle, timeout=wait))


@pytest.fixture
def edge(web: Web, server_context: ServerContext) -> WebServer:
    """Presents a wildcard certificate to *.example.test names, and a single-name one to
    apex.example.test."""
    return web(tls=server_context("*.example.test", "site.example.test"),
               sni={"apex.example.test": server_context("apex.example.test")})


# --- covers ------------------------------------------------------------------------------

def test_covers_the_host_by_default(edge: WebServer, ca_bundle: str) -> None:
    r = cert_check(edge.port, ca_bundle)
    assert r.ok, r.summary
    assert r.observed["names"] == ["*.example.test", "site.example.test"]
    assert r.observed["trusted"] is True
    assert r.observed["days_left"] > 360
    assert r.summary.startswith("site.example.test presents a certificate for "
                                "*.example.test, site.example.test, 364 days left, from "
                                "O=Runbook Test CA")


def test_covers_says_which_name_is_not_covered(edge: WebServer, ca_bundle: str) -> None:
    r = cert_check(edge.port, ca_bundle, covers=["a.example.test", "example.test",
                                                 "a.b.example.test"])
    assert not r.ok and r.outcome == "mismatch"
    assert r.summary == ("the certificate does not cover example.test, a.b.example.test "
                         "(it names *.example.test, site.example.test)")


def test_sni_picks_the_certificate(edge: WebServer, ca_bundle: str) -> None:
    r = cert_check(edge.port, ca_bundle, host="apex.example.test")
    assert r.ok and r.observed["names"] == ["apex.example.test"]
    r = cert_check(edge.port, ca_bundle, host="apex.example.test", covers=["www.example.test"])
    assert r.summary == ("the certificate does not cover www.example.test (it names "
                         "apex.example.test)")


@pytest.mark.parametrize(("pattern", "name", "ok"), [
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "A.Example.COM.", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "a.b.example.com", False),
    ("*.example.com", ".example.com", False),
    ("a*.example.com", "ab.example.com", False),  # partial wildcards cover nothing
    ("*.com", "example.com", False),  # nor do wildcards over one label
    ("*.*.example.com", "a.b.example.com", False),
    ("www.example.com", "www.example.com", True),
    ("www.example.com", "www2.example.com", False),
])
def test_wildcards_as_browsers_match_them(pattern: str, name: str, ok: bool) -> None:
    assert covered(pattern, name) is ok


# --- days_left -----------------------------------------------------------------------------

def test_days_left(web: Web, server_context: ServerContext, ca_bundle: str) -> None:
    soon = web(tls=server_context("site.example.test", days=10.5))
    assert cert_check(soon.port, ca_bundle, days_left=10).ok
    r = cert_check(soon.port, ca_bundle, days_left=30)
    assert not r.ok
    assert r.summary.startswith("the certificate expires in 10 days (")
    assert r.summary.endswith("), fewer than 30")


def test_expired(web: Web, server_context: ServerContext, ca_bundle: str) -> None:
    old = web(tls=server_context("site.example.test", days=-3))
    r = cert_check(old.port, ca_bundle, days_left=30)
    assert not r.ok and r.observed["days_left"] < -2.9
    first, second = r.summary.split("; ")
    assert first.startswith("the certificate expired 3 days ago (")
    assert first.endswith(")")
    assert second == "the certificate is not trusted: certificate has expired"
    # Trust is its own expectation: without it only the dates speak.
    r = cert_check(old.port, ca_bundle, trusted=False)
    assert r.ok, r.summary


# --- issuer and trust ------------------------------------------------------------------------

def test_issuer(edge: WebServer, ca_bundle: str) -> None:
    assert cert_check(edge.port, ca_bundle, issuer="O=Runbook Test CA").ok
    r = cert_check(edge.port, ca_bundle, issuer="^CN=Amazon")
    assert not r.ok
    assert r.summary.startswith("issuer 'O=Runbook Test CA, OU=Testing CA #")
    assert r.summary.endswith("' does not match /^CN=Amazon/")


def test_untrusted_issuer(web: Web, server_context: ServerContext, ca_bundle: str) -> None:
    rogue = web(tls=server_context("site.example.test", issuer=trustme.CA()))
    r = cert_check(rogue.port, ca_bundle)
    assert not r.ok and not r.observed["trusted"]
    assert r.summary == ("the certificate is not trusted: unable to get local issuer "
                         "certificate")
    assert cert_check(rogue.port, ca_bundle, trusted=False).ok


def test_trust_comes_from_the_environment_bundle(edge: WebServer) -> None:
    r = cert_check(edge.port, None)
    assert r.summary == ("the certificate is not trusted: unable to get local issuer "
                         "certificate")


# --- connection failures ------------------------------------------------------------------------

def test_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cert_check(port, None)
    assert r.outcome == "refused"
    assert r.summary == f"127.0.0.1:{port} refused the connection"


@pytest.fixture
def mute() -> Iterator[int]:
    """Accepts connections (the kernel does) and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


def test_handshake_timeout(mute: int) -> None:
    r = cert_check(mute, None, wait=SILENCE)
    assert r.outcome == "timeout"
    assert r.summary == f"TLS handshake with site.example.test:{mute} took over 0.4s"


def test_plain_http_is_a_tls_failure(web: Web) -> None:
    plain = web()
    r = cert_check(plain.port, None)
    assert r.outcome == "tls"
    assert r.summary.startswith(f"TLS handshake with site.example.test:{plain.port} failed: ")


def test_port_map(edge: WebServer, ca_bundle: str) -> None:
    r = run_check("tls.certificate", {"host": "site.example.test", "connect_to": "127.0.0.1"},
                  network(ca_bundle=ca_bundle, port_map={443: edge.port}))
    assert r.ok, r.summary


def test_resolve_via_dns(edge: WebServer, ca_bundle: str,
                         dns_server: Callable[..., DNSServer]) -> None:
    dns = dns_server([Zone("example.test", [Record("site.example.test", "A", "127.0.0.1")])])
    net = network(resolvers=(dns.resolver,), resolve_via_dns=True, ca_bundle=ca_bundle,
                  port_map={443: edge.port})
    assert run_check("tls.certificate", {"host": "site.example.test"}, net).ok
    r = run_check("tls.certificate", {"host": "new.example.test"}, net)
    assert r.outcome == "nxdomain"
    assert r.summary == "cannot resolve new.example.test: new.example.test does not exist"


# --- params and describe ------------------------------------------------------------------------

def test_bad_params() -> None:
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        describe("tls.certificate", {"host": "a", "issuer": "("})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        describe("tls.certificate", {"host": "a", "days_left": -1})


def test_describe() -> None:
    assert describe("tls.certificate", {"host": "trainee.tis.nhs.uk", "days_left": 30,
                                        "issuer": "Amazon"}) == \
        ("the certificate of trainee.tis.nhs.uk covers trainee.tis.nhs.uk, has at least 30 "
         "days left, is issued by /Amazon/ and is trusted")
    assert describe("tls.certificate", {"host": "a.test", "port": 8443, "trusted": False,
                                        "covers": ["a.test", "*.a.test"],
                                        "connect_to": "d1.cloudfront.net"}) == \
        "the certificate of a.test:8443 (via d1.cloudfront.net) covers a.test, *.a.test"
