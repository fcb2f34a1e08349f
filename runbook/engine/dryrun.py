"""``runbook plan``: the dry run. Runs the read-only checks that can run now, takes each
action's snapshot and diff against live state, and changes nothing.

A step's preview may need something an earlier step creates (a cloudfront.update that
points at the bucket an s3.bucket step makes first): AWS then answers "NoSuchBucket".
That is not AWS refusing anything: the dry run says which earlier step creates it and
marks the preview `not yet`, as it does for checks that belong after a step.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace

from runbook.context import Operator, RunContext
from runbook.engine.executor import Executor, Preview
from runbook.engine.journal import Journal
from runbook.errors import KindError, RunbookError
from runbook.kinds.base import CheckResult
from runbook.plan.model import CheckSpec, Plan, Step
from runbook.plan.template import references
from runbook.store.local import LocalStore


@dataclass
class CheckLine:
    where: str
    spec: CheckSpec
    result: CheckResult | None  # None: depends on a step that has not run
    later: bool  # belongs after some step: failing now may be expected


@dataclass
class DryRun:
    checks: list[CheckLine] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    could_start: bool = True
    # step id -> "after step `bucket` creates acme-docs-v2 (...)": previews marked not yet
    after: dict[str, str] = field(default_factory=dict)
    # step id -> "step `try` changes bucket old-redirect first (...)": a diff read against
    # the state now, which an earlier step of the plan changes before this one runs
    against_now: dict[str, str] = field(default_factory=dict)


# the parameters that name the resource an action changes, in the kinds' own words
_NAMES = ("bucket", "id", "distribution", "alias", "name")


def _target(step: Step) -> tuple[str, str, str] | None:
    """(kind, parameter, value) naming what the step's action changes, when it says."""
    params = step.action.params
    for key in _NAMES:
        value = params.get(key)
        if isinstance(value, str) and value:
            return step.action.kind, key, value
    return None


def _deferred_steps(spec: CheckSpec) -> bool:
    return any(ref.kind == "step" for ref, _ in references(spec.params))


def dry_run(plan: Plan, ctx: RunContext, operator: Operator) -> DryRun:
    """``runbook plan``: everything read-only, against the context a provider wired (and
    so proved: AWS settings that do not work are refused before this). What it runs is
    journaled, as a run's is, into a journal thrown away at the end."""
    ctx.dry_run = True
    with tempfile.TemporaryDirectory(prefix="runbook-plan-") as tmp:
        store = LocalStore(tmp)
        store.create_run(ctx.run_id)
        executor = Executor(plan, ctx, Journal(store, ctx.run_id, ctx.secrets), operator)
        return _walk(executor)


def _walk(executor: Executor) -> DryRun:
    plan = executor.plan
    out = DryRun()
    first_step_seen = False
    changed: dict[tuple[str, str, str], str] = {}  # what earlier steps change -> step id
    for n, stage in enumerate(plan.stages):
        for spec in stage.checks:
            out.checks.append(_run(executor, spec, f"{stage.name}: gate", n > 0 or
                                   first_step_seen, stage.name))
        for step in stage.steps:
            later = first_step_seen
            for spec in step.pre:
                out.checks.append(_run(executor, spec, f"{step.id}: pre", later, stage.name,
                                       step.id))
            preview = executor.preview(step)
            after = _made_earlier(preview.cause, out.previews)
            if after is not None:
                out.after[step.id] = after
                preview = replace(preview, error=None)
            target = _target(step)
            if target is not None and target in changed and preview.diff is not None \
                    and preview.diff.changes:
                kind, key, value = target
                out.against_now[step.id] = (
                    f"step `{changed[target]}` changes the same {kind} ({key} {value}) "
                    "earlier in this plan: this diff is against it as it is now, and the "
                    "run's gate shows the diff against what that step left")
            if target is not None and preview.diff is not None and preview.diff.changes:
                changed.setdefault(target, step.id)
            out.previews.append(preview)
            first_step_seen = True
    first = plan.stages[0]
    first_specs = list(first.checks) + (list(first.steps[0].pre) if first.steps else [])
    out.could_start = all(c.result is not None and c.result.ok for c in out.checks
                          if c.spec in first_specs)
    return out


def _made_earlier(failure: RunbookError | None, earlier: list[Preview]) -> str | None:
    """"after step `bucket` creates acme-docs-v2 (...)" when ``failure`` says a resource is
    missing and the preview of an earlier step shows that step creating it."""
    if not isinstance(failure, KindError) or not failure.missing:
        return None
    resource = failure.missing
    code = str(getattr(failure, "code", "") or "not found")
    name = _name_of(resource)
    for pv in reversed(earlier):  # the nearest earlier step that creates it
        if pv.diff is None:
            continue
        if any(c.old is None and name in _words(c.path) for c in pv.diff.changes):
            return (f"after step `{pv.step.id}` creates {name} (this step's preview reads "
                    f"{resource}, which does not exist yet: {code})")
    return None


def _name_of(resource: str) -> str:
    """The name in a resource as the AWS kinds write it: "bucket acme-docs-v2" and
    "s3://acme-docs-v2/v1/" both name acme-docs-v2."""
    if resource.startswith("s3://"):
        return resource[5:].split("/", 1)[0]
    return resource.rsplit(" ", 1)[-1]


def _words(path: str) -> set[str]:
    """"bucket acme-docs-v2.Policy" -> {"bucket", "acme-docs-v2", ...}: names, not substrings
    (acme-docs is not acme-docs-v2)."""
    out = set(path.replace("s3://", " ").replace("/", " ").split())
    out |= {w.split(".", 1)[0] for w in list(out)}  # "acme-docs-v2.Policy"
    return out | {w.rsplit(".", 1)[0] for w in list(out)}


def _run(executor: Executor, spec: CheckSpec, where: str, later: bool, stage: str,
         step: str | None = None) -> CheckLine:
    if _deferred_steps(spec):
        return CheckLine(where, spec, None, later)
    return CheckLine(where, spec, executor.run_check(spec, phase="dry-run", stage=stage,
                                                     step=step, poll=False), later)
