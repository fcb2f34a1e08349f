"""Fixtures of the wire-check tests: a test CA, TLS contexts, DNS and web servers on loopback,
and run contexts pointed at them."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from runbook.sandbox.dnsserver import DNSServer
from runbook.sandbox.httpserver import Reply, Route, WebServer
from tests.kinds.wire.rawserver import Raw, serve_raw

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own proxy settings must not send loopback tests elsewhere; tests of
    proxies set the variables they mean."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Runbook Test CA")


@pytest.fixture(scope="session")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


ServerContext = Callable[..., ssl.SSLContext]


@pytest.fixture(scope="session")
def server_context(ca: trustme.CA) -> ServerContext:
    """``server_context("a.test", "*.b.test", days=-3)``: a server context whose
    certificate names those and expires ``days`` from now (default: in a year)."""

    def make(*names: str, days: float = 365, issuer: trustme.CA | None = None
             ) -> ssl.SSLContext:
        now = dt.datetime.now(dt.UTC)
        cert = (issuer or ca).issue_cert(
            *names, not_before=now - dt.timedelta(days=30),
            not_after=now + dt.timedelta(days=days))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    return make


@pytest.fixture
def web() -> Iterator[Callable[..., WebServer]]:
    """``web(routes, tls=context)``: start a web server, stopped after the test."""
    started: list[WebServer] = []

    def start(routes: dict[str, Route | Reply] | None = None, **kw: Any) -> WebServer:
        server = WebServer(routes, **kw).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def dns_server() -> Iterator[Callable[..., DNSServer]]:
    """``dns_server(zones, host=...)``: start a DNS server, stopped after the test."""
    started: list[DNSServer] = []

    def start(zones: Any, **kw: Any) -> DNSServer:
        server = DNSServer(zones, **kw).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()



@pytest.fixture
def raw() -> Iterator[Callable[..., Raw]]:
    """``raw(reply, ...)``: a server answering each request with the next reply's bytes
    (see tests/kinds/wire/rawserver.py)."""
    yield from serve_raw()
