from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from runbook.cli.operator import ScriptedOperator
from runbook.context import RunContext
from runbook.errors import AwsError, KindError
from runbook.kinds.aws.cloudfront import (
    AliasFree,
    DistributionCheck,
    Invalidate,
    Update,
)
from runbook.kinds.base import Change

from .conftest import FakeClock, journal
from .lifecycle import cycle
from .world import World

SITE = {"v1/index.html": "<title>TIS Self-Service v1", "v2/index.html": "v2"}


def dcheck(**params: Any) -> DistributionCheck:
    return DistributionCheck(DistributionCheck.Params(**params))


def update(**params: Any) -> Update:
    return Update(Update.Params(**params))


# --- cloudfront.distribution ----------------------------------------------------------


def test_distribution_check_passes(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    cert = world.cert(["*.tis.nhs.uk"])
    d = world.distribution("site-blue", "/v1", ["stage.trainee.tis.nhs.uk"], cert)
    got = dcheck(id=d["Id"], status="Deployed", enabled=True,
                 origin={"bucket": "site-blue", "path": "v1/"},
                 aliases={"contains": ["Stage.Trainee.tis.nhs.uk."]}, certificate=cert,
                 default_root_object="index.html", origin_has="index.html").run(ctx)
    assert got.ok, got.summary
    assert got.summary == (f"distribution {d['Id']} is Deployed, reads "
                           "site-blue.s3.us-east-1.amazonaws.com/v1")


def test_distribution_check_says_every_mismatch(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", "/v1", ["a.example.com"])
    cert = world.config(d["Id"])["ViewerCertificate"]["ACMCertificateArn"]
    got = dcheck(id=d["Id"], origin={"bucket": "site-green", "path": "/v3"},
                 aliases={"exactly": ["b.example.com"]}, certificate="arn:aws:acm:x",
                 enabled=False).run(ctx)
    assert not got.ok
    assert got.summary == (
        f"distribution {d['Id']}: it is enabled; origin reads site-blue, expected bucket "
        "site-green; origin path is /v1, expected /v3; aliases are ['a.example.com'], "
        f"expected ['b.example.com']; certificate is {cert}, expected arn:aws:acm:x")


def test_origin_has_looks_in_the_bucket_the_distribution_reads(
        ctx: RunContext, world: World) -> None:
    """The seed: the pipeline built v3 into the new bucket, CloudFront read the old one."""
    world.bucket("site-blue", SITE)
    world.bucket("site-green", {"v3/index.html": "v3"})
    d = world.distribution("site-blue", "/v3")
    got = dcheck(id=d["Id"], origin_has="index.html").run(ctx)
    assert not got.ok
    assert got.summary == (f"distribution {d['Id']}: s3://site-blue/v3/index.html does not "
                           "exist: the bucket it reads lacks the version its origin path names")


def test_alias_free(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", aliases=["trainee.tis.nhs.uk"])
    other = world.distribution("site-blue")
    taken = AliasFree(AliasFree.Params(alias="TRAINEE.tis.nhs.uk")).run(ctx)
    assert not taken.ok and taken.summary == f"trainee.tis.nhs.uk is already an alias of {d['Id']}"
    assert AliasFree(AliasFree.Params(alias="trainee.tis.nhs.uk", distribution=d["Id"])).run(ctx).ok
    free = AliasFree(AliasFree.Params(alias="stage.trainee.tis.nhs.uk",
                                      distribution=other["Id"])).run(ctx)
    assert free.ok and free.summary.startswith("no other distribution of the account uses "
                                               "stage.trainee.tis.nhs.uk; other accounts not "
                                               "asked")


# --- cloudfront.update ----------------------------------------------------------------


def test_update_adds_an_alias_and_restores(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", aliases=["trainee.tis.nhs.uk"])
    action = update(id=d["Id"], aliases={"add": ["stage.trainee.tis.nhs.uk"]})
    assert action.describe() == f"add stage.trainee.tis.nhs.uk to the aliases of distribution " \
                                f"{d['Id']}"

    def verify(config: Any, out: dict[str, Any]) -> None:
        assert config["Aliases"]["Items"] == ["trainee.tis.nhs.uk", "stage.trainee.tis.nhs.uk"]
        assert out["domain_name"] == d["DomainName"] and out["arn"] == d["ARN"]
        assert out["status"] == "Deployed"

    diff, _ = cycle(ctx, action, lambda: world.config(d["Id"]), verify)
    assert diff.changes == (Change("Aliases.Items", ["trainee.tis.nhs.uk"],
                                   ["trainee.tis.nhs.uk", "stage.trainee.tis.nhs.uk"]),)
    assert diff.note == f"waits up to 30m for distribution {d['Id']} to deploy"


def test_update_switches_origin_bucket_and_path(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    world.bucket("site-green", SITE)
    cert = world.cert(["*.tis.nhs.uk"])
    d = world.distribution("site-blue", "/v1")
    action = update(id=d["Id"], origin={"bucket": "site-green", "path": "/v2"},
                    certificate=cert, default_root_object="index.html", enabled=True)
    diff, _ = cycle(ctx, action, lambda: world.config(d["Id"]))
    paths = {c.path: c.new for c in diff.changes}
    assert paths["Origins.Items[site].DomainName"] == "site-green.s3.us-east-1.amazonaws.com"
    assert paths["Origins.Items[site].OriginPath"] == "/v2"
    assert paths["ViewerCertificate.ACMCertificateArn"] == cert


def test_update_waits_for_deploy_and_times_out(ctx: RunContext, world: World,
                                               clock: FakeClock) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = update(id=d["Id"], enabled=False, timeout="10m")
    cf = ctx.client("cloudfront")
    real = cf.get_distribution(Id=d["Id"])
    in_progress = {**real, "Distribution": {**real["Distribution"], "Status": "InProgress"}}
    snap = journal(action.snapshot(ctx))
    config = cf.get_distribution_config(Id=d["Id"])
    with Stubber(cf) as stub:
        stub.add_response("update_distribution", {"Distribution": real["Distribution"],
                                                  "ETag": "E2"})
        for _ in range(31):  # every 20s for 10 minutes
            stub.add_response("get_distribution", in_progress)
        with pytest.raises(KindError, match=rf"distribution {d['Id']} is still InProgress "
                           "after 10m: the change is saved and CloudFront is still deploying"):
            action.apply(ctx, snap)
    assert clock.now == 600
    assert config  # the stubbed calls never reached moto


def _stale_etag(ctx: RunContext, world: World) -> tuple[Update, dict[str, Any], Stubber, str]:
    """An update whose ETag went stale: someone else renamed the comment meanwhile."""
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = update(id=d["Id"], aliases={"add": ["stage.example.com"]}, wait=False)
    snap = journal(action.snapshot(ctx))
    cf = ctx.client("cloudfront")
    theirs = {**snap["config"], "Comment": "changed by a colleague"}
    dist = cf.get_distribution(Id=d["Id"])
    stub = Stubber(cf)
    stub.add_client_error("update_distribution", "PreconditionFailed",
                          "The If-Match version is missing or not valid", 412)
    stub.add_response("get_distribution_config", {"DistributionConfig": theirs, "ETag": "E9"})
    return action, snap, stub, dist


def test_stale_etag_asks_and_applies_on_top(ctx: RunContext, world: World,
                                            operator: ScriptedOperator) -> None:
    action, snap, stub, dist = _stale_etag(ctx, world)
    theirs = {**snap["config"], "Comment": "changed by a colleague"}
    ours = {**theirs, "Aliases": {"Quantity": 1, "Items": ["stage.example.com"]}}
    operator.answers.append(True)
    with stub:
        stub.add_response("update_distribution", {"Distribution": dist["Distribution"],
                                                  "ETag": "E10"},
                          {"Id": action.params.id, "IfMatch": "E9", "DistributionConfig": ours})
        stub.add_response("get_distribution", dist)
        stub.add_response("get_distribution", dist)
        stub.add_response("get_distribution_config", {"DistributionConfig": ours, "ETag": "E10"})
        out = action.apply(ctx, snap)
        stub.assert_no_pending_responses()
    assert out["base_config"]["Comment"] == "changed by a colleague"  # restore stops there
    assert out["etag"] == "E10"
    assert operator.asked == [
        f"distribution {action.params.id} was changed by someone else after this step read it "
        "(Comment: 'test' -> 'changed by a colleague'). Apply this step on top of it "
        "(Aliases.Items: [] -> ['stage.example.com'])?"]


def test_stale_etag_without_a_person_fails(ctx: RunContext, world: World,
                                           operator: ScriptedOperator) -> None:
    action, snap, stub, _ = _stale_etag(ctx, world)
    operator.interactive = False
    with stub, pytest.raises(KindError, match=r"was changed by someone else after this step "
                             r"read it \(Comment: 'test' -> 'changed by a colleague'\)\. Not "
                             r"applying on top of a change nobody reviewed"):
        action.apply(ctx, snap)


def test_stale_etag_declined(ctx: RunContext, world: World, operator: ScriptedOperator) -> None:
    action, snap, stub, _ = _stale_etag(ctx, world)
    operator.answers.append(False)
    with stub, pytest.raises(KindError, match="the operator declined to apply on top of it"):
        action.apply(ctx, snap)


def test_cname_already_exists_is_explained(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = update(id=d["Id"], aliases={"add": ["trainee.tis.nhs.uk"]})
    snap = journal(action.snapshot(ctx))
    with Stubber(ctx.client("cloudfront")) as stub:
        stub.add_client_error("update_distribution", "CNAMEAlreadyExists",
                              "One or more of the CNAMEs you provided are already associated "
                              "with a different resource.", 409)
        with pytest.raises(AwsError, match=r"CloudFront refused the aliases of distribution "
                           rf"{d['Id']} \(trainee.tis.nhs.uk\): one is already used by another "
                           "distribution, possibly in another account"):
            action.apply(ctx, snap)


def test_update_drift_guard(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = update(id=d["Id"], default_root_object="index.htm")
    out = journal(action.apply(ctx, journal(action.snapshot(ctx))))
    assert action.drifted(ctx, out) is None
    cf = ctx.client("cloudfront")
    got = cf.get_distribution_config(Id=d["Id"])
    cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"],
                           DistributionConfig={**got["DistributionConfig"], "Enabled": False})
    assert action.drifted(ctx, out) == (f"distribution {d['Id']} changed since this run applied "
                                        "it: Enabled is now False, was True")


# --- cloudfront.invalidate ------------------------------------------------------------


def test_invalidate(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = Invalidate(Invalidate.Params(id=d["Id"], paths=["/index.html", "/v1/*"]))
    assert not Invalidate.reversible and "nothing to put back" in Invalidate.irreversible_reason
    assert action.describe() == f"invalidate /index.html, /v1/* in distribution {d['Id']}"
    out = journal(action.apply(ctx, action.snapshot(ctx)))
    assert out["status"].lower() == "completed" and out["invalidation_id"]


def test_invalidate_polls_until_completed(ctx: RunContext, world: World,
                                          clock: FakeClock) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = Invalidate(Invalidate.Params(id=d["Id"], every="10s"))
    inv = {"Id": "I1", "Status": "InProgress", "CreateTime": "2026-01-01T00:00:00Z",
           "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/*"]},
                                 "CallerReference": "x"}}
    with Stubber(ctx.client("cloudfront")) as stub:
        stub.add_response("create_invalidation", {"Location": "x", "Invalidation": inv}, {
            "DistributionId": d["Id"], "InvalidationBatch": {
                "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "runbook-r-1"}})
        stub.add_response("get_invalidation", {"Invalidation": inv})
        stub.add_response("get_invalidation", {"Invalidation": {**inv, "Status": "Completed"}})
        out = action.apply(ctx, {"caller_reference": "runbook-r-1"})
    assert out == {"invalidation_id": "I1", "status": "Completed"}
    assert clock.now == 10


def test_restore_after_a_crash_uses_the_snapshot_alone(ctx: RunContext, world: World) -> None:
    """Killed after UpdateDistribution, before the outputs reached the journal."""
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", "/v1")
    before = world.config(d["Id"])
    action = update(id=d["Id"], origin={"path": "/v2"})
    snap = journal(action.snapshot(ctx))
    action.apply(ctx, snap)
    assert world.config(d["Id"])["Origins"]["Items"][0]["OriginPath"] == "/v2"
    update(id=d["Id"], origin={"path": "/v2"}).restore(ctx, snap, {})
    assert world.config(d["Id"]) == before


def test_invalidation_caller_reference(ctx: RunContext, world: World) -> None:
    """AWS answers a repeated reference with the first invalidation: a resumed run must
    ask with the same one, and the snapshot must not change unless the world did (resume
    compares snapshots); after an update of the distribution, a new one."""
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = Invalidate(Invalidate.Params(id=d["Id"]))
    one = action.snapshot(ctx)
    assert one == action.snapshot(ctx)
    assert one["caller_reference"].startswith("runbook-run-42-")
    other = Invalidate(Invalidate.Params(id=d["Id"], paths=["/index.html"])).snapshot(ctx)
    assert other["caller_reference"] != one["caller_reference"]


def test_update_will_not_turn_a_custom_origin_into_a_bucket(ctx: RunContext,
                                                            world: World) -> None:
    world.bucket("site-blue", SITE)
    cf = ctx.client("cloudfront")
    d = world.distribution("site-blue")
    got = cf.get_distribution_config(Id=d["Id"])
    origin = {**got["DistributionConfig"]["Origins"]["Items"][0],
              "DomainName": "old-site.s3-website-us-east-1.amazonaws.com",
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                     "OriginProtocolPolicy": "http-only"}}
    cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"], DistributionConfig={
        **got["DistributionConfig"], "Origins": {"Quantity": 1, "Items": [origin]}})
    action = update(id=d["Id"], origin={"bucket": "site-blue"})
    with pytest.raises(KindError, match=r"is a custom origin \(old-site\.s3-website-us-east-1"
                       r"\.amazonaws\.com\); pointing it at bucket site-blue needs S3"):
        action.diff(ctx, journal(action.snapshot(ctx)))


def test_aliases_set_and_remove(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue", aliases=["a.example.com", "b.example.com"])
    remove = update(id=d["Id"], aliases={"remove": ["B.example.com"]}, wait=False)
    assert remove.describe() == f"remove B.example.com from the aliases of distribution {d['Id']}"
    diff, _ = cycle(ctx, remove, lambda: world.config(d["Id"]))
    assert diff.changes == (Change("Aliases.Items", ["a.example.com", "b.example.com"],
                                   ["a.example.com"]),)
    clear = update(id=d["Id"], aliases={"set": []})
    diff, _ = cycle(ctx, clear, lambda: world.config(d["Id"]))
    assert diff.changes == (Change("Aliases.Items", ["a.example.com", "b.example.com"], None),)


def test_update_describes_every_part() -> None:
    action = update(id="E2STAGE", origin={"bucket": "green", "path": "v2"},
                    certificate="arn:c", default_root_object="index.html", enabled=False)
    assert action.describe() == ("point the origin of distribution E2STAGE at bucket green; "
                                 "set its origin path to /v2; serve certificate arn:c; set the "
                                 "default root object to index.html; disable distribution "
                                 "E2STAGE")
    with pytest.raises(ValueError, match="give at least one of origin, aliases"):
        Update.Params(id="E1")


def test_stale_etag_when_the_change_is_already_there(ctx: RunContext, world: World,
                                                     operator: ScriptedOperator) -> None:
    """E.g. a first attempt wrote it and died: no question, no second write."""
    world.bucket("site-blue", SITE)
    d = world.distribution("site-blue")
    action = update(id=d["Id"], enabled=False, wait=False)
    snap = journal(action.snapshot(ctx))
    cf = ctx.client("cloudfront")
    dist = cf.get_distribution(Id=d["Id"])
    ours = {**snap["config"], "Enabled": False}
    with Stubber(cf) as stub:
        stub.add_client_error("update_distribution", "PreconditionFailed", "stale", 412)
        stub.add_response("get_distribution_config", {"DistributionConfig": ours, "ETag": "E7"})
        stub.add_response("get_distribution", dist)
        stub.add_response("get_distribution", dist)
        stub.add_response("get_distribution_config", {"DistributionConfig": ours, "ETag": "E7"})
        out = action.apply(ctx, snap)
        stub.assert_no_pending_responses()
    assert operator.asked == [] and "base_config" not in out


def test_invalidation_paths_must_start_with_a_slash(cli: Any, tmp_path: Any) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("""\
runbook: 1
name: purge
title: Purge the caches
environments: {stage: {}}
stages:
  - name: purge
    title: Purge
    steps:
      - id: purge
        action:
          cloudfront.invalidate: {id: E1, paths: ["/index.html", "v1/*"]}
        post:
          - cloudfront.distribution: {id: E1}
""")
    r = cli("validate", str(plan))
    assert r.code == 2
    assert "invalidation paths must start with / (CloudFront refuses others with " \
        "InvalidArgument): v1/*; write /v1/*" in r.stderr
    assert "plan.yaml, line 11" in r.stderr
