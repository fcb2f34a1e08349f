"""S3 reads shared by the S3 and CloudFront kinds (private)."""

from __future__ import annotations

from typing import Any

from runbook.context import RunContext
from runbook.kinds.aws.common import call, call_or_none
from runbook.kinds.aws.policy import parse

_NO_KEY = ("404", "NoSuchKey", "NotFound")
_NO_BUCKET = ("404", "NoSuchBucket", "NotFound")


def s3(ctx: RunContext) -> Any:
    return ctx.client("s3")


def bucket_region(ctx: RunContext, bucket: str) -> str:
    got = call(s3(ctx), "get_bucket_location", f"bucket {bucket}", Bucket=bucket)
    return str(got.get("LocationConstraint") or "us-east-1")


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
