"""Prefix entries and ``bookmark.others`` of cloudfront.redirects, applied to the twin and
asked through its edge (the function's JavaScript in V8, reading the twin's
KeyValueStore) as a browser and a script would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook.context import RunContext
from runbook.kinds.aws.redirects import Redirects
from runbook.kinds.base import CheckResult
from runbook.kinds.wire.http import HttpGet, HttpRedirect, HttpRedirects
from runbook.sandbox.twin import Twin
from runbook.sandbox.world import load_world

from .conftest import journal

pytestmark = pytest.mark.slow
WORLD = Path(__file__).resolve().parents[3] / "plans" / "sandbox" / "docs-before.yaml"
OLD, NEW = "https://docs.example.test", "https://help.example.test"
BROWSER = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}
MAP = {f"{OLD}/docs/*": f"{NEW}/help/*",
       f"{OLD}/docs/a/*": f"{NEW}/special",
       f"{OLD}/docs/a/exact": f"{NEW}/exact"}


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin.start(load_world(WORLD)) as made:
        yield made


@pytest.fixture
def ctx(twin: Twin, tmp_path: Path) -> RunContext:
    return twin.wire(RunContext(plan_dir=tmp_path, run_id="run-8"))


def apply(ctx: RunContext, **params: Any) -> None:
    action = Redirects(Redirects.Params(**{"id": "E4DOCSEXAMPLE", **params}))
    snap = journal(action.snapshot(ctx))
    action.apply(ctx, snap)


def check(kind: Any, ctx: RunContext, **params: Any) -> CheckResult:
    result: CheckResult = kind(kind.Params.model_validate(params)).run(ctx)
    return result


def redirect(ctx: RunContext, source: str, to: str, status: int = 302) -> CheckResult:
    return check(HttpRedirect, ctx, **{"from": source}, to=to, status=status)


def test_exact_beats_a_longer_prefix_which_beats_a_shorter_one(ctx: RunContext) -> None:
    apply(ctx, map=MAP, status=302, keep_query=True)
    for source, to in [
        (f"{OLD}/docs/x/y/z?tab=2", f"{NEW}/help/x/y/z?tab=2"),  # the rest of the path
        (f"{OLD}/docs/", f"{NEW}/help/"),  # the prefix itself: an empty rest
        (f"{OLD}/docs", f"{NEW}/help/"),
        (f"{OLD}/docs/a/b/c", f"{NEW}/special"),  # the longer prefix, no `*`: all to one
        (f"{OLD}/docs/a/exact?q=1", f"{NEW}/exact?q=1"),  # exact wins over both
    ]:
        got = redirect(ctx, source, to)
        assert got.ok, got.summary
    # not covered: goes on to the origin (the old bucket's home page)
    home = check(HttpGet, ctx, url=f"{OLD}/", status=200, contains="old docs home")
    assert home.ok, home.summary
    outside = redirect(ctx, f"{OLD}/docsx/page", f"{NEW}/help/")
    assert not outside.ok and "not a redirect" in outside.summary
    # http.redirects checks a prefix by its own path and a made-up child path
    whole = check(HttpRedirects, ctx, map=MAP, status=302)
    assert whole.ok, whole.summary
    assert whole.observed["checked"] == 5


def test_a_deep_path_under_a_catch_all(ctx: RunContext) -> None:
    apply(ctx, map={f"{OLD}/*": f"{NEW}/*"}, status=301)
    deep = "/".join(f"d{i}" for i in range(30))
    got = redirect(ctx, f"{OLD}/{deep}", f"{NEW}/{deep}", status=301)
    assert got.ok, got.summary
    root = redirect(ctx, f"{OLD}/", f"{NEW}/", status=301)
    assert root.ok, root.summary


def test_others_origin_gives_browsers_the_page_and_the_rest_to_the_origin(
        ctx: RunContext) -> None:
    message = "TIS Self-Service is now at help.example.test: please update your bookmarks."
    apply(ctx, map={f"{OLD}/*": f"{NEW}/*"}, status=302, keep_query=True,
          bookmark={"message": message, "others": "origin"})
    page = check(HttpGet, ctx, url=f"{OLD}/old/p1.html?x=1", status=200,
                 request_headers=BROWSER,
                 contains=[message, f'href="{NEW}/old/p1.html?x=1"',
                           f'content="5;url={NEW}/old/p1.html?x=1"'],
                 headers={"cache-control": "no-store"})
    assert page.ok, page.summary
    # a script or an image: the origin answers, untouched (the old page itself here)
    plain = check(HttpGet, ctx, url=f"{OLD}/old/p1.html", status=200,
                  contains="old page 1")
    assert plain.ok, plain.summary
    # with the default, `others: redirect`, the same request gets the redirect
    apply(ctx, map={f"{OLD}/*": f"{NEW}/*"}, status=302, keep_query=True,
          bookmark={"message": message})
    got = redirect(ctx, f"{OLD}/old/p1.html", f"{NEW}/old/p1.html")
    assert got.ok, got.summary


def test_http_redirects_fails_a_prefix_that_drops_the_rest_of_the_path(
        ctx: RunContext) -> None:
    apply(ctx, map={f"{OLD}/docs/*": f"{NEW}/help/"}, status=301)  # all to one page
    got = check(HttpRedirects, ctx, map={f"{OLD}/docs/*": f"{NEW}/help/*"})
    assert not got.ok
    # the prefix itself passes (an empty rest); the made-up child path shows the loss
    assert got.summary.startswith("1 of 2 redirects failed (1 wrong target)"), got.summary
    assert (f"{OLD}/docs/runbook-check/deeper/page redirects to {NEW}/help/, not "
            f"{NEW}/help/runbook-check/deeper/page") in got.summary
    # fixed, it passes, and says how its two URLs came from one entry
    apply(ctx, map={f"{OLD}/docs/*": f"{NEW}/help/*"}, status=301)
    fixed = check(HttpRedirects, ctx, map={f"{OLD}/docs/*": f"{NEW}/help/*"})
    assert fixed.ok and fixed.summary == ("all 2 redirects work (1 entry; each prefix "
                                          "entry asked at itself and a deeper path)")


def test_the_rest_never_makes_a_location_on_another_host(ctx: RunContext) -> None:
    """With a path target (``/*``), a request for ``//evil.example/x`` would make the
    protocol-relative Location ``//evil.example/x``: the rest's leading slashes are
    dropped. Asked with TestFunction, which hands the function the path as given."""
    import json

    apply(ctx, map={f"{OLD}/*": "/*"}, status=301)
    cf = ctx.client("cloudfront")
    name = "runbook-redirects-E4DOCSEXAMPLE"
    event = {"version": "1.0", "context": {"eventType": "viewer-request"},
             "viewer": {"ip": "198.51.100.7"},
             "request": {"method": "GET", "uri": "//evil.example/x", "querystring": {},
                         "headers": {"host": {"value": "docs.example.test"}},
                         "cookies": {}}}
    etag = cf.describe_function(Name=name, Stage="LIVE")["ETag"]
    result = cf.test_function(Name=name, IfMatch=etag, Stage="LIVE",
                              EventObject=json.dumps(event).encode())["TestResult"]
    response = json.loads(result["FunctionOutput"])["response"]
    assert response["headers"]["location"]["value"] == "/evil.example/x"
