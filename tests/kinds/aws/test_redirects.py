"""cloudfront.redirects against the twin (moto behind the proxy, which keeps functions,
KeyValueStore keys and associations), with the function's JavaScript run by the edge,
and what it does checked by http.redirect(s) through the edge, as a user would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.aws.redirects import Redirects, kvs_client
from runbook.kinds.base import CheckResult
from runbook.kinds.wire.http import HttpGet, HttpRedirect, HttpRedirects
from runbook.sandbox.twin import Twin
from runbook.sandbox.world import load_world

from .conftest import journal

pytestmark = pytest.mark.slow
WORLD = Path(__file__).resolve().parents[3] / "plans" / "sandbox" / "docs-before.yaml"
OLD, NEW = "https://docs.example.test", "https://help.example.test"


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin.start(load_world(WORLD)) as made:
        yield made


@pytest.fixture
def ctx(twin: Twin, tmp_path: Path) -> RunContext:
    return twin.wire(RunContext(plan_dir=tmp_path, run_id="run-7"))


def redirects(**params: Any) -> Redirects:
    return Redirects(Redirects.Params(**{"id": "E4DOCSEXAMPLE", **params}))


def check(kind: Any, ctx: RunContext, **params: Any) -> CheckResult:
    result: CheckResult = kind(kind.Params.model_validate(params)).run(ctx)
    return result


def apply(action: Redirects, ctx: RunContext) -> tuple[dict[str, Any], dict[str, Any]]:
    snap = journal(action.snapshot(ctx))
    return snap, journal(action.apply(ctx, snap))


def numbered(n: int, new: str = "new") -> dict[str, str]:
    return {f"{OLD}/old/p{i}": f"{NEW}/{new}/p{i}" for i in range(1, n + 1)}


# (old path, new URL, status, keep the query) -> one YAML list item each
TABLE = [
    ("/old/a", f"{NEW}/new/a", 301, False),
    ("/old/q", f"{NEW}/new/q", 301, True),
    ("/old/moved-for-now", f"{NEW}/new/tmp", 302, False),
    ("/old/dir/", f"{NEW}/new/dir/", 308, False),
    ("/old/caf%C3%A9", f"{NEW}/new/cafe", 301, False),
    ("/old/naïve guide", f"{NEW}/new/naive?from=old", 307, True),
]


def test_the_function_and_http_redirects_agree(ctx: RunContext, tmp_path: Path) -> None:
    items = [{"from": OLD + p, "to": t, "status": s, "keep_query": q} for p, t, s, q in TABLE]
    (tmp_path / "map.yaml").write_text(json.dumps(items), encoding="utf-8")
    _, out = apply(redirects(file="map.yaml"), ctx)
    assert out["entries"] == len(TABLE)
    allowed = [301, 302, 307, 308]
    # the same file, checked by http.redirects through the edge
    whole = check(HttpRedirects, ctx, file="map.yaml", status=allowed)
    assert whole.ok, whole.summary
    for path, to, status, keep in TABLE:
        # with a query string: carried when the entry says so, dropped otherwise
        got = check(HttpRedirect, ctx, **{"from": f"{OLD}{path}?utm=1&x"}, to=to,
                    status=status, keep_query=keep)
        assert got.ok, f"{path}: {got.summary}"
    # a trailing slash more or less finds the same entry
    slash = check(HttpRedirect, ctx, **{"from": f"{OLD}/old/a/"}, to=f"{NEW}/new/a")
    assert slash.ok, slash.summary
    dirs = check(HttpRedirect, ctx, **{"from": f"{OLD}/old/dir"}, to=f"{NEW}/new/dir/",
                 status=308)
    assert dirs.ok, dirs.summary
    # a path that is not in the map goes on to the origin: a page, or S3's 403
    page = check(HttpGet, ctx, url=f"{OLD}/old/p1.html", contains="old page 1")
    assert page.ok, page.summary
    unknown = check(HttpGet, ctx, url=f"{OLD}/old/b", status=403)
    assert unknown.ok, unknown.summary


def test_a_thousand_redirects_apply_verify_and_roll_back_to_the_previous_map(
        ctx: RunContext) -> None:
    first, second = numbered(1000), numbered(990, "v2")
    second[f"{OLD}/old/extra"] = f"{NEW}/new/extra"
    apply(redirects(map=first), ctx)
    assert check(HttpRedirects, ctx, map=first, concurrency=4, timeout=30).ok
    step = redirects(map=second)
    snap = journal(step.snapshot(ctx))
    diff = step.diff(ctx, snap)
    moved = [c for c in diff.changes if c.path == "redirect /old/p5"]
    assert moved[0].old == f"301 {NEW}/new/p5" and moved[0].new == f"301 {NEW}/v2/p5"
    assert [c.new for c in diff.changes if c.path == "redirect /old/p1000"] == [None]
    assert diff.note is not None and diff.note.startswith(
        "1 redirects added, 990 changed, 10 removed in KeyValueStore "
        "runbook-redirects-E4DOCSEXAMPLE;")
    applied = journal(step.apply(ctx, snap))
    # (the edge reads the twin's whole state per request: a sample of the second map)
    sample = {k: v for k, v in second.items() if k.endswith(("0", "extra"))}
    now = check(HttpRedirects, ctx, map=sample, concurrency=4, timeout=30)
    assert now.ok and len(sample) == 100, now.summary
    step.restore(ctx, snap, applied)
    back = check(HttpRedirects, ctx, map=first, concurrency=4, timeout=30)
    assert back.ok, back.summary
    extra = check(HttpGet, ctx, url=f"{OLD}/old/extra", status=403)
    assert extra.ok, extra.summary


def test_restore_of_the_first_map_removes_function_store_and_association(
        ctx: RunContext, twin: Twin) -> None:
    step = redirects(map=numbered(3))
    snap, applied = apply(step, ctx)
    assert step.drifted(ctx, applied) is None
    said: list[str] = []
    step.restore(replace(ctx, note=lambda text, **_: said.append(text)), snap, applied)
    # the proof covers the distribution; what browsers keep of a 301 is said
    assert said == ["distribution E4DOCSEXAMPLE no longer answers these 301 redirects, but "
                    "browsers that followed one keep it without expiry and keep going to "
                    "its new URL until their caches let go"]
    cf = ctx.client("cloudfront")
    assert cf.list_functions()["FunctionList"]["Quantity"] == 0
    assert cf.list_key_value_stores()["KeyValueStoreList"]["Quantity"] == 0
    assoc = cf.get_distribution_config(Id="E4DOCSEXAMPLE")["DistributionConfig"][
        "DefaultCacheBehavior"]["FunctionAssociations"]
    assert assoc["Quantity"] == 0
    assert check(HttpGet, ctx, url=f"{OLD}/old/p1", status=403).ok


def test_drift_names_what_someone_else_changed(ctx: RunContext) -> None:
    step = redirects(map=numbered(3))
    _, applied = apply(step, ctx)
    kvs = kvs_client(ctx)
    etag = kvs.describe_key_value_store(KvsARN=applied["kvs_arn"])["ETag"]
    kvs.put_key(KvsARN=applied["kvs_arn"], Key="/old/p9", Value='{"s":301,"l":"/x"}',
                IfMatch=etag)
    assert step.drifted(ctx, applied) == (
        "distribution E4DOCSEXAMPLE's redirects changed since this run applied them: the "
        "redirects in KeyValueStore runbook-redirects-E4DOCSEXAMPLE (4 now, 3 after apply)")


@pytest.mark.parametrize(("entry", "message"), [
    ({f"{OLD}/old/long": f"{NEW}/" + "x" * 1100},
     "entry https://docs.example.test/old/long: its value (status and new URL) is 1142 bytes; "
     "a KeyValueStore value is at most 1024"),
    ({f"{OLD}/" + "k" * 600: f"{NEW}/"},
     "its path is 601 bytes; a KeyValueStore key is at most 512"),
    ({f"{OLD}/old/q?id=3": f"{NEW}/"},
     "entry https://docs.example.test/old/q?id=3: the old URL has a query string"),
    ({f"{OLD}/a": f"{NEW}/a", "https://other.example.test/a": f"{NEW}/b"},
     "are the same path /a on different hosts"),
])
def test_a_map_past_aws_limits_is_refused_before_anything_changes(
        ctx: RunContext, entry: dict[str, str], message: str) -> None:
    with pytest.raises(KindError) as err:
        redirects(map=entry).snapshot(ctx)
    assert message in str(err.value)
    cf = ctx.client("cloudfront")
    assert cf.list_functions()["FunctionList"]["Quantity"] == 0
    assert cf.list_key_value_stores()["KeyValueStoreList"]["Quantity"] == 0


def test_a_map_past_five_megabytes_is_refused_naming_the_entry(ctx: RunContext) -> None:
    big = {f"{OLD}/p{i}/{'x' * 400}": f"{NEW}/{'y' * 900}" for i in range(4000)}
    with pytest.raises(KindError, match=r"passes the KeyValueStore's 5 MB at entry "
                       r"https://docs.example.test/p\d+/x+ \(4000 entries in all\)"):
        redirects(map=big).snapshot(ctx)


def test_another_viewer_function_on_the_behaviour_is_not_replaced(ctx: RunContext) -> None:
    apply(redirects(map=numbered(2), name="someone-elses"), ctx)
    step = redirects(map=numbered(2))
    snap = journal(step.snapshot(ctx))
    with pytest.raises(KindError, match="already runs function someone-elses on viewer "
                       "requests, and CloudFront allows one function per event type"):
        step.apply(ctx, snap)


def test_the_twin_refuses_what_cloudfront_refuses(ctx: RunContext) -> None:
    cf = ctx.client("cloudfront")
    config = {"Comment": "", "Runtime": "cloudfront-js-2.0"}
    code = b"async function handler(event) { return event.request; }"
    made = cf.create_function(Name="f", FunctionConfig=config, FunctionCode=code)

    def refused(code_name: str, call: Any, **kw: Any) -> None:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call(**kw)
        assert err.value.response["Error"]["Code"] == code_name

    refused("FunctionSizeLimitExceeded", cf.update_function, Name="f", IfMatch=made["ETag"],
            FunctionConfig=config, FunctionCode=code + b" " * 10_240)
    refused("InvalidArgument", cf.update_function, Name="f", IfMatch=made["ETag"],
            FunctionConfig=config, FunctionCode=b"function handler(event) { return }}")
    refused("PreconditionFailed", cf.publish_function, Name="f", IfMatch="stale")
    # a function that is not published cannot be associated: the distribution is untouched
    got = cf.get_distribution_config(Id="E4DOCSEXAMPLE")
    dist = got["DistributionConfig"]
    dist["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": made["FunctionSummary"]["FunctionMetadata"]["FunctionARN"],
         "EventType": "viewer-request"}]}
    refused("InvalidFunctionAssociation", cf.update_distribution, Id="E4DOCSEXAMPLE",
            IfMatch=got["ETag"], DistributionConfig=dist)
    cf.publish_function(Name="f", IfMatch=made["ETag"])
    cf.update_distribution(Id="E4DOCSEXAMPLE", IfMatch=got["ETag"], DistributionConfig=dist)
    # ... and a function in use cannot be deleted
    refused("FunctionInUse", cf.delete_function, Name="f", IfMatch=made["ETag"])


def test_a_302_is_promoted_to_a_301_by_a_later_step(ctx: RunContext) -> None:
    entries = {f"{OLD}/old/a": f"{NEW}/new/a"}
    apply(redirects(map=entries, status=302), ctx)
    first = check(HttpRedirect, ctx, **{"from": f"{OLD}/old/a"}, to=f"{NEW}/new/a",
                  status=302)
    assert first.ok, first.summary
    apply(redirects(map=entries, status=301), ctx)  # after the soak: the same map, 301
    promoted = check(HttpRedirect, ctx, **{"from": f"{OLD}/old/a"}, to=f"{NEW}/new/a",
                     status=301)
    assert promoted.ok, promoted.summary


def test_a_browser_gets_the_bookmark_page_and_other_requests_the_redirect(
        ctx: RunContext) -> None:
    message = "This site has moved: please update your bookmarks."
    apply(redirects(map={f"{OLD}/old/a": f"{NEW}/new/a"}, status=302,
                    bookmark={"message": message, "seconds": 3}), ctx)
    page = check(HttpGet, ctx, url=f"{OLD}/old/a", status=200,
                 request_headers={"Accept": "text/html,application/xhtml+xml",
                                  "Sec-Fetch-Mode": "navigate"},
                 contains=[message, f'content="3;url={NEW}/new/a"', f'href="{NEW}/new/a"'],
                 headers={"cache-control": "no-store"})
    assert page.ok, page.summary
    # a script, an image, a crawler: the redirect itself
    plain = check(HttpRedirect, ctx, **{"from": f"{OLD}/old/a"}, to=f"{NEW}/new/a",
                  status=302)
    assert plain.ok, plain.summary
