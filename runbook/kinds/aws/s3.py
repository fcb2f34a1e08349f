"""S3: checks that objects are there and that CloudFront may read them; actions that
create a site bucket, grant a distribution read access, redirect a bucket's website,
and copy a built app version between buckets.

Every action records in its snapshot what it will change (the old policy, the old
website configuration, the keys that already existed) so that restore works from the
journal alone, in another process.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import Field, model_validator

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.common import (
    AwsApiError,
    account_of,
    bucket_arn,
    bucket_of,
    call,
    call_or_none,
    deep_diff,
    default_origin,
    describe_drift,
    is_website_domain,
    items,
    missing_fails,
    origin_key,
    read_distribution,
)
from runbook.kinds.aws.policy import (
    canonical,
    oac_statement,
    read,
    with_statement,
)
from runbook.kinds.aws.s3common import bucket_exists, bucket_region, get_policy, head, s3
from runbook.kinds.base import Action, Change, Check, CheckResult, Diff, Outputs, Params, Snapshot

_BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


# --- checks ---------------------------------------------------------------------------


class S3ObjectParams(Params):
    bucket: str = Field(description="bucket name")
    key: str | None = Field(None, description="object key that must exist")
    prefix: str | None = Field(None, description="non-empty prefix: some object under it")
    absent: bool = Field(False, description="pass when the object (or prefix) is NOT there")

    @model_validator(mode="after")
    def _one(self) -> S3ObjectParams:
        if (self.key is None) == (self.prefix is None):
            raise ValueError("give exactly one of `key` or `prefix`")
        if not (self.key or self.prefix):
            raise ValueError("`key` / `prefix` must not be empty")
        return self


@register
class S3Object(Check[S3ObjectParams]):
    kind = "s3.object"
    uses_aws = True
    Params = S3ObjectParams
    summary = "an object (or any object under a prefix) exists in a bucket, or does not"

    def describe(self) -> str:
        p = self.params
        what = f"s3://{p.bucket}/{p.key}" if p.key else f"an object under s3://{p.bucket}/{p.prefix}"
        return f"{what} {'does not exist' if p.absent else 'exists'}"

    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        if not bucket_exists(ctx, p.bucket):
            if p.absent:
                return CheckResult.passed(f"bucket {p.bucket} does not exist", bucket=p.bucket)
            return CheckResult.failed(f"bucket {p.bucket} does not exist", "missing",
                                      bucket=p.bucket)
        if p.key is not None:
            where = f"s3://{p.bucket}/{p.key}"
            got = head(ctx, p.bucket, p.key)
            seen: dict[str, Any] = {"url": where, "exists": got is not None}
            if got:
                seen.update(size=got.get("ContentLength"), etag=got.get("ETag"),
                            last_modified=got.get("LastModified"))
        else:
            where = f"s3://{p.bucket}/{p.prefix}"
            listed = call(s3(ctx), "list_objects_v2", where, Bucket=p.bucket,
                          Prefix=p.prefix, MaxKeys=1)
            first = [o["Key"] for o in listed.get("Contents", [])]
            seen = {"url": where, "exists": bool(first), "first": first[0] if first else None}
        if p.absent:
            if seen["exists"]:
                return CheckResult.failed(f"{where} exists, expected it absent", **seen)
            return CheckResult.passed(f"{where} does not exist", **seen)
        if not seen["exists"]:
            what = "no object under" if p.prefix is not None else "no object at"
            return CheckResult.failed(f"{what} {where}", "missing", **seen)
        if p.key is not None:
            return CheckResult.passed(f"{where} exists ({seen.get('size')} bytes)", **seen)
        return CheckResult.passed(f"{where} has objects ({seen['first']})", **seen)


class CanReadParams(Params):
    bucket: str = Field(description="the bucket CloudFront reads")
    distribution: str = Field(description="CloudFront distribution id")
    in_use: bool = Field(
        True, description="the distribution must already read this bucket; false: check "
        "the grant before the origin is switched to it")
    check_ownership: bool = Field(
        True, description="also fail when object ownership is ObjectWriter (objects "
        "written by other accounts are out of reach of the bucket policy)")


@register
class CloudFrontCanRead(Check[CanReadParams]):
    kind = "s3.cloudfront_can_read"
    uses_aws = True
    Params = CanReadParams
    summary = "a bucket's policy lets a distribution (OAC or OAI) read its objects"

    def describe(self) -> str:
        p = self.params
        return f"distribution {p.distribution} may read the objects of bucket {p.bucket}"

    @missing_fails
    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        dist, _ = read_distribution(ctx, p.distribution)
        config = dist["DistributionConfig"]
        origins = [o for o in items(config.get("Origins"))
                   if bucket_of(o.get("DomainName", "")) == p.bucket]
        seen: dict[str, Any] = {"distribution_arn": dist.get("ARN"), "bucket": p.bucket}
        if not origins and p.in_use:
            now = default_origin(config).get("DomainName")
            return CheckResult.failed(
                f"distribution {p.distribution} does not read bucket {p.bucket}: its "
                f"origin is {now}", "wrong-origin", **seen)
        # Not in use yet: judge the grant as the default origin will use it after the switch.
        origin = origins[0] if origins else {**default_origin(config),
                                              "DomainName": f"{p.bucket}.s3.amazonaws.com"}
        if is_website_domain(origin["DomainName"]):
            return CheckResult.failed(
                f"distribution {p.distribution} reads {p.bucket} through its website "
                "endpoint, which serves public buckets only: OAC and OAI do not apply",
                "website-origin", **seen)
        oai = str((origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity") or "")
        oai_id = oai.rsplit("/", 1)[-1]
        oac_id = origin.get("OriginAccessControlId")
        seen.update(origin=origin.get("Id"), oac=oac_id, oai=oai_id or None)
        problems: list[str] = []
        policy = get_policy(ctx, p.bucket)
        sample = origin_key(origin.get("OriginPath", ""), "index.html")
        reading = read(policy, bucket=p.bucket, key=sample, distribution_arn=str(dist.get("ARN")),
                       oai_ids=[oai_id] if oai_id else [],
                       signs_with_oac=None if oac_id is None else bool(oac_id))
        seen.update(granted_by=reading.granted_by, policy=policy)
        if policy is None:
            problems.append(f"bucket {p.bucket} has no bucket policy, so nothing lets "
                            f"CloudFront read it; grant it with s3.bucket_policy "
                            f"allow_cloudfront: {p.distribution}")
        elif reading.granted_by is None:
            why = "; ".join(reading.near_misses) or "no statement allows it"
            problems.append(
                f"the policy of bucket {p.bucket} does not let {p.distribution} "
                f"({dist.get('ARN')}) s3:GetObject on {bucket_arn(p.bucket)}/{sample}: {why}")
        if reading.denied_by:
            problems.append(f"{reading.denied_by} of the policy of {p.bucket} denies "
                            "s3:GetObject without conditions")
        if oac_id is not None and not oac_id and not oai_id and not reading.public:
            # unsigned requests are anonymous: only a public grant answers them
            problems.append(f"the origin {origin.get('Id')} has no origin access control "
                            "or identity: CloudFront's requests are unsigned, and a private "
                            "bucket answers them 403")
        if reading.public:
            where = public_restricted(ctx, p.bucket)
            seen["public_access_block"] = where
            if where:
                problems.append(f"only a public statement grants the read, and "
                                f"RestrictPublicBuckets in {where} cancels it")
        if p.check_ownership:
            own = call_or_none(s3(ctx), "get_bucket_ownership_controls", f"bucket {p.bucket}",
                               missing=("OwnershipControlsNotFoundError",), Bucket=p.bucket)
            rules = (own or {}).get("OwnershipControls", {}).get("Rules", [])
            mode = rules[0].get("ObjectOwnership") if rules else "ObjectWriter"
            seen["object_ownership"] = mode
            if mode == "ObjectWriter":
                problems.append(f"object ownership of {p.bucket} is ObjectWriter: objects "
                                "uploaded by other accounts stay theirs and the bucket policy "
                                "does not reach them; set BucketOwnerEnforced")
        if problems:
            return CheckResult.failed("; ".join(problems), "denied", **seen)
        return CheckResult.passed(f"{p.distribution} may read {p.bucket}: "
                                  f"{reading.granted_by}", **seen)


def public_restricted(ctx: RunContext, bucket: str) -> str | None:
    """Where RestrictPublicBuckets is on for ``bucket`` ("the public access block of bucket
    B", "the account's public access block"), or None. Only that setting cancels what an
    existing public policy grants; BlockPublicPolicy refuses *new* public policies and
    leaves the one in place working. The account's settings (s3control) count as much as
    the bucket's."""
    pab = call_or_none(s3(ctx), "get_public_access_block", f"bucket {bucket}",
                       missing=("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket)
    if (pab or {}).get("PublicAccessBlockConfiguration", {}).get("RestrictPublicBuckets"):
        return f"the public access block of bucket {bucket}"
    try:
        account = account_of(ctx)
        got = call_or_none(ctx.client("s3control"), "get_public_access_block",
                           f"account {account}", AccountId=account,
                           missing=("NoSuchPublicAccessBlockConfiguration",))
    except AwsApiError:
        return None  # cannot read the account's settings: the bucket's are what we know
    if (got or {}).get("PublicAccessBlockConfiguration", {}).get("RestrictPublicBuckets"):
        return f"the account's public access block (account {account})"
    return None


# --- actions --------------------------------------------------------------------------


class BucketParams(Params):
    bucket: str = Field(description="name of the bucket to create")
    region: str | None = Field(None, description="region; default: the environment's")
    allow_cloudfront: str | None = Field(
        None, description="distribution id to grant s3:GetObject through its OAC")
    timeout: Duration = Field(120.0, description="how long to wait for the bucket to exist")


@register
class S3Bucket(Action[BucketParams]):
    kind = "s3.bucket"
    uses_aws = True
    Params = BucketParams
    summary = "create a private site bucket: public access blocked, ownership enforced"
    outputs: ClassVar[dict[str, str]] = {
        "bucket": "the bucket name",
        "arn": "the bucket ARN",
        "region": "the bucket's region",
        "origin_domain": "the REST domain CloudFront uses as origin",
        "created": "true when this run created the bucket",
    }

    def describe(self) -> str:
        p = self.params
        text = f"create private bucket {p.bucket}"
        return text + (f" readable by distribution {p.allow_cloudfront}"
                       if p.allow_cloudfront else "")

    def _region(self, ctx: RunContext) -> str:
        return self.params.region or ctx.aws.region or "us-east-1"

    def _policy(self, ctx: RunContext) -> dict[str, Any] | None:
        p = self.params
        if not p.allow_cloudfront:
            return None
        dist, _ = read_distribution(ctx, p.allow_cloudfront)
        return with_statement(None, oac_statement(p.bucket, p.allow_cloudfront,
                                                  str(dist["ARN"])))

    def snapshot(self, ctx: RunContext) -> Snapshot:
        b = self.params.bucket
        try:
            return {"exists": bucket_exists(ctx, b)}
        except AwsApiError as exc:
            if exc.code not in ("403", "AccessDenied"):
                raise
            raise AwsApiError(
                f"bucket {b} exists but this account may not see it: bucket names are "
                "global, so it probably belongs to another account; choose another name "
                f"(or grant s3:ListBucket on it). AWS said: {exc.message}",
                code=exc.code, operation=exc.operation) from exc

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        b = self.params.bucket
        if snapshot["exists"]:
            return Diff((), f"bucket {b} exists already: runbook leaves it as it is "
                            "(check it with s3.cloudfront_can_read)")
        changes = [Change(f"bucket {b}", None, {"region": self._region(ctx)}),
                   Change(f"bucket {b}.PublicAccessBlock", None, "all four blocks on"),
                   Change(f"bucket {b}.ObjectOwnership", None, "BucketOwnerEnforced")]
        policy = self._policy(ctx)
        if policy:
            changes.append(Change(f"bucket {b}.Policy", None, policy))
        return Diff(tuple(changes))

    def _outputs(self, region: str, created: bool) -> Outputs:
        b = self.params.bucket
        return {"bucket": b, "arn": bucket_arn(b), "region": region, "created": created,
                "origin_domain": f"{b}.s3.{region}.amazonaws.com"}

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        if snapshot["exists"]:
            return self._outputs(bucket_region(ctx, p.bucket), False)
        region = self._region(ctx)
        # S3 refuses a LocationConstraint that is not the region of the endpoint the
        # request is sent to (IllegalLocationConstraintException): create through a
        # client of the bucket's own region.
        client = s3(ctx, region)
        policy = self._policy(ctx)
        kw: dict[str, Any] = {"Bucket": p.bucket, "ObjectOwnership": "BucketOwnerEnforced"}
        if region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": region}
        what = f"bucket {p.bucket}"
        if not bucket_exists(ctx, p.bucket):  # else: made by this run before a crash
            call(client, "create_bucket", what, **kw)
        ok, _ = ctx.poll(lambda: (bucket_exists(ctx, p.bucket), "not visible yet"),
                         timeout=p.timeout, every=2.0, what=f"waiting for {what}")
        if not ok:
            raise KindError(f"{what} was created but is not visible after "
                            f"{format_duration(p.timeout)}")
        call(client, "put_public_access_block", what, Bucket=p.bucket,
             PublicAccessBlockConfiguration=dict.fromkeys(_BLOCKS, True))
        if policy:
            call(client, "put_bucket_policy", what, Bucket=p.bucket, Policy=json.dumps(policy))
        # the policy written: restore deletes the bucket, so the drift guard compares it
        return {**self._outputs(region, True), "policy": policy}

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """Every output is in AWS (the bucket's region) or the snapshot (whether this run
        created it); ``policy``, kept for the drift guard, is the one apply writes."""
        created = not snapshot["exists"]
        out = self._outputs(bucket_region(ctx, self.params.bucket), created)
        return {**out, "policy": self._policy(ctx)} if created else out

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        b = self.params.bucket
        if snapshot.get("exists") or applied.get("created") is False:
            return  # it was there before this run: nothing was changed
        if not bucket_exists(ctx, b):
            return
        listed = call(s3(ctx), "list_object_versions", f"bucket {b}", Bucket=b, MaxKeys=3)
        keys = [o["Key"] for o in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]
        if keys:
            raise KindError(
                f"bucket {b} was created by this run but now holds objects ({', '.join(keys)}"
                f"{', ...' if listed.get('IsTruncated') else ''}); runbook does not delete data. "
                f"Empty it (aws s3 rm s3://{b} --recursive) and roll back again, or keep it")
        call(s3(ctx), "delete_bucket", f"bucket {b}", Bucket=b)
        ctx.poll(lambda: (not bucket_exists(ctx, b), "still visible"),
                 timeout=self.params.timeout, every=2.0, what=f"waiting for {b} to go")

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        b = self.params.bucket
        if not applied.get("created"):
            return None
        if not bucket_exists(ctx, b):
            return f"bucket {b} no longer exists"
        if "policy" in applied:
            now = get_policy(ctx, b)
            if canonical(now) != canonical(applied["policy"]):
                return describe_drift(f"the policy of bucket {b}",
                                      deep_diff(applied["policy"] or {}, now or {}))
        return None


__all__ = ["CloudFrontCanRead", "S3Bucket", "S3Object"]
