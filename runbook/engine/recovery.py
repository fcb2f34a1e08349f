"""Putting things back and picking things up: rollback, and the recovery of a resumed run.

Functions over a ``Walker``: the part of the Executor (``engine/executor.py`` walks the
plan) that undoing or settling what a walk left needs. A protocol, so that this module
does not import the executor that imports it. Rollback goes newest first: a drift guard,
the restore (auto from the snapshot, or the plan's rollback actions), then the step's
pre checks re-run to prove the world is as before.
"""

from __future__ import annotations

from typing import Any, Protocol

from runbook import kinds
from runbook.context import Operator, RunContext
from runbook.engine.journal import AppliedStep, Journal, RunState
from runbook.engine.outcome import LOOK, ROLLED_BACK, Outcome
from runbook.errors import RunbookError
from runbook.kinds.base import Action, CheckResult
from runbook.plan.model import ActionSpec, CheckSpec, Plan, Step
from runbook.plan.template import TemplateError


class Walker(Protocol):
    """What recovery uses of the executor."""

    plan: Plan
    ctx: RunContext
    journal: Journal
    operator: Operator
    state: RunState

    def action_for(self, spec: ActionSpec) -> tuple[Action[Any], dict[str, Any]]: ...

    def run_checks(self, specs: tuple[CheckSpec, ...], **kw: Any) -> list[CheckResult]: ...

    def _failure(self, what: str, step: Step | None, *, can_skip: bool = True) -> str: ...


# ---- rollback --------------------------------------------------------------------


def rollback(ex: Walker, why: str) -> Outcome:
    """Undo every applied step, newest first, each proved by its pre checks."""
    pending = list(reversed(ex.state.applied.values()))
    for rec in pending:
        step = ex.plan.step(rec.step)
        if step is None:
            ex.journal.write("rollback.failed", step=rec.step, error="the step is not in the plan")
            return Outcome(LOOK, "rollback_failed", f"step {rec.step} is not in the plan")
        problem = _rollback_step(ex, step, rec)
        if problem is not None:
            return Outcome(LOOK, "rollback_failed", problem)
    if not pending:
        return Outcome(ROLLED_BACK, "rolled_back", f"{why}; nothing had been changed")
    return Outcome(
        ROLLED_BACK, "rolled_back", f"{why}; {len(pending)} step(s) rolled back and verified"
    )


def _rollback_step(ex: Walker, step: Step, rec: AppliedStep) -> str | None:
    ex.journal.write("rollback.started", step=step.id, stage=step.stage)
    cls = kinds.action(step.action.kind)
    rb = step.rollback
    try:
        if rb.mode == "none":
            ex.journal.write(
                "rollback.failed",
                step=step.id,
                error=f"rollback is none: {rb.reason or 'no reason given'}",
            )
            return f"step {step.id} cannot be rolled back ({rb.reason or 'rollback: none'})"
        if rb.mode == "auto" and cls is not None and not cls.reversible:
            ex.journal.write(
                "rollback.skipped",
                step=step.id,
                reason=cls.irreversible_reason or "nothing to restore",
            )
            _forget(ex, step.id)
            return None
        action, _ = ex.action_for(step.action)
        outputs = rec.outputs if rec.outputs is not None else {}
        if rec.outputs is not None:
            drift = action.drifted(ex.ctx, outputs)
            if drift is not None:
                ex.journal.write("rollback.drift", step=step.id, detail=drift)
                restore = (
                    ex.operator.interactive
                    and ex.operator.choose(
                        f"Step {step.id} was changed by someone else since this run: {drift}. "
                        "Restore the snapshot anyway?",
                        [("restore", "restore it anyway"), ("leave", "leave it; I will look")],
                    )
                    == "restore"
                )
                ex.journal.write(
                    "decision", step=step.id, choice="restore" if restore else "leave", reason=drift
                )
                if not restore:
                    return f"step {step.id} drifted: {drift}; left untouched"
        if rb.mode == "actions":
            for spec in rb.actions:
                undo, _ = ex.action_for(spec)
                undo.apply(ex.ctx, undo.snapshot(ex.ctx))
        else:
            action.restore(ex.ctx, rec.snapshot, outputs)
    except TemplateError as exc:
        ex.journal.write("rollback.failed", step=step.id, error=str(exc))
        return f"rolling back step {step.id} failed: {exc}"
    except RunbookError as exc:
        ex.journal.write("rollback.failed", step=step.id, error=str(exc))
        return f"rolling back step {step.id} failed: {exc}"
    ex.journal.write("rollback.restored", step=step.id)
    results = ex.run_checks(step.pre, phase="verify", stage=step.stage, step=step.id)
    bad = [r for r in results if not r.ok]
    if bad:
        ex.journal.write(
            "rollback.failed", step=step.id, error=f"{len(bad)} pre check(s) fail after the restore"
        )
        return (
            f"step {step.id} was restored but {len(bad)} of its pre checks still "
            f"fail: {bad[0].summary}"
        )
    ex.journal.write("rollback.verified", step=step.id)
    _forget(ex, step.id)
    return None


def _forget(ex: Walker, step_id: str) -> None:
    ex.state.applied.pop(step_id, None)
    ex.state.outputs.pop(step_id, None)
    ex.state.steps_done.discard(step_id)
    ex.state.rolled_back.append(step_id)


# ---- resume ----------------------------------------------------------------------


def settle_in_flight(ex: Walker) -> None:
    """A step whose intent was written but not its outcome: find out, don't guess.

    Re-take the snapshot and compare it with the one in the intent. Unchanged: the
    change never happened and the step runs again. Changed: it happened (or half
    happened); the post checks decide, as they would have.
    """
    rec = ex.state.in_flight
    if rec is None:
        return
    step = ex.plan.step(rec.step)
    if step is None:
        return
    action, _ = ex.action_for(step.action)
    now = action.snapshot(ex.ctx)
    if now == rec.snapshot:
        ex.journal.write(
            "resume.check",
            step=step.id,
            happened=False,
            detail="the state matches the snapshot: the action did not run",
        )
        del ex.state.applied[step.id]
        return
    ex.journal.write(
        "resume.check",
        step=step.id,
        happened=True,
        detail="the state differs from the snapshot: the action ran",
    )
    outputs = action.recover(ex.ctx, rec.snapshot)
    ex.journal.write("applied", step=step.id, stage=step.stage, outputs=outputs, recovered=True)
    rec.outputs = outputs
    ex.state.outputs[step.id] = outputs
    stage = next(s for s in ex.plan.stages if s.name == step.stage)
    bad = [
        r
        for r in ex.run_checks(step.post, phase="post", stage=stage.name, step=step.id)
        if not r.ok
    ]
    if bad:
        ex._failure(f"{len(bad)} post check(s) of step {step.id} failed after resume", step)
    ex.journal.write("verified", step=step.id, stage=step.stage)
    rec.verified = True
    ex.state.steps_done.add(step.id)


def verify_unverified(ex: Walker) -> None:
    """Applied but not verified when the run died: run the post checks now."""
    for rec in list(ex.state.applied.values()):
        if rec.outputs is None or rec.verified:
            continue
        step = ex.plan.step(rec.step)
        if step is None:
            continue
        while True:
            bad = [
                r
                for r in ex.run_checks(step.post, phase="post", stage=step.stage, step=step.id)
                if not r.ok
            ]
            if (
                not bad
                or ex._failure(
                    f"{len(bad)} post check(s) of step {step.id} failed after resume", step
                )
                != "retry"
            ):
                break
        if step.id in ex.state.applied and step.id not in ex.state.skipped:
            ex.journal.write("verified", step=step.id, stage=step.stage)
            rec.verified = True
            ex.state.steps_done.add(step.id)
