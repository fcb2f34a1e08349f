"""``s3.bucket_policy`` and ``s3.redirect``: actions that write one JSON document of a
bucket (its policy, its website configuration) or delete it, and put the old one back.
Registered by ``runbook.kinds.aws.s3``."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.cfcache import invalidate, reference
from runbook.kinds.aws.common import (
    call,
    call_or_none,
    deep_diff,
    describe_drift,
    read_distribution,
)
from runbook.kinds.aws.policy import canonical, oac_statement, parse, sid_for, with_statement
from runbook.kinds.aws.s3common import bucket_region, get_policy, s3, website_domain
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot


class PolicyParams(Params):
    bucket: str = Field(description="bucket whose policy changes")
    allow_cloudfront: str | None = Field(
        None, description="distribution id: add or update the one statement (stable Sid) "
        "that lets it read the bucket's objects through OAC; other statements stay")
    policy: dict[str, Any] | str | None = Field(
        None, description="the whole policy document (mapping or JSON text)")
    timeout: Duration = Field(60.0, description="how long to wait for the policy to read back")

    @model_validator(mode="after")
    def _one(self) -> PolicyParams:
        if (self.allow_cloudfront is None) == (self.policy is None):
            raise ValueError("give exactly one of `allow_cloudfront` or `policy`")
        return self


class _Documented(Action[Any]):
    """An action that writes one JSON document of a bucket, or deletes it."""

    noun: ClassVar[str]

    def _read(self, ctx: RunContext) -> dict[str, Any] | None:
        raise NotImplementedError

    def _write(self, ctx: RunContext, doc: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def _desired(self, ctx: RunContext, old: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _what(self) -> str:
        return f"the {self.noun} of bucket {self.params.bucket}"

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        old = snapshot["doc"]
        new = self._desired(ctx, old)
        if old is None:
            return Diff((Change(self.noun, None, new),))
        return Diff(tuple(Change(f"{self.noun}.{p}", o, n) for p, o, n in deep_diff(old, new)))

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {"doc": self._read(ctx)}

    def _settle(self, ctx: RunContext, doc: dict[str, Any] | None) -> None:
        self._write(ctx, doc)
        ok, _ = ctx.poll(lambda: (self._same(self._read(ctx), doc), "not visible yet"),
                         timeout=self.params.timeout, every=2.0,
                         what=f"waiting for {self._what()}")
        if not ok:
            raise KindError(f"{self._what()} was written but does not read back as written "
                            f"after {format_duration(self.params.timeout)}")

    def _same(self, a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
        return a == b

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        doc = self._desired(ctx, snapshot["doc"])
        if not self._same(doc, snapshot["doc"]):
            self._settle(ctx, doc)
        return self._outputs(ctx, doc)

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """Every output is in the bucket: the document in force is the one apply wrote
        once it ran (resume calls this only when the state differs from the snapshot)."""
        return self._outputs(ctx, self._read(ctx))

    def _outputs(self, ctx: RunContext, doc: dict[str, Any] | None) -> Outputs:
        return {"bucket": self.params.bucket, self.noun: doc}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        if not self._same(self._read(ctx), snapshot["doc"]):
            self._settle(ctx, snapshot["doc"])

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        return self._same(before["doc"], now["doc"])

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        now = self._read(ctx)
        if self._same(now, snapshot["doc"]):
            return None
        if now is None or snapshot["doc"] is None:
            return f"{self._what()} is {'absent' if now is None else 'set'}, as it was not"
        shown = "; ".join(f"{p} is {n!r}, was {o!r}"
                          for p, o, n in deep_diff(snapshot["doc"], now)[:3])
        return f"{self._what()} differs from its snapshot: {shown}"

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if self.noun not in applied:
            return None
        now = self._read(ctx)
        if self._same(now, applied[self.noun]):
            return None
        return describe_drift(self._what(), deep_diff(applied[self.noun], now))


@register
class S3BucketPolicy(_Documented):
    kind = "s3.bucket_policy"
    uses_aws = True
    Params = PolicyParams
    noun = "policy"
    summary = "grant a distribution read access (one statement), or set a whole policy"
    outputs: ClassVar[dict[str, str]] = {"bucket": "the bucket", "policy": "the policy written",
                                         "sid": "Sid of the statement for allow_cloudfront"}

    def describe(self) -> str:
        p = self.params
        if p.allow_cloudfront:
            return f"let distribution {p.allow_cloudfront} read bucket {p.bucket} (OAC)"
        return f"replace the policy of bucket {p.bucket}"

    def _read(self, ctx: RunContext) -> dict[str, Any] | None:
        return get_policy(ctx, self.params.bucket)

    def _same(self, a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
        return bool(canonical(a) == canonical(b))  # S3 may store "s3:GetObject" as a list

    def _write(self, ctx: RunContext, doc: dict[str, Any] | None) -> None:
        b = self.params.bucket
        if doc is None:
            call(s3(ctx), "delete_bucket_policy", f"bucket {b}", Bucket=b)
        else:
            call(s3(ctx), "put_bucket_policy", f"bucket {b}", Bucket=b, Policy=json.dumps(doc))

    def _desired(self, ctx: RunContext, old: dict[str, Any] | None) -> dict[str, Any]:
        p = self.params
        if p.allow_cloudfront is None:
            return parse(p.policy) or {}
        dist, _ = read_distribution(ctx, p.allow_cloudfront)
        return with_statement(old, oac_statement(p.bucket, p.allow_cloudfront,
                                                 str(dist["ARN"])))

    def _outputs(self, ctx: RunContext, doc: dict[str, Any] | None) -> Outputs:
        p = self.params
        return {**super()._outputs(ctx, doc),
                "sid": sid_for(p.allow_cloudfront) if p.allow_cloudfront else None}


class RedirectParams(Params):
    bucket: str = Field(description="bucket whose website endpoint redirects")
    to: str = Field(description="host name every request is redirected to")
    protocol: Literal["http", "https"] = Field("https", description="http or https")
    status: Literal[301, 302] = Field(
        301, description="301 (RedirectAllRequestsTo, cached by browsers) or 302 (one "
        "condition-less routing rule, not cached: a later step promotes it to 301)")
    timeout: Duration = Field(60.0, description="how long to wait for the configuration")
    distribution: str | None = Field(
        None, description="the distribution whose origin is this website: after the change, "
        "and after its rollback, its caches are invalidated (/*), so its edges answer the "
        "new redirect at once rather than the cached one until its TTL runs out")


@register
class S3Redirect(_Documented):
    kind = "s3.redirect"
    uses_aws = True
    Params = RedirectParams
    noun = "website"
    summary = "make a bucket's website endpoint redirect every request to another host"
    outputs: ClassVar[dict[str, str]] = {
        "bucket": "the bucket", "website": "the website configuration written",
        "website_domain": "the bucket's website endpoint (origin for a redirect distribution)",
        "invalidation_id": "the invalidation of `distribution`'s caches, when one is given"}

    CACHED = ("the redirect is a 301 (permanent): browsers cache it without expiry and "
              "CloudFront's edges for their TTL, so a rollback does not reach clients that "
              "already followed it")

    def describe(self) -> str:
        p = self.params
        how = ("301, which browsers and edges cache" if p.status == 301 else
               "302, which browsers do not cache")
        return (f"redirect every request to bucket {p.bucket}'s website to {p.protocol}://"
                f"{p.to} ({how})")

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        got = super().diff(ctx, snapshot)
        if not got.changes:
            return got
        notes = [self.CACHED] if self.params.status == 301 else []
        if self.params.distribution:
            notes.append(f"then invalidates /* in distribution {self.params.distribution}, so "
                         "its edges stop answering the redirect they cached; a rollback "
                         "invalidates again")
        return Diff(got.changes, "; ".join(notes) or None)

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        out = super().apply(ctx, snapshot)
        if not self._same(out[self.noun], snapshot["doc"]):
            out.update(self._clear(ctx, out[self.noun], "apply"))
        return out

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        # apply wrote the website and may have died before the invalidation: ask again
        # (the same caller reference hands back the same invalidation)
        out = super().recover(ctx, snapshot)
        return {**out, **self._clear(ctx, out[self.noun], "apply")}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        super().restore(ctx, snapshot, applied)
        p = self.params
        if p.distribution:  # also when a first rollback died before it
            self._clear(ctx, snapshot["doc"], "restore")
        if p.status != 301:
            return
        # journaled, so the rollback's output and its report say it: the restore is
        # proved for the bucket, not for what browsers keep
        edges = (f"distribution {p.distribution}'s caches were invalidated" if p.distribution
                 else "CloudFront's edges keep it for their TTL unless the distribution in "
                 "front of the website is invalidated (give `distribution` to have it done)")
        ctx.note(f"bucket {p.bucket}'s website no longer answers the 301, but browsers that "
                 f"followed it keep it without expiry and keep going to {p.to} until their "
                 f"caches let go; {edges}", cached_301=True)

    def _clear(self, ctx: RunContext, doc: dict[str, Any] | None, why: str) -> Outputs:
        """Invalidate /* in the distribution in front of the website, if one is given."""
        dist = self.params.distribution
        if not dist:
            return {"invalidation_id": None}
        paths = ["/*"]
        _, etag = read_distribution(ctx, dist)
        ref = reference(ctx, etag, paths, f"{why} {json.dumps(doc, sort_keys=True)}")
        inv_id, _ = invalidate(ctx, dist, paths, ref, wait=True, timeout=900.0, every=10.0)
        return {"invalidation_id": inv_id}

    def _read(self, ctx: RunContext) -> dict[str, Any] | None:
        b = self.params.bucket
        got = call_or_none(s3(ctx), "get_bucket_website", f"bucket {b}",
                           missing=("NoSuchWebsiteConfiguration",), Bucket=b)
        return {k: v for k, v in got.items() if k in (
            "RedirectAllRequestsTo", "IndexDocument", "ErrorDocument", "RoutingRules")} \
            if got else None

    def _write(self, ctx: RunContext, doc: dict[str, Any] | None) -> None:
        b = self.params.bucket
        if doc is None:
            call(s3(ctx), "delete_bucket_website", f"bucket {b}", Bucket=b)
        else:
            call(s3(ctx), "put_bucket_website", f"bucket {b}", Bucket=b,
                 WebsiteConfiguration=doc)

    def _desired(self, ctx: RunContext, old: dict[str, Any] | None) -> dict[str, Any]:
        p = self.params
        if p.status == 301:  # RedirectAllRequestsTo always answers 301
            return {"RedirectAllRequestsTo": {"HostName": p.to, "Protocol": p.protocol}}
        # A rule without a Condition applies to every key; S3 wants an IndexDocument
        # beside routing rules.
        return {"IndexDocument": {"Suffix": "index.html"},
                "RoutingRules": [{"Redirect": {"HostName": p.to, "Protocol": p.protocol,
                                               "HttpRedirectCode": str(p.status)}}]}

    def _outputs(self, ctx: RunContext, doc: dict[str, Any] | None) -> Outputs:
        b = self.params.bucket
        return {**super()._outputs(ctx, doc),
                "website_domain": website_domain(b, bucket_region(ctx, b))}
