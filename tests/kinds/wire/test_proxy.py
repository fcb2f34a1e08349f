"""http checks through a forward proxy on loopback: the variables curl reads, NO_PROXY,
CONNECT for https, credentials (never shown), the plan's `proxy:`, and connect_to
keeping Host and SNI through the tunnel."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runbook.kinds.wire.net import WireError
from runbook.kinds.wire.proxy import bypassed, choose, redact
from runbook.sandbox.httpserver import Reply, WebServer, redirect
from tests.conftest import run_cli
from tests.kinds.wire.conftest import ServerContext
from tests.kinds.wire.helpers import network, run_check
from tests.kinds.wire.proxyserver import ForwardProxy

Web = Callable[..., WebServer]
ONLY = "only.proxy.test"  # a name nothing but the proxy resolves


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def proxy() -> Iterator[Callable[..., ForwardProxy]]:
    started: list[ForwardProxy] = []

    def start(**kw: object) -> ForwardProxy:
        server = ForwardProxy(names={ONLY: "127.0.0.1", "edge.proxy.test": "127.0.0.1"},
                              **kw).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def site(web: Web, server_context: ServerContext) -> WebServer:
    return web({"/": Reply(200, "through the proxy"), "/old": redirect("/new")},
               tls=server_context(ONLY, "site.example.test"))


def test_https_proxy_tunnels_to_a_name_only_the_proxy_resolves(
        site: WebServer, proxy: Callable[..., ForwardProxy], ca_bundle: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    p = proxy()
    monkeypatch.setenv("HTTPS_PROXY", p.url)
    url = f"https://{ONLY}:{site.port}/"
    r = run_check("http.get", {"url": url, "contains": "through the proxy"},
                  network(ca_bundle=ca_bundle, timeout=5))
    assert r.ok, r.summary
    assert [(s.method, s.target) for s in p.seen] == [("CONNECT", f"{ONLY}:{site.port}")]
    assert site.requests[0].host == ONLY and site.requests[0].sni == ONLY


def test_http_proxy_gets_the_absolute_url(web: Web, proxy: Callable[..., ForwardProxy],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    plain = web({"/page": Reply(200, "plain")})
    p = proxy()
    monkeypatch.setenv("http_proxy", p.url)
    url = f"http://{ONLY}:{plain.port}/page"
    r = run_check("http.get", {"url": url, "contains": "plain"}, network(timeout=5))
    assert r.ok, r.summary
    assert [(s.method, s.target) for s in p.seen] == [("GET", url)]
    assert plain.requests[0].host == ONLY


def test_all_proxy_and_no_proxy(web: Web, proxy: Callable[..., ForwardProxy],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    plain = web({"/": Reply(200, "direct")})
    p = proxy()
    monkeypatch.setenv("ALL_PROXY", p.url)
    monkeypatch.setenv("NO_PROXY", "example.org, 127.0.0.0/8")
    r = run_check("http.get", {"url": plain.url("/")}, network(timeout=5))
    assert r.ok and p.seen == []  # 127.0.0.1 is in NO_PROXY: direct
    monkeypatch.setenv("NO_PROXY", "example.org")
    assert run_check("http.get", {"url": plain.url("/")}, network(timeout=5)).ok
    assert [s.method for s in p.seen] == ["GET"]


def test_credentials_are_sent_and_never_shown(
        site: WebServer, proxy: Callable[..., ForwardProxy], ca_bundle: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    p = proxy(credentials=("ops", "s3cret@x"))
    monkeypatch.setenv("https_proxy", f"http://ops:s3cret%40x@127.0.0.1:{p.port}")
    url = f"https://{ONLY}:{site.port}/"
    net = network(ca_bundle=ca_bundle, timeout=5)
    assert run_check("http.get", {"url": url}, net).ok
    assert p.seen[0].headers["proxy-authorization"] == \
        "Basic " + base64.b64encode(b"ops:s3cret@x").decode()
    monkeypatch.setenv("https_proxy", f"http://ops:wrong@127.0.0.1:{p.port}")
    r = run_check("http.get", {"url": url}, net)
    assert not r.ok and r.outcome == "unreachable"
    assert r.summary == (f"the proxy http://ops:***@127.0.0.1:{p.port} answered 407 Proxy "
                         f"Authentication Required to CONNECT {ONLY}:{site.port} for {url} "
                         "(it wants credentials: put them in the proxy URL)")
    assert "wrong" not in repr(r.observed)


def test_connect_to_keeps_host_and_sni_through_the_tunnel(
        site: WebServer, proxy: Callable[..., ForwardProxy], ca_bundle: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    p = proxy()
    monkeypatch.setenv("HTTPS_PROXY", p.url)
    r = run_check("http.redirect", {"from": "https://site.example.test/old",
                                    "to": "https://site.example.test/new", "status": 301,
                                    "connect_to": f"edge.proxy.test:{site.port}"},
                  network(ca_bundle=ca_bundle, timeout=5))
    assert r.ok, r.summary
    assert p.seen[0].target == f"edge.proxy.test:{site.port}"
    assert site.requests[0].host == "site.example.test"
    assert site.requests[0].sni == "site.example.test"


def test_the_plans_proxy_wins_and_none_goes_direct(
        web: Web, proxy: Callable[..., ForwardProxy], monkeypatch: pytest.MonkeyPatch) -> None:
    plain = web({"/": Reply(200, "ok")})
    p = proxy()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    url = f"http://{ONLY}:{plain.port}/"
    r = run_check("http.get", {"url": url}, network(timeout=5))
    assert r.outcome == "refused" and r.summary.startswith("the proxy http://127.0.0.1:")
    plan = network(timeout=5)
    assert run_check("http.get", {"url": url},
                     type(plan)(**{**plan.__dict__, "proxy": p.url})).ok
    assert run_check("http.get", {"url": plain.url("/")},
                     type(plan)(**{**plan.__dict__, "proxy": "none"})).ok


def test_an_unsupported_proxy_is_named() -> None:
    with pytest.raises(WireError) as info:
        choose(None, {"ALL_PROXY": "socks5://127.0.0.1:1080"})
    assert info.value.message == ("ALL_PROXY: proxy socks5://127.0.0.1:1080 is not supported: "
                                  "only http:// proxies (plain HTTP to the proxy, CONNECT for "
                                  "https) are")


def test_no_proxy_matching_as_curl_does() -> None:
    assert bypassed("www.example.com", "example.com")
    assert bypassed("example.com", ".example.com")
    assert not bypassed("badexample.com", "example.com")
    assert bypassed("10.1.2.3", "10.0.0.0/8") and not bypassed("11.0.0.1", "10.0.0.0/8")
    assert bypassed("::1", "::1") and bypassed("anything.test", "*")
    assert redact("http://u:p@h:1") == "http://u:***@h:1"
    env = {"http_proxy": "http://low:1", "HTTP_PROXY": "http://up:2", "ALL_PROXY": "all:3"}
    chosen = choose(None, env)
    assert chosen.http is not None and chosen.http.host == "low"
    assert chosen.https is not None and (chosen.https.host, chosen.https.port) == ("all", 3)


def proxied_plan(folder: Path, proxy_url: str, url: str) -> None:
    (folder / "plan.yaml").write_text(
        "runbook: 1\nname: proxied\nenvironments:\n  office:\n"
        f"    proxy: {proxy_url}\n"
        "stages:\n  - name: gate\n    checks:\n"
        f"      - http.get: {{url: '{url}', contains: hello}}\n")


def test_a_plans_proxy_through_runbook_run(
        web: Web, proxy: Callable[..., ForwardProxy], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = web({"/": Reply(200, "hello through the proxy")})
    p = proxy(credentials=("ops", "hunter2"))
    url = f"http://{ONLY}:{plain.port}/"
    monkeypatch.setenv("PROXY_PASSWORD", "hunter2")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")  # overridden
    proxied_plan(tmp_path, f"http://ops:${{env:PROXY_PASSWORD}}@127.0.0.1:{p.port}", url)
    r = run_cli("run", "plan.yaml", "--env", "office", "--yes", cwd=tmp_path)
    assert r.code == 0, r.stdout + r.stderr
    assert [s.target for s in p.seen] == [url]
    journal = "".join(f.read_text() for f in (tmp_path / ".runbook").rglob("*")
                      if f.is_file())
    assert "PROXY_PASSWORD" in journal  # the reference is stored, never the password
    assert "hunter2" not in journal and "hunter2" not in r.stdout + r.stderr


def test_a_password_written_into_the_plan_is_refused_unshown(tmp_path: Path) -> None:
    proxied_plan(tmp_path, "http://ops:hunter2@proxy.example:3128", "http://a.test/")
    r = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert r.code == 2
    assert "the proxy URL holds a password, which would be stored with every run: write " \
        "it as ${env:NAME}" in r.stderr
    assert "plan.yaml, line 5" in r.stderr and "hunter2" not in r.stdout + r.stderr


def test_the_sandbox_is_reached_directly(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin's names exist only in its own DNS (resolve_via_dns): no proxy could
    reach them, so the variables are not read there."""
    plain = web({"/": Reply(200, "twin")})
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    r = run_check("http.get", {"url": plain.url("/"), "contains": "twin"},
                  network(resolve_via_dns=True, timeout=5))
    assert r.ok, r.summary
    assert not run_check("http.get", {"url": plain.url("/")}, network(timeout=5)).ok
