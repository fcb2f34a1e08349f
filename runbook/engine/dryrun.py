"""``runbook plan``: the dry run. Runs the read-only checks that can run now, takes each
action's snapshot and diff against live state, and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from runbook.engine.executor import Executor, Preview
from runbook.engine.identity import aws_principal
from runbook.kinds.base import CheckResult
from runbook.plan.model import CheckSpec
from runbook.plan.template import references


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


def _deferred_steps(spec: CheckSpec) -> bool:
    return any(ref.kind == "step" for ref, _ in references(spec.params))


def dry_run(executor: Executor) -> DryRun:
    """Everything read-only; the journal of a dry run is thrown away by the caller."""
    plan = executor.plan
    aws_principal(plan, executor.ctx)  # AWS settings that do not work: one message, exit 2
    out = DryRun()
    first_step_seen = False
    for n, stage in enumerate(plan.stages):
        for spec in stage.checks:
            out.checks.append(_run(executor, spec, f"{stage.name}: gate", n > 0 or
                                   first_step_seen, stage.name))
        for step in stage.steps:
            later = first_step_seen
            for spec in step.pre:
                out.checks.append(_run(executor, spec, f"{step.id}: pre", later, stage.name,
                                       step.id))
            out.previews.append(executor.preview(step))
            first_step_seen = True
    first = plan.stages[0]
    first_specs = list(first.checks) + (list(first.steps[0].pre) if first.steps else [])
    out.could_start = all(c.result is not None and c.result.ok for c in out.checks
                          if c.spec in first_specs)
    return out


def _run(executor: Executor, spec: CheckSpec, where: str, later: bool, stage: str,
         step: str | None = None) -> CheckLine:
    if _deferred_steps(spec):
        return CheckLine(where, spec, None, later)
    return CheckLine(where, spec, executor.run_check(spec, phase="dry-run", stage=stage,
                                                     step=step, poll=False), later)
