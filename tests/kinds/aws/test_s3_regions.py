"""Buckets in other regions as S3 has them: created through an endpoint of their own
region (S3 refuses any other: the sandbox proxy refuses it too, moto does not), their
region read from HeadBucket, their website endpoint spelt as AWS spells it there."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from runbook.context import RunContext
from runbook.kinds.aws.s3 import S3Bucket
from runbook.kinds.aws.s3common import bucket_region, website_domain

from .lifecycle import cycle
from .world import World


def test_a_bucket_in_another_region_is_created_through_that_region(
        strict: RunContext, world: World) -> None:
    assert strict.aws.region == "us-east-1"
    action = S3Bucket(S3Bucket.Params(bucket="site-london", region="eu-west-2"))

    def verify(_: Any, out: dict[str, Any]) -> None:
        assert out["region"] == "eu-west-2"
        got = world.s3.head_bucket(Bucket="site-london")
        assert got["BucketRegion"] == "eu-west-2"

    cycle(strict, action, world.buckets, verify)


def test_the_twin_refuses_a_location_constraint_of_another_region(strict: RunContext) -> None:
    """What S3 does, and what the kind used to send: a us-east-1 client asking for a
    eu-west-2 bucket."""
    client = strict.client("s3")
    with pytest.raises(ClientError) as err:
        client.create_bucket(Bucket="site-paris",
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    assert err.value.response["Error"]["Code"] == "IllegalLocationConstraintException"
    assert "site-paris" not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_bucket_region_comes_from_head_bucket(ctx: RunContext, world: World) -> None:
    world.s3.create_bucket(Bucket="site-old")
    s3 = ctx.client("s3")
    with Stubber(s3) as stub:
        stub.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": "site-old"})
        assert bucket_region(ctx, "site-old") == "eu-west-1"
        # an old eu-west-1 bucket without the header: GetBucketLocation says "EU"
        stub.add_response("head_bucket", {}, {"Bucket": "site-old"})
        stub.add_response("get_bucket_location", {"LocationConstraint": "EU"},
                          {"Bucket": "site-old"})
        assert bucket_region(ctx, "site-old") == "eu-west-1"


@pytest.mark.parametrize(("region", "domain"), [
    ("us-east-1", "b.s3-website-us-east-1.amazonaws.com"),
    ("eu-west-1", "b.s3-website-eu-west-1.amazonaws.com"),
    ("ap-southeast-2", "b.s3-website-ap-southeast-2.amazonaws.com"),
    ("eu-west-2", "b.s3-website.eu-west-2.amazonaws.com"),
    ("eu-central-1", "b.s3-website.eu-central-1.amazonaws.com"),
    ("ap-south-1", "b.s3-website.ap-south-1.amazonaws.com"),
])
def test_website_endpoints_are_spelt_per_region(region: str, domain: str) -> None:
    assert website_domain("b", region) == domain
