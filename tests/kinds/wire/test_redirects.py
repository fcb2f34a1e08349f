"""http.redirect and http.redirects against real HTTP servers on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from runbook.kinds.wire.redirect import destination, normalise
from runbook.sandbox.httpserver import Reply, Request, WebServer, redirect
from tests.kinds.wire.conftest import ServerContext
from tests.kinds.wire.helpers import describe, network, run_check

NEW = "https://new.example.test"
Web = Callable[..., WebServer]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keeps_path(req: Request) -> Reply:
    return redirect(NEW + req.path)


@pytest.fixture
def old(web: Web) -> WebServer:
    return web({
        "/": redirect(NEW + "/"),
        "/found": redirect(NEW + "/", 302),
        "/perm": redirect(NEW + "/", 308),
        "/two": redirect("/two-b"),
        "/two-b": redirect(NEW + "/"),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/self": redirect("/self"),
        "/nolocation": Reply(301, ""),
        "/page": Reply(200, "no redirect here"),
        "/elsewhere": redirect(f"http://127.0.0.1:{closed_port()}/"),
        "/dropped/a/b": redirect(NEW + "/"),
        "/dropq/a": redirect(NEW + "/a"),
        "/stays": redirect("/page"),
        "/far": redirect("/far1"), "/far1": redirect("/far2"), "/far2": redirect("/far3"),
        "/far3": redirect("/far4"), "/far4": redirect("/far5"), "/far5": redirect("/far6"),
        "/far6": redirect(NEW + "/"),
        "/slow": Reply(301, "", {"Location": NEW + "/"}, delay=2.0),
        "/keep/a/b?x=1": _keeps_path,
        "/keep/a/b": _keeps_path,
        "/x/y?q=1": _keeps_path,
        "/fr/x/y?q=1": _keeps_path,
    })


def redirect_check(source: str, to: str = NEW + "/", net: Any = None, **params: Any) -> Any:
    return run_check("http.redirect", {"from": source, "to": to, **params}, net or network())


def test_a_301_passes_and_reports_the_hop(old: WebServer) -> None:
    r = redirect_check(old.url("/"))
    assert r.ok, r.summary
    assert r.summary == f"{old.url('/')} -> {NEW}/ (301)"
    assert r.observed["hops"] == [{"url": old.url("/"), "status": 301, "location": NEW + "/"}]


def test_308_is_accepted_by_default(old: WebServer) -> None:
    assert redirect_check(old.url("/perm")).ok


def test_a_302_fails_by_default(old: WebServer) -> None:
    r = redirect_check(old.url("/found"))
    assert not r.ok and r.outcome == "mismatch"
    assert r.summary == f"{old.url('/found')} answered 302, expected 301 or 308"
    assert redirect_check(old.url("/found"), status=302).ok
    assert redirect_check(old.url("/found"), status=[302, 307]).ok


def test_too_many_hops(old: WebServer) -> None:
    r = redirect_check(old.url("/two"))
    assert r.summary == f"{old.url('/two')} reaches {NEW}/ after 2 hops; at most 1 allowed"
    assert len(r.observed["hops"]) == 2
    r = redirect_check(old.url("/two"), hops=2)
    assert r.ok and r.summary == f"{old.url('/two')} -> {NEW}/ (301, 301)"


def test_far_too_many_hops_stops_walking(old: WebServer) -> None:
    r = redirect_check(old.url("/far"))
    assert r.summary == (f"{old.url('/far')} still redirects after 5 hops (at "
                         f"{old.url('/far5')}) without reaching {NEW}/")


def test_loop(old: WebServer) -> None:
    r = redirect_check(old.url("/loop-a"), hops=5)
    assert not r.ok and r.outcome == "loop"
    assert r.summary == (f"redirect loop: {old.url('/loop-a')} -> {old.url('/loop-b')} -> "
                         f"{old.url('/loop-a')}")


def test_self_loop(old: WebServer) -> None:
    r = redirect_check(old.url("/self"))
    assert r.outcome == "loop"
    assert r.summary == f"redirect loop: {old.url('/self')} -> {old.url('/self')}"


def test_missing_location(old: WebServer) -> None:
    r = redirect_check(old.url("/nolocation"))
    assert r.summary == f"{old.url('/nolocation')} answered 301 without a Location header"


def test_not_a_redirect(old: WebServer) -> None:
    r = redirect_check(old.url("/page"))
    assert r.summary == f"{old.url('/page')} answered 200, not a redirect to {NEW}/"


def test_goes_elsewhere(old: WebServer) -> None:
    r = redirect_check(old.url("/elsewhere"))
    assert not r.ok and r.outcome == "mismatch"
    # Nothing listens there: the walk says where it went, and why it stopped.
    gone = r.observed["hops"][0]["location"]
    assert r.summary == (f"{old.url('/elsewhere')} redirects to {gone}, not {NEW}/ (and "
                         f"connection refused for {gone})")


def test_ends_at_a_page_that_is_not_the_destination(old: WebServer) -> None:
    r = redirect_check(old.url("/stays"), hops=3)
    assert r.summary == (f"{old.url('/stays')} ends at {old.url('/page')} (200) after 1 hop, "
                         f"not at {NEW}/")


def test_keep_path_and_query(old: WebServer) -> None:
    r = redirect_check(old.url("/keep/a/b?x=1"), keep_path=True, keep_query=True)
    assert r.ok, r.summary
    assert r.observed["to"] == NEW + "/keep/a/b?x=1"


def test_keep_path_appends_to_the_target_path(old: WebServer) -> None:
    r = redirect_check(old.url("/keep/a/b"), NEW + "/base/", keep_path=True)
    assert r.summary == (f"{old.url('/keep/a/b')} redirects to {NEW}/keep/a/b, not "
                         f"{NEW}/base/keep/a/b (the prefix /base is missing; the rest of "
                         "the path matches)")


def test_path_not_kept(old: WebServer) -> None:
    r = redirect_check(old.url("/dropped/a/b"), keep_path=True)
    assert not r.ok
    assert r.summary == (f"{old.url('/dropped/a/b')} redirects to {NEW}/, not "
                         f"{NEW}/dropped/a/b (path not kept)")


def test_query_not_kept(old: WebServer) -> None:
    r = redirect_check(old.url("/dropq/a?utm=1"), NEW, keep_path=True, keep_query=True)
    assert r.summary == (f"{old.url('/dropq/a?utm=1')} redirects to {NEW}/a, not "
                         f"{NEW}/dropq/a?utm=1 (the prefix /dropq is missing; the rest of "
                         "the path matches)")
    r = redirect_check(old.url("/dropq/a?utm=1"), NEW + "/a", keep_query=True)
    assert r.summary == (f"{old.url('/dropq/a?utm=1')} redirects to {NEW}/a, not "
                         f"{NEW}/a?utm=1 (query not kept)")


def test_timeout_on_the_first_hop(old: WebServer) -> None:
    r = redirect_check(old.url("/slow"), timeout="200ms")
    assert r.outcome == "timeout"
    assert r.summary == f"no answer from {old.url('/slow')} within 0.2s"


def test_connect_to_pins_every_hop_on_the_host(web: Web, server_context: ServerContext,
                                               ca_bundle: str) -> None:
    edge = web(tls=server_context("old.example.test"))
    source = f"https://old.example.test:{edge.port}/"
    edge.routes["/"] = redirect(source + "home")  # the second hop goes to the same host
    edge.routes["/home"] = redirect(NEW + "/")
    r = redirect_check(source, net=network(ca_bundle=ca_bundle), connect_to="127.0.0.1",
                       hops=2)
    assert r.ok, r.summary
    assert [(q.path, q.sni, q.host) for q in edge.requests] == [
        ("/", "old.example.test", "old.example.test"),
        ("/home", "old.example.test", "old.example.test")]


def test_connect_to_the_wrong_server(web: Web, old: WebServer) -> None:
    plain = web({"/": Reply(200, "not the old site")})
    r = redirect_check("http://old.example.test/", connect_to=f"127.0.0.1:{plain.port}")
    assert r.summary == f"http://old.example.test/ answered 200, not a redirect to {NEW}/"
    assert plain.requests[-1].host == "old.example.test"


def test_normalise_and_destination() -> None:
    assert normalise("HTTPS://New.Example.test:443") == "https://new.example.test/"
    assert normalise("http://a.test:8080/x?y#frag") == "http://a.test:8080/x?y"
    assert destination("http://old/a/b?q=1", "https://new/base/", keep_path=True,
                       keep_query=True) == "https://new/base/a/b?q=1"
    assert destination("http://old/a?q=1", "https://new/?z=2", keep_path=False,
                       keep_query=True) == "https://new/?z=2&q=1"


def test_describe_redirect() -> None:
    assert describe("http.redirect", {"from": "https://old/", "to": "https://new/"}) == \
        "https://old/ redirects to https://new/ with 301 or 308"
    assert describe("http.redirect", {"from": "https://old/", "to": "https://new/",
                                      "status": 302, "hops": 2, "keep_path": True,
                                      "connect_to": "d1.cloudfront.net"}) == \
        ("https://old/ redirects to https://new/ with 302, in at most 2 hops, keeping the "
         "path, via d1.cloudfront.net")


def test_redirect_params() -> None:
    with pytest.raises(ValidationError, match="from"):
        describe("http.redirect", {"to": "https://new/"})
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        describe("http.redirect", {"from": "https://a/", "to": "https://b/", "hops": 0})


# --- http.redirects -------------------------------------------------------------------------

def redirects(net: Any = None, plan_dir: Path | None = None, **params: Any) -> Any:
    return run_check("http.redirects", params, net or network(), plan_dir=plan_dir)


def test_map_inline_all_pass(old: WebServer) -> None:
    r = redirects(map={old.url("/"): NEW + "/", old.url("/perm"): NEW + "/"})
    assert r.ok and r.summary == "all 2 redirects work"
    assert r.observed["checked"] == 2 and r.observed["failures"] == []


def test_every_failure_is_reported_in_a_table(old: WebServer) -> None:
    r = redirects(map={old.url("/"): NEW + "/", old.url("/found"): NEW + "/",
                       old.url("/page"): NEW + "/", old.url("/loop-a"): NEW + "/"})
    assert not r.ok and r.outcome == "mismatch"
    assert r.summary.splitlines() == [
        "3 of 4 redirects failed (2 wrong status, 1 too many hops):",
        "  wrong status (2):",
        f"    {old.url('/found')} answered 302, expected 301 or 308",
        f"    {old.url('/page')} answered 200, not a redirect to {NEW}/",
        "  too many hops (1):",
        f"    redirect loop: {old.url('/loop-a')} -> {old.url('/loop-b')} -> "
        f"{old.url('/loop-a')}"]
    assert [f["from"] for f in r.observed["failures"]] == \
        [old.url("/found"), old.url("/page"), old.url("/loop-a")]
    table = r.observed["table"].splitlines()
    assert table[0].split() == ["from", "expected", "problem"]
    assert len(table) == 4 and "redirect loop" in table[3]


def test_map_from_csv(old: WebServer, tmp_path: Path) -> None:
    (tmp_path / "map.csv").write_text(
        f"old,new\n{old.url('/')},{NEW}/\n\n{old.url('/perm')},{NEW}/\n")
    r = redirects(file="map.csv", plan_dir=tmp_path)
    assert r.ok and r.summary == "all 2 redirects work"


def test_map_from_yaml_mapping_and_list(old: WebServer, tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(f"'{old.url('/')}': {NEW}/\n")
    assert redirects(file="map.yaml", plan_dir=tmp_path).ok
    (tmp_path / "list.yml").write_text(f"- from: '{old.url('/found')}'\n  to: {NEW}/\n")
    r = redirects(file="list.yml", plan_dir=tmp_path, status=302)
    assert r.ok, r.summary


def test_map_file_problems(tmp_path: Path) -> None:
    r = redirects(file="nope.csv", plan_dir=tmp_path)
    assert r.outcome == "error"
    assert r.summary == f"the redirect map {tmp_path / 'nope.csv'} does not exist"
    (tmp_path / "bad.csv").write_text("https://a/,https://b/\nhttps://c/\n")
    r = redirects(file="bad.csv", plan_dir=tmp_path)
    assert r.summary == (f"cannot read the redirect map: {tmp_path / 'bad.csv'}: row 2 needs "
                         "two columns, old and new URL")


def test_concurrency_bounds_connections(old: WebServer) -> None:
    pairs = {old.url(f"/?n={i}"): NEW + "/" for i in range(60)}
    old.routes.update({f"/?n={i}": redirect(NEW + "/") for i in range(60)})
    r = redirects(map=pairs, concurrency=3)
    assert r.ok, r.summary
    assert old.peak_connections <= 3
    assert old.connections <= 3  # keep-alive: each connection carried many checks


def test_redirects_params() -> None:
    with pytest.raises(ValidationError, match="exactly one of `map`"):
        describe("http.redirects", {"map": {"a": "b"}, "file": "x.csv"})
    with pytest.raises(ValidationError, match="exactly one of `map`"):
        describe("http.redirects", {})
    assert describe("http.redirects", {"file": "redirects.csv", "keep_query": True}) == \
        "the redirects in redirects.csv work with 301 or 308, keeping the query"


PREFIX_PLAN = """\
runbook: 1
name: prefixes
stages:
  - name: look
    checks:
      - http.redirect: {{from: "{old}/x/y?q=1", to: "{new}/en/", keep_path: true,
                       keep_query: true}}
      - http.redirect: {{from: "{old}/fr/x/y?q=1", to: "{new}/x/y?q=1"}}
"""


def test_a_prefix_missing_or_added_is_named_as_such(old: WebServer, cli: Any,
                                                    tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PREFIX_PLAN.format(old=old.url("").rstrip("/"), new=NEW))
    r = cli("run", str(plan), "--yes", "--state-dir", str(tmp_path / "state"))
    said = " ".join((r.stdout + r.stderr).split())
    assert r.code == 1, said
    assert (f"redirects to {NEW}/x/y?q=1, not {NEW}/en/x/y?q=1 (the prefix /en is missing; "
            "the rest of the path matches)") in said
    assert (f"redirects to {NEW}/fr/x/y?q=1, not {NEW}/x/y?q=1 (an extra prefix /fr; the "
            "rest of the path matches)") in said
    assert "path not kept" not in said
