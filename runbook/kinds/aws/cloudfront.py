"""CloudFront: checks of a distribution (deployed, origin, aliases, certificate, and that
the version it serves exists in the bucket it actually reads) and of an alias being
free; actions that update a distribution and invalidate its caches.

``cloudfront.update`` is a read-modify-write of the whole DistributionConfig guarded by
its ETag: the snapshot is the config and ETag as read; restore writes that config back
with a fresh ETag. Waits go through ``ctx.poll`` because deploys take up to ~25 minutes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from runbook.certnames import covers
from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.cfcache import forwards_query, invalidate, reference
from runbook.kinds.aws.cfconfig import (
    AliasesExpect,
    OriginSpec,
    UpdateParams,
    aliases_of,
    cert_of,
    edit,
    norm_path,
    summarise,
)
from runbook.kinds.aws.common import (
    AwsApiError,
    account_of,
    bare,
    bucket_of,
    call,
    deep_diff,
    default_origin,
    describe_drift,
    items,
    missing_fails,
    origin_key,
    pages,
    read_distribution,
)
from runbook.kinds.aws.s3common import head
from runbook.kinds.base import Action, Change, Check, CheckResult, Diff, Outputs, Params, Snapshot
from runbook.kinds.sets import CLOUDFRONT_SETS, in_set_order, same_sets


def _deployed(ctx: RunContext, dist_id: str) -> tuple[bool, str]:
    dist, _ = read_distribution(ctx, dist_id)
    status = str(dist.get("Status", ""))
    return status.lower() == "deployed", status


# --- checks ---------------------------------------------------------------------------


class DistributionParams(Params):
    id: str = Field(description="distribution id")
    status: str | None = Field(None, description="expected status, e.g. Deployed")
    enabled: bool | None = Field(None, description="expected enabled state")
    origin: OriginSpec | None = Field(None, description="expected default origin")
    aliases: AliasesExpect | None = Field(None, description="expected aliases")
    certificate: str | None = Field(None, description="expected ACM certificate ARN")
    default_root_object: str | None = Field(None, description="expected default root object")
    origin_has: str | None = Field(
        None, description="key that must exist under the origin path in the bucket the "
        "distribution actually reads (e.g. index.html)")
    forwards_query: bool | None = Field(
        None, description="the default cache behaviour sends query strings to the origin "
        "(a redirect that keeps the query needs it)")


@register
class DistributionCheck(Check[DistributionParams]):
    kind = "cloudfront.distribution"
    uses_aws = True
    Params = DistributionParams
    summary = "a distribution's status, origin, aliases, certificate; the served version exists"

    def describe(self) -> str:
        p = self.params
        parts = [f"is {p.status}"] if p.status else []
        if p.origin:
            o = p.origin
            parts.append("reads " + " ".join(x for x in (
                o.bucket and f"bucket {o.bucket}", o.domain, o.path is not None
                and f"path {norm_path(o.path) or '/'}") if x))
        if p.aliases:
            parts.append("has aliases " + ", ".join(p.aliases.exactly or p.aliases.contains))
        if p.certificate:
            parts.append(f"uses certificate {p.certificate}")
        if p.origin_has:
            parts.append(f"finds {p.origin_has} in its origin")
        if p.forwards_query is not None:
            parts.append(("forwards" if p.forwards_query else "does not forward")
                         + " query strings to its origin")
        return f"distribution {p.id} " + (" and ".join(parts) or "exists")

    @missing_fails
    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        dist, _ = read_distribution(ctx, p.id)
        config = dist["DistributionConfig"]
        origin = default_origin(config)
        domain = str(origin.get("DomainName", ""))
        path = str(origin.get("OriginPath") or "")
        seen: dict[str, Any] = {
            "status": dist.get("Status"), "enabled": config.get("Enabled"),
            "domain_name": dist.get("DomainName"), "origin_domain": domain,
            "origin_bucket": bucket_of(domain), "origin_path": path,
            "aliases": aliases_of(config), "certificate": cert_of(config),
            "default_root_object": config.get("DefaultRootObject") or ""}
        bad: list[str] = []
        if p.status and str(seen["status"]).lower() != p.status.lower():
            bad.append(f"status is {seen['status']}, expected {p.status}")
        if p.enabled is not None and seen["enabled"] != p.enabled:
            bad.append(f"it is {'enabled' if seen['enabled'] else 'disabled'}")
        if p.origin:
            o = p.origin
            if o.bucket and seen["origin_bucket"] != o.bucket:
                bad.append(f"origin reads {seen['origin_bucket'] or domain}, expected bucket "
                           f"{o.bucket}")
            if o.domain and bare(domain) != bare(o.domain):
                bad.append(f"origin domain is {domain}, expected {o.domain}")
            if o.path is not None and path != norm_path(o.path):
                want = norm_path(o.path) or "(none)"
                bad.append(f"origin path is {path or '(none)'}, expected {want}")
        if p.aliases:
            have = set(seen["aliases"])
            missing = [a for a in p.aliases.contains if bare(a) not in have]
            if missing:
                bad.append(f"aliases lack {', '.join(missing)}")
            if p.aliases.exactly is not None and have != {bare(a) for a in p.aliases.exactly}:
                bad.append(f"aliases are {sorted(have)}, expected {sorted(p.aliases.exactly)}")
        if p.certificate and seen["certificate"] != p.certificate:
            bad.append(f"certificate is {seen['certificate'] or 'the default *.cloudfront.net'}"
                       f", expected {p.certificate}")
        if p.default_root_object is not None and \
                seen["default_root_object"] != p.default_root_object.lstrip("/"):
            bad.append(f"default root object is {seen['default_root_object'] or '(none)'}")
        if p.origin_has:
            bad.extend(self._origin_has(ctx, seen, p.origin_has))
        if p.forwards_query is not None:
            sends, why = forwards_query(ctx, config)
            seen["forwards_query"] = sends
            if sends != p.forwards_query:
                bad.append(f"it {'forwards' if sends else 'does not forward'} query strings "
                           f"to its origin ({why})")
        if bad:
            return CheckResult.failed(f"distribution {p.id}: " + "; ".join(bad), **seen)
        return CheckResult.passed(f"distribution {p.id} is {seen['status']}, reads "
                                  f"{domain}{path}", **seen)

    def _origin_has(self, ctx: RunContext, seen: dict[str, Any], key: str) -> list[str]:
        bucket = seen["origin_bucket"]
        if not bucket:
            return [f"its origin {seen['origin_domain']} is not an S3 bucket, so "
                    f"origin_has cannot look for {key}"]
        full = origin_key(seen["origin_path"], key)
        seen["origin_has"] = f"s3://{bucket}/{full}"
        if head(ctx, bucket, full) is None:
            return [f"s3://{bucket}/{full} does not exist: the bucket it reads lacks the "
                    "version its origin path names"]
        return []


class AliasFreeParams(Params):
    alias: str = Field(description="the alternate domain name")
    distribution: str | None = Field(
        None, description="the distribution allowed to have it (the one it will be added to); "
        "with a certificate that covers the name, other accounts are asked too "
        "(ListConflictingAliases)")


def _ours(masked: str, ids: list[str]) -> bool:
    """Whether a partly hidden id (``*******EXAMPLE``, ``******789012``) can be one of
    ``ids``: AWS hides the start of ids it answers with."""
    shown = masked.lstrip("*")
    return bool(shown) and any(i.endswith(shown) for i in ids)


@register
class AliasFree(Check[AliasFreeParams]):
    kind = "cloudfront.alias_free"
    uses_aws = True
    Params = AliasFreeParams
    summary = "no other distribution (this account, or others where AWS says) uses an alias"

    def describe(self) -> str:
        return f"no other distribution uses {self.params.alias}"

    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        name = bare(p.alias)
        dists = list(pages(ctx.client("cloudfront"), "list_distributions",
                           "DistributionList.Items", "distributions"))
        users = [d["Id"] for d in dists if name in aliases_of(d) and d["Id"] != p.distribution]
        if users:
            return CheckResult.failed(f"{name} is already an alias of {', '.join(users)}",
                                      "taken", users=users)
        # CloudFront sends a name to the most specific alias: a wildcard elsewhere serves
        # the name whenever no distribution has it exactly.
        wild = [(a, d["Id"]) for d in dists if d["Id"] != p.distribution
                for a in aliases_of(d) if a != name and covers(a, name)]
        seen: dict[str, Any] = {"users": [], "wildcards": [f"{a} on {i}" for a, i in wild]}
        notes: list[str] = []
        if p.distribution:
            elsewhere, asked = self._other_accounts(ctx, name, [d["Id"] for d in dists])
            seen["other_accounts"] = elsewhere
            if elsewhere:
                return CheckResult.failed(
                    f"{name} is an alias of {'; '.join(elsewhere)} in another AWS account "
                    "(ListConflictingAliases): CloudFront will refuse it (CNAMEAlreadyExists). "
                    "Have it removed there, or moved with AssociateAlias", "taken", **seen)
            notes.append(asked)
        if wild:
            where = ", ".join(f"{a} on {i}" for a, i in wild)
            if p.distribution is None:
                return CheckResult.failed(
                    f"no distribution has {name} itself, but {where} covers it: CloudFront "
                    "serves the name from there", "wildcard", **seen)
            notes.append(f"{where} also covers it; the exact alias on {p.distribution} wins")
        text = f"no other distribution of the account uses {name}"
        return CheckResult.passed("; ".join([text, *notes]), **seen)

    def _other_accounts(self, ctx: RunContext, name: str, ours: list[str]
                        ) -> tuple[list[str], str]:
        """(conflicts AWS reports outside this account, a note on what was asked)."""
        p = self.params
        try:
            got = call(ctx.client("cloudfront"), "list_conflicting_aliases",
                       f"distribution {p.distribution}", DistributionId=p.distribution,
                       Alias=name, MaxItems=100)
        except AwsApiError as exc:
            if exc.code == "InvalidArgument":
                return [], ("other accounts not asked: the certificate of "
                            f"{p.distribution} does not cover {name} yet")
            return [], f"other accounts not asked: ListConflictingAliases failed ({exc.code})"
        account = [account_of(ctx)]
        out = []
        for item in items(got.get("ConflictingAliasesList")):
            if bare(str(item.get("Alias", ""))) != name:
                continue  # an overlap by wildcard: allowed, the most specific alias wins
            masked = str(item.get("DistributionId", ""))
            if _ours(masked, ours) or _ours(str(item.get("AccountId", "")), account):
                continue  # this account's: judged above
            out.append(f"distribution {masked} (account {item.get('AccountId', '?')})")
        return out, "no other account uses it (ListConflictingAliases)"


# --- actions --------------------------------------------------------------------------


@register
class Update(Action[UpdateParams]):
    kind = "cloudfront.update"
    uses_aws = True
    Params = UpdateParams
    summary = "change a distribution's origin, aliases, certificate...; wait until Deployed"
    outputs: ClassVar[dict[str, str]] = {
        "domain_name": "the distribution's *.cloudfront.net name",
        "arn": "the distribution's ARN",
        "etag": "the config's ETag after the update",
        "status": "the distribution's status when apply returned",
        "invalidation_id": "the invalidation made after the change ('' when none)",
    }

    def describe(self) -> str:
        p, parts = self.params, []
        if p.origin:
            o = p.origin
            where = f"bucket {o.bucket}" if o.bucket else o.domain
            if where:
                parts.append(f"point the origin of distribution {p.id} at {where}")
            if o.path is not None:
                parts.append(f"set its origin path to {norm_path(o.path) or '(none)'}")
        if p.aliases:
            a = p.aliases
            if a.set is not None:
                parts.append(f"set the aliases of distribution {p.id} to {', '.join(a.set)}")
            if a.add:
                parts.append(f"add {', '.join(a.add)} to the aliases of distribution {p.id}")
            if a.remove:
                parts.append(f"remove {', '.join(a.remove)} from the aliases of "
                             f"distribution {p.id}")
        if p.certificate:
            parts.append(f"serve certificate {p.certificate}")
        if p.default_root_object is not None:
            parts.append(f"set the default root object to {p.default_root_object}")
        if p.enabled is not None:
            parts.append(("enable" if p.enabled else "disable") + f" distribution {p.id}")
        return "; ".join(parts)

    def _read(self, ctx: RunContext) -> tuple[dict[str, Any], str]:
        got = call(ctx.client("cloudfront"), "get_distribution_config",
                   f"distribution {self.params.id}", Id=self.params.id)
        return dict(got["DistributionConfig"]), str(got["ETag"])

    def snapshot(self, ctx: RunContext) -> Snapshot:
        config, etag = self._read(ctx)
        return {"config": config, "etag": etag}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        old = snapshot["config"]
        changes = deep_diff(old, edit(ctx, self.params, old))
        notes = []
        if changes and self.params.wait:
            notes.append(f"waits up to {format_duration(self.params.timeout)} for "
                         f"distribution {self.params.id} to deploy")
        if changes and self.params.invalidate:
            notes.append(f"then invalidates {', '.join(self.params.invalidate)} so edges stop "
                         "serving what they cached (OriginPath is not in the cache key); a "
                         "rollback invalidates again")
        elif changes and self.params.origin and self.params.origin.path is not None:
            notes.append("edges keep serving cached pages of the old path until they expire "
                         "(OriginPath is not in the cache key): add `invalidate: ['/*']`")
        return Diff(tuple(Change(p, o, n) for p, o, n in changes), "; ".join(notes) or None)

    def _write(self, ctx: RunContext, config: dict[str, Any], etag: str) -> None:
        try:
            call(ctx.client("cloudfront"), "update_distribution",
                 f"distribution {self.params.id}", Id=self.params.id, IfMatch=etag,
                 DistributionConfig=config)
        except AwsApiError as exc:
            if exc.code != "CNAMEAlreadyExists":
                raise
            names = ", ".join(aliases_of(config))
            raise AwsApiError(
                f"CloudFront refused the aliases of distribution {self.params.id} ({names}): "
                "one is already used by another distribution, possibly in another account. "
                "Remove it there first; cloudfront.alias_free checks this account only. "
                f"AWS said: {exc.message}", code=exc.code, operation=exc.operation) from exc

    def _wait(self, ctx: RunContext) -> str:
        p = self.params
        if not p.wait:
            return _deployed(ctx, p.id)[1]
        ok, status = ctx.poll(lambda: _deployed(ctx, p.id), timeout=p.timeout, every=p.every,
                              what=f"waiting for distribution {p.id} to deploy")
        if not ok:
            raise KindError(f"distribution {p.id} is still {status} after "
                            f"{format_duration(p.timeout)}: the change is saved and CloudFront "
                            "is still deploying it; raise `timeout` or check the console")
        return status

    def _stale(self, ctx: RunContext, base: dict[str, Any], fresh: dict[str, Any]) -> None:
        """The ETag was stale: someone changed the distribution since the snapshot. Show
        what they changed and what this step would now change, and ask."""
        p = self.params
        theirs = deep_diff(base, fresh)
        ours = deep_diff(fresh, edit(ctx, p, fresh))
        what = (f"distribution {p.id} was changed by someone else after this step read it "
                f"({summarise(theirs) or 'no visible field changed, only its ETag'})")
        op = ctx.operator
        if op is None or not op.interactive:
            raise KindError(f"{what}. Not applying on top of a change nobody reviewed: "
                            "run the step again to see the new diff")
        ask = f"{what}. Apply this step on top of it ({summarise(ours) or 'no change'})?"
        if not op.confirm(ask, default=False):
            raise KindError(f"{what}; the operator declined to apply on top of it")

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        base, etag = dict(snapshot["config"]), str(snapshot["etag"])
        new = edit(ctx, p, base)
        if new != base:
            try:
                self._write(ctx, new, etag)
            except AwsApiError as exc:
                if exc.code not in ("PreconditionFailed", "InvalidIfMatchVersion"):
                    raise
                fresh, etag = self._read(ctx)
                if fresh != new:  # else it already is what this step writes: nothing to ask
                    self._stale(ctx, base, fresh)
                    base, new = fresh, edit(ctx, p, fresh)
                    if new != base:
                        self._write(ctx, new, etag)
        out = self.recover(ctx, snapshot, status=self._wait(ctx))
        if p.invalidate and new != base:
            out["invalidation_id"] = self._invalidate(ctx, str(out["etag"]), "apply")
        if base != snapshot["config"]:
            out["base_config"] = base  # restore goes back to what we changed, not further
        return out

    def _invalidate(self, ctx: RunContext, etag: str, why: str) -> str:
        p = self.params
        paths = list(p.invalidate or [])
        inv_id, _ = invalidate(ctx, p.id, paths, reference(ctx, etag, paths, why),
                               wait=p.wait, timeout=900.0, every=10.0)
        return inv_id

    def recover(self, ctx: RunContext, snapshot: Snapshot, status: str | None = None) -> Outputs:
        dist, _ = read_distribution(ctx, self.params.id)
        config, etag = self._read(ctx)
        return {"domain_name": dist.get("DomainName"), "arn": dist.get("ARN"), "etag": etag,
                "status": status or dist.get("Status"), "config": config,
                "invalidation_id": ""}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        target = applied.get("base_config") or snapshot["config"]
        live, etag = self._read(ctx)
        if live != target:
            self._write(ctx, target, etag)
        self._wait(ctx)
        if self.params.invalidate and live != target:  # the edges cached the version undone
            self._invalidate(ctx, self._read(ctx)[1], "restore")

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        # every write changes the ETag; aliases, origins... are sets to CloudFront
        return same_sets(before["config"], now["config"], CLOUDFRONT_SETS)

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        target = applied.get("base_config") or snapshot["config"]
        changes = deep_diff(in_set_order(target, CLOUDFRONT_SETS),
                            in_set_order(self._read(ctx)[0], CLOUDFRONT_SETS))
        if not changes:
            return None
        shown = "; ".join(f"{p} is {n!r}, was {o!r}" for p, o, n in changes[:3])
        return f"distribution {self.params.id} differs from its snapshot: {shown}"

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if "config" not in applied:
            return None
        changes = deep_diff(in_set_order(applied["config"], CLOUDFRONT_SETS),
                            in_set_order(self._read(ctx)[0], CLOUDFRONT_SETS))
        return describe_drift(f"distribution {self.params.id}", changes) if changes else None


class InvalidateParams(Params):
    id: str = Field(description="distribution id")
    paths: list[str] = Field(default_factory=lambda: ["/*"], min_length=1,
                             description="paths to invalidate, each starting with /")
    wait: bool = Field(True, description="wait until the invalidation completes")
    timeout: Duration = Field(900.0, description="how long to wait")
    every: Duration = Field(10.0, description="how often to ask while waiting")

    @field_validator("paths")
    @classmethod
    def _slash(cls, paths: list[str]) -> list[str]:
        bad = [x for x in paths if not x.startswith("/")]
        if bad:
            raise ValueError(f"invalidation paths must start with / (CloudFront refuses "
                             f"others with InvalidArgument): {', '.join(bad)}; write "
                             f"{', '.join('/' + x for x in bad)}")
        return paths


@register
class Invalidate(Action[InvalidateParams]):
    kind = "cloudfront.invalidate"
    uses_aws = True
    Params = InvalidateParams
    summary = "invalidate paths in a distribution's caches and wait for it to complete"
    reversible = False
    irreversible_reason = ("an invalidation only empties CloudFront's caches; there is "
                           "nothing to put back: the next requests fetch from the origin")
    outputs: ClassVar[dict[str, str]] = {"invalidation_id": "the invalidation's id",
                                         "status": "its status when apply returned"}

    def describe(self) -> str:
        return f"invalidate {', '.join(self.params.paths)} in distribution {self.params.id}"

    def snapshot(self, ctx: RunContext) -> Snapshot:
        # The caller reference must be the same when a resumed run asks again (AWS then
        # hands back the same invalidation), and the snapshot must not change unless the
        # world did (resume compares snapshots). So: the run, the paths, and the
        # distribution's ETag, which moves whenever the distribution is updated between
        # two invalidations of the same paths.
        _, etag = read_distribution(ctx, self.params.id)
        return {"etag": etag, "caller_reference": reference(ctx, etag, self.params.paths)}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        return Diff((Change(f"distribution {self.params.id} caches", None,
                            {"invalidate": list(self.params.paths)}),),
                    "empties caches only; nothing to restore")

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        ref = str(snapshot.get("caller_reference") or self.snapshot(ctx)["caller_reference"])
        inv_id, status = invalidate(ctx, p.id, list(p.paths), ref, wait=p.wait,
                                    timeout=p.timeout, every=p.every)
        return {"invalidation_id": inv_id, "status": status}

