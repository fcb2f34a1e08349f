from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.aws.s3 import CloudFrontCanRead, S3Bucket, S3Object
from runbook.kinds.aws.s3copy import S3Copy
from runbook.kinds.aws.s3site import S3BucketPolicy, S3Redirect
from runbook.kinds.base import Change

from .conftest import journal
from .lifecycle import cycle
from .world import OAI_ID, World

SITE = {"v1/index.html": "<title>TIS Self-Service v1", "v1/app.js": "js"}


def check(kind: Any, **params: Any) -> Any:
    return kind(kind.Params(**params))


# --- s3.object ------------------------------------------------------------------------


def test_object_check_passes_and_fails(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    ok = check(S3Object, bucket="site-blue", key="v1/index.html").run(ctx)
    assert ok.ok and ok.summary.startswith("s3://site-blue/v1/index.html exists")
    bad = check(S3Object, bucket="site-blue", key="v2/index.html").run(ctx)
    assert not bad.ok and bad.summary == "no object at s3://site-blue/v2/index.html"
    assert check(S3Object, bucket="site-blue", prefix="v1/").run(ctx).ok
    assert check(S3Object, bucket="site-blue", prefix="v9/", absent=True).run(ctx).ok
    gone = check(S3Object, bucket="site-blue", key="v1/app.js", absent=True).run(ctx)
    assert gone.summary == "s3://site-blue/v1/app.js exists, expected it absent"
    nob = check(S3Object, bucket="site-none", key="x").run(ctx)
    assert nob.summary == "bucket site-none does not exist"


def test_object_params_need_key_or_prefix() -> None:
    with pytest.raises(ValueError, match="exactly one of `key` or `prefix`"):
        S3Object.Params(bucket="b", key="a", prefix="b")
    with pytest.raises(ValueError, match="must not be empty"):
        S3Object.Params(bucket="b", prefix="")


# --- s3.cloudfront_can_read -----------------------------------------------------------


def _grant(ctx: RunContext, bucket: str, dist: str) -> None:
    action = S3BucketPolicy(S3BucketPolicy.Params(bucket=bucket, allow_cloudfront=dist))
    action.apply(ctx, action.snapshot(ctx))


def test_can_read_passes_with_the_oac_statement(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    dist = world.distribution("site-blue")
    _grant(ctx, "site-blue", dist["Id"])
    got = check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"]).run(ctx)
    assert got.ok, got.summary
    assert got.summary == (f"{dist['Id']} may read site-blue: statement "
                           f"AllowCloudFrontRead{dist['Id']} (OAC)")


def test_can_read_fails_when_the_origin_signs_nothing(strict: RunContext) -> None:
    """Through the twin, which reads an origin back as AWS does whatever moto keeps."""
    world = World(strict)
    world.bucket("site-blue", SITE)
    dist = world.distribution("site-blue", access="none")
    _grant(strict, "site-blue", dist["Id"])
    got = check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"]).run(strict)
    assert not got.ok
    assert got.summary.endswith(
        "grants the distribution through origin access control, but its origin has none "
        "(requests unsigned or signed by an OAI); the origin site has no origin access "
        "control or identity: CloudFront's requests are unsigned, and a private bucket "
        "answers them 403")


def test_can_read_passes_with_an_oai_statement(strict: RunContext) -> None:
    world = World(strict)
    world.bucket("site-blue", SITE)
    dist = world.distribution("site-blue", access="oai")
    world.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "Legacy", "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::site-blue/*", "Principal": {
                "AWS": f"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "
                       f"{OAI_ID}"}}]}))
    got = check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"]).run(strict)
    assert got.ok, got.summary
    assert got.summary == f"{dist['Id']} may read site-blue: statement Legacy (OAI)"


def test_can_read_says_the_bucket_has_no_policy(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    dist = world.distribution("site-blue")
    got = check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"]).run(ctx)
    assert not got.ok
    assert got.summary == ("bucket site-blue has no bucket policy, so nothing lets CloudFront "
                           f"read it; grant it with s3.bucket_policy allow_cloudfront: "
                           f"{dist['Id']}")


def test_can_read_names_the_policy_granting_another_distribution(
        ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    old = world.distribution("site-blue")
    new = world.distribution("site-blue")
    _grant(ctx, "site-blue", old["Id"])
    got = check(CloudFrontCanRead, bucket="site-blue", distribution=new["Id"]).run(ctx)
    assert not got.ok
    assert f"does not let {new['Id']}" in got.summary
    assert f"lets CloudFront read, but only for {old['ARN']}" in got.summary


def test_can_read_says_the_distribution_reads_another_bucket(
        ctx: RunContext, world: World) -> None:
    """The seed's second outage: CloudFront pointed at the old bucket."""
    world.bucket("site-blue", SITE)
    world.bucket("site-green", SITE)
    dist = world.distribution("site-blue")
    got = check(CloudFrontCanRead, bucket="site-green", distribution=dist["Id"]).run(ctx)
    assert got.summary == (f"distribution {dist['Id']} does not read bucket site-green: its "
                           "origin is site-blue.s3.us-east-1.amazonaws.com")
    assert got.outcome == "wrong-origin"


def test_can_read_fails_on_object_writer_ownership(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE, ownership="ObjectWriter")
    dist = world.distribution("site-blue")
    _grant(ctx, "site-blue", dist["Id"])
    got = check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"]).run(ctx)
    assert not got.ok and "object ownership of site-blue is ObjectWriter" in got.summary
    assert check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"],
                 check_ownership=False).run(ctx).ok


# --- s3.bucket ------------------------------------------------------------------------


def test_bucket_lifecycle(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    dist = world.distribution("site-blue")
    action = S3Bucket(S3Bucket.Params(bucket="site-green", allow_cloudfront=dist["Id"]))
    assert action.describe() == f"create private bucket site-green readable by distribution " \
                                f"{dist['Id']}"

    def verify(_: Any, out: dict[str, Any]) -> None:
        assert out["created"] is True
        assert out["origin_domain"] == "site-green.s3.us-east-1.amazonaws.com"
        pab = world.s3.get_public_access_block(Bucket="site-green")
        assert all(pab["PublicAccessBlockConfiguration"].values())
        rules = world.s3.get_bucket_ownership_controls(Bucket="site-green")
        assert rules["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
        assert check(CloudFrontCanRead, bucket="site-green",
                     distribution=dist["Id"]).run(ctx).ok is False  # origin still blue
        policy = world.policy("site-green")
        assert policy and policy["Statement"][0]["Condition"]["StringEquals"] == {
            "AWS:SourceArn": dist["ARN"]}

    diff, _ = cycle(ctx, action, world.buckets, verify)
    assert Change("bucket site-green.ObjectOwnership", None, "BucketOwnerEnforced") \
        in diff.changes


def test_bucket_restore_refuses_to_delete_data(ctx: RunContext, world: World) -> None:
    action = S3Bucket(S3Bucket.Params(bucket="site-green"))
    snap = journal(action.snapshot(ctx))
    out = journal(action.apply(ctx, snap))
    world.s3.put_object(Bucket="site-green", Key="v1/index.html", Body=b"x")
    with pytest.raises(KindError, match=r"bucket site-green was created by this run but now "
                       r"holds objects \(v1/index.html\); runbook does not delete data"):
        action.restore(ctx, snap, out)
    assert "site-green" in world.buckets()


def test_bucket_that_exists_is_left_alone(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    action = S3Bucket(S3Bucket.Params(bucket="site-blue"))
    snap = journal(action.snapshot(ctx))
    diff = action.diff(ctx, snap)
    assert diff.empty and "exists already" in (diff.note or "")
    out = action.apply(ctx, snap)
    assert out["created"] is False
    action.restore(ctx, snap, out)
    assert world.keys("site-blue") != {}


# --- s3.bucket_policy -----------------------------------------------------------------

OTHER = {"Sid": "KeepMe", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::site-blue"}


@pytest.mark.parametrize("existing", [None, {"Version": "2012-10-17", "Statement": [OTHER]}])
def test_bucket_policy_lifecycle(ctx: RunContext, world: World,
                                 existing: dict[str, Any] | None) -> None:
    world.bucket("site-blue", SITE)
    dist = world.distribution("site-blue")
    if existing:
        world.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps(existing))
    action = S3BucketPolicy(S3BucketPolicy.Params(bucket="site-blue",
                                                  allow_cloudfront=dist["Id"]))
    assert action.describe() == f"let distribution {dist['Id']} read bucket site-blue (OAC)"

    def verify(policy: Any, out: dict[str, Any]) -> None:
        assert out["sid"] == f"AllowCloudFrontRead{dist['Id']}"
        sids = [s["Sid"] for s in policy["Statement"]]
        assert sids == ([] if existing is None else ["KeepMe"]) + [out["sid"]]
        assert check(CloudFrontCanRead, bucket="site-blue", distribution=dist["Id"]).run(ctx).ok

    diff, _ = cycle(ctx, action, lambda: world.policy("site-blue"), verify)
    if existing:
        assert [c.path for c in diff.changes] == [
            f"policy.Statement[AllowCloudFrontRead{dist['Id']}]"]


def test_bucket_policy_drift_is_reported(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    action = S3BucketPolicy(S3BucketPolicy.Params(
        bucket="site-blue", policy={"Version": "2012-10-17", "Statement": [OTHER]}))
    out = journal(action.apply(ctx, journal(action.snapshot(ctx))))
    world.s3.delete_bucket_policy(Bucket="site-blue")
    assert action.drifted(ctx, out) == ("the policy of bucket site-blue changed since this run "
                                        "applied it: (value) is now None, was "
                                        f"{out['policy']!r}")


# --- s3.redirect ----------------------------------------------------------------------


@pytest.mark.parametrize("existing", [None, {"IndexDocument": {"Suffix": "index.html"}}])
def test_redirect_lifecycle(ctx: RunContext, world: World,
                            existing: dict[str, Any] | None) -> None:
    world.bucket("old-site")
    if existing:
        world.s3.put_bucket_website(Bucket="old-site", WebsiteConfiguration=existing)
    action = S3Redirect(S3Redirect.Params(bucket="old-site", to="trainee.tis.nhs.uk"))
    assert action.describe() == ("redirect every request to bucket old-site's website to "
                                 "https://trainee.tis.nhs.uk (301, which browsers and edges "
                                 "cache)")

    def verify(website: Any, out: dict[str, Any]) -> None:
        assert website["RedirectAllRequestsTo"] == {"HostName": "trainee.tis.nhs.uk",
                                                    "Protocol": "https"}
        assert out["website_domain"] == "old-site.s3-website-us-east-1.amazonaws.com"

    said: list[str] = []
    diff, _ = cycle(replace(ctx, note=lambda text, **_: said.append(text)), action,
                    lambda: world.website("old-site"), verify)
    assert diff.note == ("the redirect is a 301 (permanent): browsers cache it without expiry "
                         "and CloudFront's edges for their TTL, so a rollback does not reach "
                         "clients that already followed it")
    assert said == ["bucket old-site's website no longer answers the 301, but browsers that "
                    "followed it keep it without expiry and keep going to trainee.tis.nhs.uk "
                    "until their caches let go; CloudFront's edges keep it for their TTL "
                    "unless the distribution in front of the website is invalidated (give "
                    "`distribution` to have it done)"]
    if existing:
        assert Change("website.RedirectAllRequestsTo", None,
                      {"HostName": "trainee.tis.nhs.uk", "Protocol": "https"}) in diff.changes


def test_a_302_redirect_is_a_routing_rule_without_the_cache_warning(
        ctx: RunContext, world: World) -> None:
    world.bucket("old-site")
    action = S3Redirect(S3Redirect.Params(bucket="old-site", to="trainee.tis.nhs.uk",
                                          status=302))
    assert action.describe().endswith("(302, which browsers do not cache)")

    def verify(website: Any, out: dict[str, Any]) -> None:
        assert "RedirectAllRequestsTo" not in website
        assert website["RoutingRules"] == [{"Redirect": {
            "HostName": "trainee.tis.nhs.uk", "Protocol": "https", "HttpRedirectCode": "302"}}]

    said: list[str] = []
    diff, _ = cycle(replace(ctx, note=lambda text, **_: said.append(text)), action,
                    lambda: world.website("old-site"), verify)
    assert diff.note is None
    assert said == []  # a 302 leaves nothing in browsers to warn about


# --- s3.copy --------------------------------------------------------------------------


def test_copy_lifecycle_keeps_keys_that_existed(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", {**SITE, "v1/extra.css": "css"})
    world.bucket("site-green", {"v1/index.html": SITE["v1/index.html"], "v0/old": "x"})
    action = S3Copy(S3Copy.Params(source_bucket="site-blue", source_prefix="v1/",
                                  bucket="site-green"))

    def verify(keys: Any, out: dict[str, Any]) -> None:
        assert sorted(out["created"]) == ["v1/app.js", "v1/extra.css"]
        assert set(keys) == {"v0/old", "v1/index.html", "v1/app.js", "v1/extra.css"}

    diff, _ = cycle(ctx, action, lambda: world.keys("site-green"), verify)
    assert [c.path for c in diff.changes] == ["s3://site-green/v1/app.js",
                                              "s3://site-green/v1/extra.css"]
    assert diff.note == "1 identical objects already there"


def test_copy_refuses_to_overwrite(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    world.bucket("site-green", {"v1/index.html": "something else"})
    action = S3Copy(S3Copy.Params(source_bucket="site-blue", source_prefix="v1/",
                                  bucket="site-green"))
    snap = journal(action.snapshot(ctx))
    with pytest.raises(KindError, match=r"1 objects under s3://site-green/v1/ differ from the "
                       r"source \(index.html\); s3.copy never overwrites"):
        action.apply(ctx, snap)
    assert world.keys("site-green").keys() == {"v1/index.html"}


def test_copy_restore_after_a_crash_uses_the_snapshot_alone(
        ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    world.bucket("site-green")
    action = S3Copy(S3Copy.Params(source_bucket="site-blue", source_prefix="v1/",
                                  bucket="site-green", prefix="v2/"))
    snap = journal(action.snapshot(ctx))
    world.s3.copy_object(Bucket="site-green", Key="v2/app.js",  # half done, then killed
                         CopySource={"Bucket": "site-blue", "Key": "v1/app.js"})
    S3Copy(action.params).restore(ctx, snap, {})
    assert world.keys("site-green") == {}


def test_can_read_before_the_switch(ctx: RunContext, world: World) -> None:
    """cloudfront-switch-origin's pre check: the new bucket grants the distribution that
    does not read it yet."""
    world.bucket("site-blue", SITE)
    world.bucket("site-green", SITE)
    dist = world.distribution("site-blue")
    params = {"bucket": "site-green", "distribution": dist["Id"], "in_use": False}
    got = check(CloudFrontCanRead, **params).run(ctx)
    assert got.summary.startswith("bucket site-green has no bucket policy")
    _grant(ctx, "site-green", dist["Id"])
    assert check(CloudFrontCanRead, **params).run(ctx).ok


def test_bucket_apply_resumed_after_a_crash_finishes_the_job(ctx: RunContext,
                                                            world: World) -> None:
    action = S3Bucket(S3Bucket.Params(bucket="site-green"))
    snap = journal(action.snapshot(ctx))
    world.s3.create_bucket(Bucket="site-green")  # the first attempt got this far
    out = action.apply(ctx, snap)
    assert out["created"] is True
    pab = world.s3.get_public_access_block(Bucket="site-green")
    assert all(pab["PublicAccessBlockConfiguration"].values())
    action.restore(ctx, snap, journal(out))
    assert "site-green" not in world.buckets()


def test_bucket_name_taken_by_another_account(ctx: RunContext) -> None:
    from botocore.stub import Stubber

    from runbook.errors import AwsError

    action = S3Bucket(S3Bucket.Params(bucket="tis-trainee-ui"))
    with Stubber(ctx.client("s3")) as stub:
        stub.add_client_error("head_bucket", "403", "Forbidden", 403)
        with pytest.raises(AwsError, match="bucket tis-trainee-ui exists but this account may "
                           "not see it: bucket names are global"):
            action.snapshot(ctx)


def test_policies_that_mean_the_same_compare_equal() -> None:
    action = S3BucketPolicy(S3BucketPolicy.Params(bucket="b", allow_cloudfront="E1"))
    written = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
        "Principal": {"Service": "cloudfront.amazonaws.com"}}]}
    stored = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"],
        "Principal": {"Service": ["cloudfront.amazonaws.com"]}}]}
    assert action._same(written, stored)
    assert not action._same(written, None)


def test_drift_of_redirect_copy_and_bucket(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue", SITE)
    world.bucket("old-site")
    redirect = S3Redirect(S3Redirect.Params(bucket="old-site", to="trainee.tis.nhs.uk"))
    out = journal(redirect.apply(ctx, journal(redirect.snapshot(ctx))))
    world.s3.put_bucket_website(Bucket="old-site", WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "elsewhere.example.com", "Protocol": "https"}})
    assert redirect.drifted(ctx, out) == (
        "the website of bucket old-site changed since this run applied it: "
        "RedirectAllRequestsTo.HostName is now 'elsewhere.example.com', was "
        "'trainee.tis.nhs.uk'")

    copy = S3Copy(S3Copy.Params(source_bucket="site-blue", source_prefix="v1/",
                                bucket="old-site"))
    out = journal(copy.apply(ctx, journal(copy.snapshot(ctx))))
    world.s3.delete_object(Bucket="old-site", Key="v1/app.js")
    assert copy.drifted(ctx, out) == "1 objects this run copied are gone from old-site: v1/app.js"

    bucket = S3Bucket(S3Bucket.Params(bucket="site-green"))
    out = journal(bucket.apply(ctx, journal(bucket.snapshot(ctx))))
    assert bucket.drifted(ctx, out) is None
    world.s3.delete_bucket(Bucket="site-green")
    assert bucket.drifted(ctx, out) == "bucket site-green no longer exists"


def test_bucket_in_another_region(ctx: RunContext, world: World) -> None:
    action = S3Bucket(S3Bucket.Params(bucket="site-london", region="eu-west-2"))

    def verify(_: Any, out: dict[str, Any]) -> None:
        assert out["region"] == "eu-west-2"
        assert out["origin_domain"] == "site-london.s3.eu-west-2.amazonaws.com"
        got = world.s3.get_bucket_location(Bucket="site-london")
        assert got["LocationConstraint"] == "eu-west-2"

    cycle(ctx, action, world.buckets, verify)
