"""Putting things back and picking things up: rollback, and the recovery of a resumed run.

Functions over a ``Walker``: the part of the Executor (``engine/executor.py`` walks the
plan) that undoing or settling what a walk left needs. A protocol, so that this module
does not import the executor that imports it.

Rollback goes newest first. For each step: a drift guard, the restore (auto from the
snapshot, or the plan's rollback actions), then the proof: the resource is read again
and compared with the snapshot taken before the change, and the step's ``verify`` checks
must pass. A kind that keeps no snapshot (a shell action without ``state``, a manual
step) is "undone, not proved". A restore that cannot be proved stops the rollback there:
nothing earlier is touched while a later step may still be wrong.

A step whose intent was journaled but not its outcome is settled from the same evidence
by resume and by rollback: the live snapshot against the intent's.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from runbook import kinds
from runbook.context import Operator, RunContext
from runbook.engine.journal import AppliedStep, Journal, RunState
from runbook.engine.outcome import LOOK, ROLLED_BACK, Outcome, Stop
from runbook.errors import RunbookError
from runbook.kinds.base import Action, CheckResult
from runbook.plan.model import ActionSpec, CheckSpec, Plan, Step
from runbook.plan.template import TemplateError
from runbook.store import state_option


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


Verdict = Literal["verified", "undone", "nothing"]


class _Stuck(Exception):
    """This step's rollback cannot go on (or cannot be proved): stop here."""


# ---- did an interrupted action happen? -------------------------------------------------


def happened(ex: Walker, step: Step, rec: AppliedStep) -> tuple[bool | None, str]:
    """(True/False, why) when the live snapshot tells; (None, why) when it cannot."""
    try:
        action, _ = ex.action_for(step.action)
        if not action.provable():
            return None, (f"step {step.id} was interrupted between its intent and its "
                          f"outcome, and its kind ({step.action.kind}) keeps no snapshot "
                          "to compare with, so runbook cannot tell whether it ran")
        now = action.snapshot(ex.ctx)
    except (RunbookError, TemplateError) as exc:
        return None, (f"step {step.id} was interrupted between its intent and its outcome, "
                      f"and its state cannot be read to tell whether it ran: {exc}")
    if action.unchanged(rec.snapshot, now):
        return False, "the state matches the snapshot: the action did not run"
    return True, "the state differs from the snapshot: the action ran"


def _ask_happened(ex: Walker, step: Step, why: str, *, doing: str) -> str:
    """A person decides: "ran", "not-ran" or "stop" (without a terminal: stop)."""
    if not ex.operator.interactive:
        return "stop"
    choice = ex.operator.choose(
        f"{why}. Did it run?",
        [("ran", f"it ran: {doing}"), ("not-ran", "it did not run"),
         ("stop", "stop; I will look")]) or "stop"
    ex.journal.write("decision", step=step.id, choice=choice, reason=why)
    return choice


# ---- rollback --------------------------------------------------------------------


def rollback(ex: Walker, why: str) -> Outcome:
    """Undo every applied step, newest first, each proved before the next is touched."""
    pending = list(reversed(ex.state.applied.values()))
    verdicts: dict[str, Verdict] = {}
    for rec in pending:
        step = ex.plan.step(rec.step)
        try:
            if step is None:
                ex.journal.write("rollback.failed", step=rec.step,
                                 error="the step is not in the plan")
                raise _Stuck(f"step {rec.step} is not in the plan")
            verdicts[rec.step] = _rollback_step(ex, step, rec)
        except _Stuck as stuck:
            return _stopped(ex, str(stuck))
    if not pending:
        return Outcome(ROLLED_BACK, "rolled_back", f"{why}; nothing had been changed")
    proved = [s for s, v in verdicts.items() if v == "verified"]
    unproved = [s for s, v in verdicts.items() if v == "undone"]
    parts = [f"{len(proved)} step(s) rolled back and verified"] if proved else []
    if unproved:
        parts.append(f"{len(unproved)} undone, not proved ({', '.join(unproved)}: no "
                     "snapshot to compare with; look at them)")
    nothing = len(verdicts) - len(proved) - len(unproved)
    if nothing:
        parts.append(f"{nothing} had nothing to restore")
    return Outcome(ROLLED_BACK, "rolled_back_unproved" if unproved else "rolled_back",
                   f"{why}; " + "; ".join(parts))


def _stopped(ex: Walker, problem: str) -> Outcome:
    still = tuple(ex.state.applied)
    store = ex.journal.store
    state = state_option(store)
    command = f"runbook rollback {state}{ex.ctx.run_id}"
    text = problem
    if still:
        text += (f". Still applied: {', '.join(still)}. Once you have looked, "
                 f"`{command}` goes on")
    return Outcome(LOOK, "rollback_failed", text, still_applied=still,
                   next_command=command if still else None)


def _fail(ex: Walker, step: Step, error: str, problem: str | None = None) -> _Stuck:
    ex.journal.write("rollback.failed", step=step.id, error=error)
    return _Stuck(problem or f"rolling back step {step.id} failed: {error}")


def _rollback_step(ex: Walker, step: Step, rec: AppliedStep) -> Verdict:
    ex.journal.write("rollback.started", step=step.id, stage=step.stage)
    cls = kinds.action(step.action.kind)
    rb = step.rollback
    if rb.mode == "none":
        why = rb.reason or "no reason given"
        raise _fail(ex, step, f"rollback is none: {why}",
                    f"step {step.id} cannot be rolled back ({rb.reason or 'rollback: none'})")
    if rb.mode == "auto" and cls is not None and not cls.reversible:
        ex.journal.write("rollback.skipped", step=step.id,
                         reason=cls.irreversible_reason or "nothing to restore")
        _forget(ex, step.id)
        return "nothing"
    try:
        action, _ = ex.action_for(step.action)
    except (TemplateError, RunbookError) as exc:
        raise _fail(ex, step, str(exc)) from exc
    if not rec.restored:
        if rec.outputs is None and _never_ran(ex, step, rec):
            return "nothing"
        _guard_drift(ex, step, rec, action)
        try:
            if rb.mode == "actions":
                for spec in rb.actions:
                    undo, _ = ex.action_for(spec)
                    undo.apply(ex.ctx, undo.snapshot(ex.ctx))
            else:
                action.restore(ex.ctx, rec.snapshot, rec.outputs or {})
        except (TemplateError, RunbookError) as exc:
            raise _fail(ex, step, str(exc)) from exc
        ex.journal.write("rollback.restored", step=step.id)
        rec.restored = True
    return _prove(ex, step, rec, action)


def _never_ran(ex: Walker, step: Step, rec: AppliedStep) -> bool:
    """In flight when the run died: skip the undo of an action that never ran; ask (or
    stop) when the evidence cannot tell."""
    ran, why = happened(ex, step, rec)
    ex.journal.write("resume.check", step=step.id, happened=ran, detail=why)
    if ran is None:
        choice = _ask_happened(ex, step, why, doing="undo it")
        if choice == "stop":
            raise _fail(ex, step, why, f"{why}; look at it, then roll back again")
        ran = choice == "ran"
    if ran:
        return False
    ex.journal.write("rollback.skipped", step=step.id,
                     reason="the action never ran: nothing to undo")
    _forget(ex, step.id)
    return True


def _guard_drift(ex: Walker, step: Step, rec: AppliedStep, action: Action[Any]) -> None:
    if rec.outputs is None:
        return  # interrupted mid-change: nothing recorded to compare with
    try:
        drift = action.drifted(ex.ctx, rec.outputs)
    except RunbookError as exc:
        raise _fail(ex, step, f"cannot read it to guard against drift: {exc}") from exc
    if drift is None:
        return
    ex.journal.write("rollback.drift", step=step.id, detail=drift)
    restore = ex.operator.interactive and ex.operator.choose(
        f"Step {step.id} was changed by someone else since this run: {drift}. "
        "Restore the snapshot anyway?",
        [("restore", "restore it anyway"), ("leave", "leave it; I will look")]) == "restore"
    ex.journal.write("decision", step=step.id, choice="restore" if restore else "leave",
                     reason=drift)
    if not restore:
        raise _Stuck(f"step {step.id} drifted: {drift}; left untouched")


def _prove(ex: Walker, step: Step, rec: AppliedStep, action: Action[Any]) -> Verdict:
    """Re-read and compare with the snapshot; then the step's verify checks."""
    provable = action.provable()
    if provable:
        try:
            differs = action.restored(ex.ctx, rec.snapshot, rec.outputs or {})
        except RunbookError as exc:
            differs = f"it cannot be read back: {exc}"
        if differs is not None:
            raise _fail(ex, step, f"the restore is not proved: {differs}",
                        f"step {step.id} was restored but does not read back as before the "
                        f"change: {differs}")
    bad = [r for r in ex.run_checks(step.verify, phase="verify", stage=step.stage,
                                    step=step.id) if not r.ok]
    if bad:
        raise _fail(ex, step, f"{len(bad)} verify check(s) fail after the restore",
                    f"step {step.id} was restored but {len(bad)} of its verify checks "
                    f"fail: {bad[0].summary}")
    if provable:
        ex.journal.write("rollback.verified", step=step.id,
                         proof="the resource reads back as its snapshot",
                         checks=len(step.verify))
        verdict: Verdict = "verified"
    else:
        ex.journal.write("rollback.undone", step=step.id, checks=len(step.verify),
                         reason=f"undone, not proved: {step.action.kind} keeps no snapshot "
                                "to compare with")
        verdict = "undone"
    _forget(ex, step.id)
    return verdict


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
    happened); its post checks decide (``verify_unverified``), as they would have.
    Cannot tell: a person says, or the resume stops (exit 3).
    """
    rec = ex.state.in_flight
    if rec is None:
        return
    step = ex.plan.step(rec.step)
    if step is None:
        return
    ran, why = happened(ex, step, rec)
    ex.journal.write("resume.check", step=step.id, happened=ran, detail=why)
    if ran is None:
        choice = _ask_happened(ex, step, why, doing="check it with its post checks")
        if choice == "stop":
            raise Stop(Outcome(LOOK, "stopped", f"{why}; look at it, then resume or roll "
                                                "back again"))
        ran = choice == "ran"
    if not ran:
        del ex.state.applied[step.id]
        return
    action, _ = ex.action_for(step.action)
    outputs = action.recover(ex.ctx, rec.snapshot)
    ex.journal.write("applied", step=step.id, stage=step.stage, outputs=outputs, recovered=True)
    rec.outputs = outputs
    ex.state.outputs[step.id] = outputs
    # verify_unverified runs its post checks next, as they would have run


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
