"""S3 reads shared by the S3 and CloudFront kinds (private)."""

from __future__ import annotations

from typing import Any

from runbook.context import RunContext
from runbook.kinds.aws.common import call, call_or_none
from runbook.kinds.aws.policy import parse

_NO_KEY = ("404", "NoSuchKey", "NotFound")
_NO_BUCKET = ("404", "NoSuchBucket", "NotFound")


# The regions whose S3 website endpoint is written with a dash (s3-website-REGION); every
# other region uses a dot (s3-website.REGION). From AWS's table of website endpoints.
_DASH_WEBSITE = frozenset({"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1",
                           "ap-southeast-2", "ap-northeast-1", "eu-west-1", "sa-east-1",
                           "us-gov-west-1"})


def s3(ctx: RunContext, region: str | None = None) -> Any:
    return ctx.client("s3", region=region) if region else ctx.client("s3")


def bucket_region(ctx: RunContext, bucket: str) -> str:
    """The bucket's region from HeadBucket's ``x-amz-bucket-region`` (botocore:
    ``BucketRegion``). GetBucketLocation is only the fallback: it answers ``EU`` for old
    eu-west-1 buckets and nothing for us-east-1."""
    return _region(ctx, bucket, call(s3(ctx), "head_bucket", f"bucket {bucket}",
                                     Bucket=bucket))


def region_if_exists(ctx: RunContext, bucket: str) -> str | None:
    """Like :func:`bucket_region`, but None when there is no such bucket."""
    got = call_or_none(s3(ctx), "head_bucket", f"bucket {bucket}", missing=_NO_BUCKET,
                       Bucket=bucket)
    return None if got is None else _region(ctx, bucket, got)


def _region(ctx: RunContext, bucket: str, head: dict[str, Any]) -> str:
    region = head.get("BucketRegion")
    if region:
        return str(region)
    loc = call(s3(ctx), "get_bucket_location", f"bucket {bucket}", Bucket=bucket)
    constraint = str(loc.get("LocationConstraint") or "us-east-1")
    return "eu-west-1" if constraint == "EU" else constraint


def website_domain(bucket: str, region: str) -> str:
    """The S3 website endpoint of a bucket, spelt as AWS spells it in that region."""
    sep = "-" if region in _DASH_WEBSITE else "."
    return f"{bucket}.s3-website{sep}{region}.amazonaws.com"


def head(ctx: RunContext, bucket: str, key: str) -> dict[str, Any] | None:
    return call_or_none(s3(ctx), "head_object", f"s3://{bucket}/{key}", missing=_NO_KEY,
                        Bucket=bucket, Key=key)


def bucket_exists(ctx: RunContext, bucket: str) -> bool:
    return call_or_none(s3(ctx), "head_bucket", f"bucket {bucket}", missing=_NO_BUCKET,
                        Bucket=bucket) is not None


def get_policy(ctx: RunContext, bucket: str) -> dict[str, Any] | None:
    got = call_or_none(s3(ctx), "get_bucket_policy", f"bucket {bucket}",
                       missing=("NoSuchBucketPolicy",), Bucket=bucket)
    return parse(got["Policy"]) if got else None
