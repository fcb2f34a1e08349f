"""CloudFront's caches: an origin switch invalidates after the change and again after its
rollback (OriginPath is not in the cache key); a redirect that keeps the query needs a
distribution that forwards query strings."""

from __future__ import annotations

from typing import Any

from runbook.context import RunContext
from runbook.kinds.aws.cloudfront import DistributionCheck, Update
from runbook.kinds.aws.s3site import S3Redirect

from .lifecycle import cycle
from .world import World

SITE = {"v1/index.html": "v1", "v2/index.html": "v2"}


def _invalidations(world: World, dist_id: str) -> list[list[str]]:
    got = world.cf.list_invalidations(DistributionId=dist_id)["InvalidationList"]
    out = []
    for inv in got.get("Items", []):
        one = world.cf.get_invalidation(DistributionId=dist_id, Id=inv["Id"])
        out.append(one["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])
    return out


def test_a_switch_invalidates_and_so_does_its_rollback(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", "/v1")
    action = Update(Update.Params(id=d["Id"], origin={"path": "/v2"}, invalidate=["/*"]))
    seen: dict[str, Any] = {}

    def verify(_: Any, out: dict[str, Any]) -> None:
        seen["after_apply"] = _invalidations(world, d["Id"])
        assert out["invalidation_id"]

    diff, _ = cycle(ctx, action, lambda: world.config(d["Id"])["Origins"], verify)
    assert seen["after_apply"] == [["/*"]]
    assert _invalidations(world, d["Id"]) == [["/*"], ["/*"]]  # the rollback's own
    assert "then invalidates /* so edges stop serving what they cached (OriginPath is not " \
        "in the cache key); a rollback invalidates again" in str(diff.note)


def test_a_redirect_promotion_invalidates_its_distribution_and_so_does_its_rollback(
        ctx: RunContext, world: World) -> None:
    """The edges cached the 302 the website gave: promoting it to a 301 (and taking that
    back) empties the caches of the distribution in front of the website."""
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", "/v1")
    world.bucket("old-site")
    world.s3.put_bucket_website(Bucket="old-site", WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "RoutingRules": [{"Redirect": {
            "HostName": "new.example.org", "Protocol": "https", "HttpRedirectCode": "302"}}]})
    action = S3Redirect(S3Redirect.Params(bucket="old-site", to="new.example.org",
                                          distribution=d["Id"]))
    seen: dict[str, Any] = {}

    def verify(_: Any, out: dict[str, Any]) -> None:
        seen["after_apply"] = _invalidations(world, d["Id"])
        assert out["invalidation_id"]

    diff, _ = cycle(ctx, action, lambda: world.website("old-site"), verify)
    assert seen["after_apply"] == [["/*"]]
    assert _invalidations(world, d["Id"]) == [["/*"], ["/*"]]  # the rollback's own
    assert (f"then invalidates /* in distribution {d['Id']}, so its edges stop answering "
            "the redirect they cached; a rollback invalidates again") in str(diff.note)


def test_a_switch_without_invalidation_says_what_edges_keep(ctx: RunContext,
                                                            world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", "/v1")
    action = Update(Update.Params(id=d["Id"], origin={"path": "/v2"}))
    note = str(action.diff(ctx, action.snapshot(ctx)).note)
    assert "edges keep serving cached pages of the old path until they expire" in note
    assert "add `invalidate: ['/*']`" in note


def _forwards(ctx: RunContext, dist_id: str) -> Any:
    return DistributionCheck(DistributionCheck.Params(id=dist_id, forwards_query=True)).run(ctx)


def test_a_redirect_distribution_must_forward_query_strings(ctx: RunContext,
                                                            world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")  # CachingOptimized: no query strings in the key
    got = _forwards(ctx, d["Id"])
    assert not got.ok
    assert got.summary == (f"distribution {d['Id']}: it does not forward query strings to "
                           "its origin (cache managed policy CachingOptimized leaves them "
                           "out; no origin request policy forwards them)")
    cfg = world.cf.get_distribution_config(Id=d["Id"])
    config = cfg["DistributionConfig"]
    config["DefaultCacheBehavior"]["OriginRequestPolicyId"] = \
        "216adef6-5c7f-47e4-b989-5492eafa07d3"  # AllViewer
    world.cf.update_distribution(Id=d["Id"], IfMatch=cfg["ETag"], DistributionConfig=config)
    assert _forwards(ctx, d["Id"]).ok


def test_legacy_forwarded_values_count(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    cfg = world.cf.get_distribution_config(Id=d["Id"])
    config = cfg["DistributionConfig"]
    behaviour = config["DefaultCacheBehavior"]
    behaviour.pop("CachePolicyId")
    behaviour["ForwardedValues"] = {"QueryString": True, "Cookies": {"Forward": "none"}}
    behaviour["MinTTL"] = 0
    world.cf.update_distribution(Id=d["Id"], IfMatch=cfg["ETag"], DistributionConfig=config)
    got = _forwards(ctx, d["Id"])
    assert got.ok, got.summary
    assert got.observed["forwards_query"] is True
