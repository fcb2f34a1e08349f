"""``cloudfront.staged_update``: change a live distribution through CloudFront continuous
deployment. The change (the vocabulary of ``cloudfront.update``, aliases excepted) goes to
a staging copy; a traffic schedule, read like Argo Rollouts' canary steps, moves requests
to it: a header phase first (only runbook's own checks, sending ``aws-cf-cd-runbook`` with
this run's id, reach the staging configuration), then weighted phases, each with its hold
time and checks and the operator's gate; then promotion and clean-up::

    action: cloudfront.staged_update
    with:
      id: E1PRODEXAMPLE
      origin: {bucket: tis-trainee-ui-prod-new, path: /v1.42.0}
      grant_staging: true
      traffic:
        - header: true
          checks: [{http.get: {url: "https://trainee.tis-selfservice.nhs.uk/", contains: v1.42.0}}]
        - {weight: 5%, hold: 2m, checks: [...]}
        - {weight: 15%, hold: 5m, stickiness: {idle: 5m, max: 10m}, checks: [...]}

Restore reads AWS, not the journal: before promotion it pulls back (the policy disabled
first, which sends every request to the primary's configuration without deploying it;
then the policy detached and deleted and the staging copy deleted); after promotion it
writes the primary's snapshot back as ``cloudfront.update`` does. ``restored`` proves the
primary reads back as its snapshot and nothing of the staged change is left.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws import cfdeploy as cd
from runbook.kinds.aws.cfcache import invalidate, reference
from runbook.kinds.aws.cfconfig import UpdateParams, edit
from runbook.kinds.aws.cfinflight import (
    live_copy,
    live_phase,
    live_promoted,
    live_promoting,
)
from runbook.kinds.aws.cfsample import run_phase_checks
from runbook.kinds.aws.common import bucket_of, call, deep_diff, default_origin, describe_drift
from runbook.kinds.aws.policy import oac_statement, read, sid_for, with_statement
from runbook.kinds.base import Action, Change, Diff, Outputs, Snapshot
from runbook.kinds.sets import CLOUDFRONT_SETS, in_set_order


class Stickiness(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    idle: Duration = Field(description="a session ends after this long without a request "
                           "(300-3600 s)")
    max: Duration | None = Field(None, description="the longest a session lasts (300-3600 s; "
                                 "default: idle)")

    @model_validator(mode="after")
    def _range(self) -> Stickiness:
        low, high = cd.TTL_RANGE
        most = self.max if self.max is not None else self.idle
        if not (low <= self.idle <= high and low <= most <= high):
            raise ValueError(f"stickiness idle and max are {low}-{high} seconds (5-60 "
                             "minutes) in CloudFront")
        if self.idle > most:
            raise ValueError("stickiness idle is at most max")
        return self


def _share(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return value


# A share of requests: 0.05, or "5%" (what the schema says too, so editors accept both).
Share = Annotated[float, BeforeValidator(_share),
                  WithJsonSchema({"anyOf": [{"type": "number"},
                                            {"type": "string",
                                             "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"}]})]


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    header: bool = Field(False, description="a header phase: only requests carrying "
                         "aws-cf-cd-runbook with this run's id reach the staging config")
    weight: Share | None = Field(None, description="share of requests sent to the staging "
                                 "config: 0.05 or 5%, at most 15%")
    hold: Duration = Field(0.0, description="how long traffic stays so before the checks")
    stickiness: Stickiness | None = Field(None, description="keep a viewer on one config")
    checks: list[dict[str, Any]] = Field(default_factory=list, description="checks of this "
                                         "phase, as in a step's post:")
    samples: int = Field(200, ge=1, le=2000, description="most requests per check in a "
                         "weighted phase, to see both configs")
    marker: str | None = Field(None, description="against AWS, what only the staging config "
                               "answers: text in the body, or `header: NAME` for a response "
                               "header its response headers policy adds")

    @field_validator("weight")
    @classmethod
    def _at_most_15(cls, weight: float | None) -> float | None:
        # on the field, so the error's place is the weight itself: a library step's
        # `${second_weight}` is then blamed on the plan's `with:` line that set it
        if weight is None:
            return weight
        if weight > 1:  # `weight: 20` meant 20%, most likely
            raise ValueError(f"weight {weight:.10g} would be {weight * 100:.10g}% of requests: "
                             "a share is written 0.05 or 5%, and CloudFront sends at most 15% "
                             "of requests to a staging distribution")
        if weight <= 0:
            raise ValueError(f"weight {weight * 100:.10g}%: a weighted phase sends some "
                             "requests to the staging distribution (more than 0%, at most 15%)")
        if weight > cd.MAX_WEIGHT:
            raise ValueError(f"weight {weight * 100:.10g}%: CloudFront sends at most 15% of "
                             "requests to a staging distribution")
        return weight

    @model_validator(mode="after")
    def _one(self) -> Phase:
        if self.header == (self.weight is not None):
            raise ValueError("each traffic phase is either `header: true` or `weight: N%`")
        if self.header and self.stickiness is not None:
            raise ValueError("stickiness is for weighted phases")
        return self


class StagedParams(UpdateParams):
    traffic: list[Phase] = Field(min_length=1, description="the schedule: a header phase "
                                 "first, then weighted phases")
    grant_staging: bool = Field(False, description="add the staging copy's read grant to "
                                "the bucket policy of an origin read through an OAC (and "
                                "take it out again)")

    @model_validator(mode="after")
    def _schedule(self) -> StagedParams:
        if self.aliases is not None:
            raise ValueError("a staging distribution cannot take aliases: change aliases "
                             "with cloudfront.update")
        if not self.traffic[0].header:
            raise ValueError("the first traffic phase is the header phase (`header: true`): "
                             "only runbook's checks see the change before any visitor does")
        weights = [p.weight for p in self.traffic if p.weight is not None]
        if weights != sorted(weights):
            raise ValueError("weighted phases go up: " + ", ".join(f"{w:.0%}" for w in weights))
        return self


@register
class StagedUpdate(Action[StagedParams]):
    kind = "cloudfront.staged_update"
    uses_aws = True
    Params = StagedParams
    summary = ("change a distribution through a staging copy: header phase, weighted "
               "phases, promotion (CloudFront continuous deployment)")
    outputs: ClassVar[dict[str, str]] = {
        "staging_id": "the staging distribution (deleted once promoted)",
        "etag": "the primary's ETag after promotion",
        "phases": "each phase: its traffic and how many requests each config answered",
    }

    def describe(self) -> str:
        p = self.params
        phases = ", ".join("header" if ph.header else f"{ph.weight:.0%}" for ph in p.traffic)
        what = []
        if p.origin:
            where = f"bucket {p.origin.bucket}" if p.origin.bucket else p.origin.domain
            path = f"path {p.origin.path or '(none)'}" if p.origin.path is not None else ""
            what.append(" ".join(x for x in (f"origin {where}" if where else "", path) if x))
        for name in ("certificate", "default_root_object"):
            if getattr(p, name) is not None:
                what.append(f"{name.replace('_', ' ')} {getattr(p, name)}")
        return (f"stage {', '.join(what) or 'a change'} on a copy of distribution {p.id}; "
                f"traffic {phases}; then promote"
                + (f", then invalidate {', '.join(p.invalidate)}" if p.invalidate else ""))

    # ---- snapshot, diff ------------------------------------------------------------------

    def snapshot(self, ctx: RunContext) -> Snapshot:
        # the staging copy is part of the state: a run that made only the copy changed
        # something (resume and rollback must see it)
        config, etag = cd.config_of(ctx, self.params.id)
        return {"config": config, "etag": etag,
                "staging": list(cd.find_staging(ctx, self.params.id) or []) or None}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        old = snapshot["config"]
        refusal = _refusal(old, self.params.id)
        if refusal:
            raise KindError(refusal)
        changes = deep_diff(old, edit(ctx, self.params, old))
        notes = [f"on a staging copy first: {self.describe()}"]
        oac = _oac_bucket(old, edit(ctx, self.params, old))
        if oac and not self.params.grant_staging:
            notes.append(f"the origin reads bucket {oac} through an OAC: its policy must let "
                         "the staging copy read too (add `grant_staging: true`)")
        return Diff(tuple(Change(p, o, n) for p, o, n in changes), "; ".join(notes))

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        return bool(before["config"] == now["config"]
                    and before.get("staging") == now.get("staging"))

    # ---- apply ---------------------------------------------------------------------------

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        primary, base = p.id, dict(snapshot["config"])
        refusal = _refusal(base, primary)
        if refusal:
            raise KindError(refusal)
        staging, domain = cd.copy_staging(ctx, primary, str(snapshot["etag"]))
        config, etag = cd.config_of(ctx, staging)
        wanted = edit(ctx, p, config)
        if wanted != config:
            cd.write(ctx, staging, wanted, etag)
        cd.wait_deployed(ctx, staging, p.timeout, p.every)
        self._grant(ctx, staging, wanted)
        # resumed, the policy of the interrupted phase still routes traffic: what is live
        # stays as its note said until phase 1 sets the policy again
        unrouted = cd.find_policy(ctx, domain) is None
        ctx.note(f"staging copy {staging} of {primary} made and deployed with the change"
                 + ("; no request reaches it yet" if unrouted else ""), staging=staging,
                 **({"live": live_copy(primary, staging)} if unrouted else {}))
        phases: list[dict[str, Any]] = []
        value = re.sub(r"[^A-Za-z0-9._-]", "-", ctx.run_id)
        policy = ""
        for n, phase in enumerate(p.traffic, 1):
            policy = self._traffic(ctx, n, phase, (staging, domain), value, policy)
            traffic = "header" if phase.header else f"{phase.weight:.0%}"
            if phase.hold:
                ctx.progress(f"phase {n}: holding {format_duration(phase.hold)}")
                ctx.sleep(phase.hold)
            seen = run_phase_checks(ctx, phase, {cd.HEADER: value} if phase.header else {})
            phases.append({"phase": n, "traffic": traffic, **seen})
            if not seen["ok"]:
                raise KindError(f"phase {n} ({phases[-1]['traffic']}) failed: "
                                f"{seen['summary']}. Nothing was promoted: rollback pulls "
                                "back without deploying the primary's configuration")
            ctx.note(f"phase {n} ({traffic}) passed: {seen['summary']}", phase=n,
                     traffic=traffic, passed=True)
            self._gate(ctx, n, phases[-1]["traffic"], seen["summary"], last=n == len(p.traffic))
        ctx.note(f"promoting: {primary} takes the staging configuration", promoting=True,
                 live=live_promoting(primary, staging))  # first: it replaces the primary's
        cd.promote(ctx, primary, staging)
        cd.wait_deployed(ctx, primary, p.timeout, p.every)
        ctx.note(f"promoted: the staging configuration is {primary}'s own, deployed",
                 promoted=True, live=live_promoted(primary, staging))
        self._clean_up(ctx, staging, domain)
        final, etag = cd.config_of(ctx, primary)
        self._invalidate(ctx, etag, "apply")  # the primary's caches hold the old version
        return {"staging_id": staging, "etag": etag, "phases": phases, "config": final,
                "promoted": True}

    def _traffic(self, ctx: RunContext, n: int, phase: Phase, copy: tuple[str, str],
                 value: str, policy: str) -> str:
        """Set phase ``n``'s traffic and journal it with what is live; returns the policy.

        A weighted phase is journaled twice: before the policy update (visitors *may* be
        split from the call on: an interrupt inside it must not say they are all on the
        primary) and after (they are). The header phase once, after the policy is made and
        attached: until then no request reaches the copy."""
        primary, (staging, domain) = self.params.id, copy
        if phase.header:
            shape = cd.traffic(header=cd.HEADER, value=value)
        else:
            sticky = phase.stickiness
            shape = cd.traffic(weight=float(phase.weight or 0),
                               idle=int(sticky.idle) if sticky else None,
                               most=int(sticky.max or sticky.idle) if sticky else None)
        traffic = "header" if phase.header else f"{phase.weight:.0%}"

        def live(policy: str, *, pending: bool = False) -> dict[str, str]:
            return live_phase(primary, staging, policy, pending=pending,
                              header=f"{cd.HEADER}: {value}" if phase.header else None,
                              weight=phase.weight,
                              idle=phase.stickiness.idle if phase.stickiness else None)

        if not phase.header:
            ctx.note(f"phase {n} ({traffic}): sending {traffic} of requests to the staging "
                     "configuration", phase=n, traffic=traffic, pending=True,
                     live=live(policy, pending=True))
        policy = cd.set_policy(ctx, domain, cd.policy_config(domain, shape))
        if n == 1:
            self._attach(ctx, domain)
        ctx.note(f"phase {n} ({traffic}): " + (
            f"requests with {cd.HEADER}: {value} reach the staging configuration"
            if phase.header else f"{traffic} of requests reach the staging configuration"),
            phase=n, traffic=traffic, live=live(policy))
        return policy

    def _invalidate(self, ctx: RunContext, etag: str, why: str) -> None:
        paths = list(self.params.invalidate or [])
        if paths:
            invalidate(ctx, self.params.id, paths, reference(ctx, etag, paths, why),
                       wait=self.params.wait, timeout=900.0, every=10.0)

    def _attach(self, ctx: RunContext, domain: str) -> None:
        found = cd.find_policy(ctx, domain)
        assert found is not None
        config, etag = cd.config_of(ctx, self.params.id)
        if config.get("ContinuousDeploymentPolicyId") != found[0]:
            cd.write(ctx, self.params.id, {**config, "ContinuousDeploymentPolicyId": found[0]},
                     etag)
        cd.wait_deployed(ctx, self.params.id, self.params.timeout, self.params.every)

    def _gate(self, ctx: RunContext, n: int, traffic: str, summary: str, *, last: bool) -> None:
        op = ctx.operator
        then = "promote the staging configuration" if last else "go to the next phase"
        if op is None or not op.confirm(f"phase {n} ({traffic}) passed: {summary}. {then}?"):
            raise KindError(f"the operator stopped after phase {n} ({traffic}); nothing was "
                            "promoted: rollback pulls back without deploying the primary's "
                            "configuration")

    def _grant(self, ctx: RunContext, staging: str, config: dict[str, Any]) -> None:
        """The developer guide's note: a primary reading its bucket through an OAC needs the
        bucket policy to let the staging distribution read too. Checked before any traffic
        moves; granted here with ``grant_staging``."""
        from runbook.kinds.aws.s3common import get_policy, s3

        bucket = _oac_bucket(config, config)
        if bucket is None:
            return
        dist = call(cd.cf(ctx), "get_distribution", f"distribution {staging}",
                       Id=staging)["Distribution"]
        arn = str(dist["ARN"])
        policy = get_policy(ctx, bucket)
        if read(policy, bucket=bucket, key="index.html", distribution_arn=arn, oai_ids=[],
                signs_with_oac=True).granted_by:
            return
        if not self.params.grant_staging:
            raise KindError(f"bucket {bucket}'s policy does not let the staging distribution "
                            f"{staging} read (no Allow of s3:GetObject to "
                            f"cloudfront.amazonaws.com with AWS:SourceArn {arn}): every "
                            "request routed to it would get 403. Add `grant_staging: true`, "
                            "or grant it in the bucket policy; no traffic was moved")
        import json

        call(s3(ctx), "put_bucket_policy", f"bucket {bucket}", Bucket=bucket,
                Policy=json.dumps(with_statement(policy, oac_statement(bucket, staging, arn))))

    def _clean_up(self, ctx: RunContext, staging: str, domain: str) -> None:
        """Policy detached and deleted, the staging grant taken out, staging deleted."""
        p = self.params
        config, etag = cd.config_of(ctx, p.id)
        if config.get("ContinuousDeploymentPolicyId"):
            cd.write(ctx, p.id, cd.without_policy(config), etag)
        cd.delete_policy(ctx, domain)
        _ungrant(ctx, config, staging)
        cd.delete_staging(ctx, staging, p.timeout, p.every)
        cd.wait_deployed(ctx, p.id, p.timeout, p.every)
        ctx.note(f"cleaned up: the continuous deployment policy of {p.id} detached and "
                 f"deleted, the staging copy {staging} deleted", cleaned=True, live=None)

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """A run killed inside apply, resumed: the change goes on from where AWS is. Not
        promoted yet: the phases run again from the header phase (their checks only read;
        the copy, the policy and the attachment are found, not made twice), then promotion.
        Promoted: the clean-up is finished."""
        p = self.params
        found = cd.find_staging(ctx, p.id)
        live, _ = cd.config_of(ctx, p.id)
        promoted = cd.without_policy(live) != cd.without_policy(snapshot["config"])
        if found is not None and not promoted:
            return self.apply(ctx, snapshot)
        if found is not None:
            self._clean_up(ctx, *found)
        final, etag = cd.config_of(ctx, p.id)
        return {"staging_id": found[0] if found else "", "etag": etag, "phases": [],
                "config": final, "promoted": promoted}

    # ---- restore, proof --------------------------------------------------------------------

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        p, target = self.params, dict(snapshot["config"])
        found = cd.find_staging(ctx, p.id)
        live, etag = cd.config_of(ctx, p.id)
        promoted = cd.without_policy(live) != cd.without_policy(target)
        if found is not None and cd.disable_policy(ctx, found[1]):
            ctx.note(f"pulled back: the continuous deployment policy of {p.id} is disabled, "
                     "every request is served by the primary's configuration", live=None)
        if live != target:
            cd.write(ctx, p.id, target, etag)  # detaches the policy; after promotion, undoes it
        if found is not None:
            cd.delete_policy(ctx, found[1])
            _ungrant(ctx, target, found[0])
            cd.delete_staging(ctx, found[0], p.timeout, p.every)
        cd.wait_deployed(ctx, p.id, p.timeout, p.every)
        if promoted:
            ctx.note(f"promotion undone: distribution {p.id}'s snapshot written back and "
                     "deployed", rollback="promotion undone", live=None)
            # the caches hold the promoted version; a pull-back changed nothing they hold
            self._invalidate(ctx, cd.config_of(ctx, p.id)[1], "restore")
        elif found is not None:
            ctx.note(f"pulled back before promotion: distribution {p.id}'s configuration was "
                     "never replaced (primary untouched); policy and staging copy deleted",
                     rollback="pulled back", live=None)

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        changes = deep_diff(in_set_order(snapshot["config"], CLOUDFRONT_SETS),
                            in_set_order(cd.config_of(ctx, self.params.id)[0], CLOUDFRONT_SETS))
        if changes:
            shown = "; ".join(f"{p} is {n!r}, was {o!r}" for p, o, n in changes[:3])
            return f"distribution {self.params.id} differs from its snapshot: {shown}"
        left = cd.find_staging(ctx, self.params.id)
        if left is not None:
            return f"the staging distribution {left[0]} of {self.params.id} still exists"
        return None

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if "config" not in applied:
            return None
        changes = deep_diff(in_set_order(applied["config"], CLOUDFRONT_SETS),
                            in_set_order(cd.config_of(ctx, self.params.id)[0], CLOUDFRONT_SETS))
        return describe_drift(f"distribution {self.params.id}", changes) if changes else None


def _refusal(config: dict[str, Any], dist_id: str) -> str | None:
    """AWS's rules a plan can be refused on before anything moves."""
    if config.get("HttpVersion") in cd.HTTP3:
        return (f"distribution {dist_id} has HTTP/3 enabled (HttpVersion "
                f"{config['HttpVersion']}): CloudFront continuous deployment cannot be used "
                "with it; use cloudfront.update, or turn HTTP/3 off first")
    if config.get("Staging"):
        return f"distribution {dist_id} is itself a staging distribution"
    if config.get("ContinuousDeploymentPolicyId"):
        return (f"distribution {dist_id} already has a continuous deployment policy "
                f"({config['ContinuousDeploymentPolicyId']}): one staging distribution per "
                "primary; finish or remove that one first")
    return None


def _oac_bucket(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    origin = default_origin(after)
    if not origin.get("OriginAccessControlId"):
        return None
    return bucket_of(str(origin.get("DomainName", "")))


def _ungrant(ctx: RunContext, config: dict[str, Any], staging: str) -> None:
    """Take out the statement ``_grant`` added for the staging copy (by its Sid)."""
    import json

    from runbook.kinds.aws.s3common import get_policy, s3

    for origin in (config.get("Origins") or {}).get("Items") or []:
        bucket = bucket_of(str(origin.get("DomainName", "")))
        if bucket is None:
            continue
        for name in {bucket} | _staged_buckets(ctx, staging):
            policy = get_policy(ctx, name)
            stmts = list((policy or {}).get("Statement") or [])
            kept = [s for s in stmts if not (isinstance(s, dict)
                                             and s.get("Sid") == sid_for(staging))]
            if policy is not None and kept != stmts:
                call(s3(ctx), "put_bucket_policy", f"bucket {name}", Bucket=name,
                        Policy=json.dumps({**policy, "Statement": kept}))


def _staged_buckets(ctx: RunContext, staging: str) -> set[str]:
    try:
        config, _ = cd.config_of(ctx, staging)
    except Exception:
        return set()
    return {b for o in (config.get("Origins") or {}).get("Items") or []
            if (b := bucket_of(str(o.get("DomainName", "")))) is not None}

