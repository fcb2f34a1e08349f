"""Block Public Access as S3 applies it to a bucket CloudFront reads through a public
statement: RestrictPublicBuckets (of the bucket, or of the account through s3control)
cancels the public grant; BlockPublicPolicy only refuses new public policies and leaves
the one in place working."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from runbook.context import RunContext
from runbook.kinds.aws.s3 import CloudFrontCanRead

from .world import World

PUBLIC = {"Version": "2012-10-17", "Statement": [{
    "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site-blue/*"}]}


def _public_site(world: World, **blocks: bool) -> dict[str, Any]:
    world.bucket("site-blue", {"v1/index.html": "v1"})
    # an old public site: its origin signs nothing, and the public statement answers it
    dist = world.distribution("site-blue", access="none")
    world.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps(PUBLIC))
    if blocks:  # after the policy, as on an old bucket whose owner turned blocks on later
        world.s3.put_public_access_block(Bucket="site-blue",
                                         PublicAccessBlockConfiguration=blocks)
    return dist


def _can_read(ctx: RunContext, dist: dict[str, Any]) -> Any:
    return CloudFrontCanRead(CloudFrontCanRead.Params(
        bucket="site-blue", distribution=dist["Id"], check_ownership=False)).run(ctx)


def test_block_public_policy_leaves_an_existing_public_policy_working(
        ctx: RunContext, world: World) -> None:
    dist = _public_site(world, BlockPublicPolicy=True)
    got = _can_read(ctx, dist)
    assert got.ok, got.summary
    assert got.observed["public_access_block"] is None


def test_restrict_public_buckets_cancels_the_public_grant(ctx: RunContext,
                                                          world: World) -> None:
    dist = _public_site(world, RestrictPublicBuckets=True)
    got = _can_read(ctx, dist)
    assert not got.ok
    assert got.summary == ("only a public statement grants the read, and "
                           "RestrictPublicBuckets in the public access block of bucket "
                           "site-blue cancels it")


def test_the_accounts_restrict_public_buckets_counts_too(ctx: RunContext,
                                                         world: World) -> None:
    """moto's s3control cannot be reached at its account-prefixed host name on loopback,
    hence the Stubber for the account's settings."""
    dist = _public_site(world)
    control = ctx.client("s3control")
    with Stubber(control) as stub:
        stub.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": {
            "RestrictPublicBuckets": True}}, {"AccountId": "123456789012"})
        got = _can_read(ctx, dist)
    assert not got.ok
    assert got.summary.endswith("RestrictPublicBuckets in the account's public access block "
                                "(account 123456789012) cancels it")
