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

from functools import partial
from typing import Any, Literal, Protocol

from runbook import kinds
from runbook.context import Operator, RunContext
from runbook.engine.journal import AppliedStep, Journal, RunState
from runbook.engine.kindcall import kind_call
from runbook.engine.outcome import LOOK, ROLLED_BACK, Answers, Outcome, Stop
from runbook.engine.throwaway import is_throwaway, later
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
    answers: Answers

    def action_for(self, spec: ActionSpec) -> tuple[Action[Any], dict[str, Any]]: ...

    def run_checks(self, specs: tuple[CheckSpec, ...], **kw: Any) -> list[CheckResult]: ...

    def failure(self, what: str, step: Step | None, *, can_skip: bool = True) -> str: ...


Verdict = Literal["verified", "undone", "nothing"]


class _Stuck(Exception):
    """This step's rollback cannot go on (or cannot be proved): stop here."""

    def __init__(self, problem: str, *, asked: bool = False) -> None:
        super().__init__(problem)
        self.asked = asked  # the problem says how to answer the question that stopped it


# ---- did an interrupted action happen? -------------------------------------------------


def happened(ex: Walker, step: Step, rec: AppliedStep) -> tuple[bool | None, str]:
    """(True/False, why) when the live snapshot tells; (None, why) when it cannot."""
    call = partial(kind_call, step.id, step.action)
    try:
        action, _ = ex.action_for(step.action)
        if not call("provable", action.provable):
            return None, (f"step {step.id} was interrupted between its intent and its "
                          f"outcome, and its kind ({step.action.kind}) keeps no snapshot "
                          "to compare with, so runbook cannot tell whether it ran")
        now = call("snapshot", partial(action.snapshot, ex.ctx))
        same = call("unchanged", partial(action.unchanged, rec.snapshot, now))
    except (RunbookError, TemplateError) as exc:
        return None, (f"step {step.id} was interrupted between its intent and its outcome, "
                      f"and its state cannot be read to tell whether it ran: {exc}")
    if same:
        return False, "the state matches the snapshot: the action did not run"
    return True, "the state differs from the snapshot: the action ran"


def _settle(ex: Walker, step: Step, rec: AppliedStep) -> tuple[bool | None, str]:
    """``happened``, journaled. An answer given ahead is not used when the evidence tells."""
    ran, why = happened(ex, step, rec)
    if ran is not None and step.id in ex.answers.ran:
        why += f" (--assume {step.id} is not used: the evidence tells)"
    ex.journal.write("resume.check", step=step.id, happened=ran, detail=why)
    return ran, why


def _ask_happened(ex: Walker, step: Step, why: str, *, doing: str) -> str:
    """A person decides: "ran", "not-run" or "stop". The answer given ahead with
    ``--assume`` first; else the terminal's; without a terminal: stop."""
    given = ex.answers.ran.get(step.id)
    if given is not None:
        choice = "ran" if given else "not-run"
        ex.journal.write("decision", step=step.id, choice=choice, reason=why,
                         given="--assume", because=ex.answers.reason, by=dict(ex.answers.by))
        return choice
    if not ex.operator.interactive:
        return "stop"
    choice = ex.operator.choose(
        f"{why}. Did it run?",
        [("ran", f"it ran: {doing}"), ("not-run", "it did not run"),
         ("stop", "stop; I will look")]) or "stop"
    ex.journal.write("decision", step=step.id, choice=choice, reason=why, given="terminal",
                     by=dict(ex.answers.by))
    return choice


def undecided(ex: Walker, step: Step, mode: str) -> str:
    """What a person does about a step nobody can tell about, both ways: said once, in
    the final line (the evidence itself is in the ``resume.check`` line above it)."""
    command = f"runbook {mode} {_state_option(ex)}{ex.ctx.run_id}"
    return f"runbook cannot tell whether step {step.id} ran" + later(
        ex.plan, f". Look at it, then say: in a terminal, `{command}` asks \"Did it run?\"; "
        f"without one, give the answer with `{command} --yes --assume {step.id}=ran "
        f"--reason \"what you saw\"` (or {step.id}=not-run)")


def _state_option(ex: Walker) -> str:
    return state_option(ex.journal.store)


# ---- rollback --------------------------------------------------------------------


def rollback(ex: Walker, why: str) -> Outcome:
    """Undo every applied step, newest first, each proved before the next is touched."""
    ex.state.rolling_back = ex.state.rolling_back or why
    cut_short = ex.state.undoing  # a step whose undo an interrupt or a kill cut short
    pending = list(reversed(ex.state.applied.values()))
    verdicts: dict[str, Verdict] = {}
    for rec in pending:
        step = ex.plan.step(rec.step)
        try:
            if step is None:
                ex.journal.write("rollback.failed", step=rec.step,
                                 error="the step is not in the plan")
                raise _Stuck(f"step {rec.step} is not in the plan")
            verdicts[rec.step] = _rollback_step(ex, step, rec,
                                                cut_short=rec.step == cut_short)
        except _Stuck as stuck:
            return _stopped(ex, str(stuck), asked=stuck.asked)
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


def _stopped(ex: Walker, problem: str, *, asked: bool = False) -> Outcome:
    """The outcome of a rollback that stopped; ``asked``: the problem already says how to
    go on (a question only a person can answer)."""
    still = tuple(ex.state.applied)
    command = f"runbook rollback {_state_option(ex)}{ex.ctx.run_id}"
    text = problem
    if still and asked:
        text += f". Still applied: {', '.join(still)}"
    elif still:
        text += f". Still applied: {', '.join(still)}" + later(
            ex.plan, f". Once you have looked, `{command}` goes on")
    return Outcome(LOOK, "rollback_failed", text, still_applied=still,
                   next_command=command if still and not is_throwaway(ex.plan) else None)


def _fail(ex: Walker, step: Step, error: str, problem: str | None = None, *,
          asked: bool = False) -> _Stuck:
    ex.journal.write("rollback.failed", step=step.id, error=error)
    return _Stuck(problem or f"rolling back step {step.id} failed: {error}", asked=asked)


def _rollback_step(ex: Walker, step: Step, rec: AppliedStep, *,
                   cut_short: bool = False) -> Verdict:
    ex.journal.write("rollback.started", step=step.id, stage=step.stage)
    ex.state.undoing = step.id
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
    if not rec.restored and cut_short and _already_restored(ex, step, rec, action):
        # its undo had run before it was cut short: what the run left is gone because the
        # rollback itself put the snapshot back, not because someone else changed it
        ex.journal.write("rollback.restored", step=step.id,
                         detail="its undo ran before the rollback was cut short: it reads "
                                "back as its snapshot")
        rec.restored = True
    if not rec.restored:
        if rec.outputs is None and _never_ran(ex, step, rec):
            return "nothing"
        _guard_drift(ex, step, rec, action)
        try:
            if rb.mode == "actions":
                for spec in rb.actions:
                    undo, _ = ex.action_for(spec)
                    call = partial(kind_call, step.id, spec)
                    before = call("snapshot", partial(undo.snapshot, ex.ctx))
                    call("apply", partial(undo.apply, ex.ctx, before))
            else:
                kind_call(step.id, step.action, "restore",
                          partial(action.restore, ex.ctx, rec.snapshot, rec.outputs or {}))
        except (TemplateError, RunbookError) as exc:
            raise _fail(ex, step, str(exc)) from exc
        ex.journal.write("rollback.restored", step=step.id)
        rec.restored = True
    return _prove(ex, step, rec, action)


def _already_restored(ex: Walker, step: Step, rec: AppliedStep, action: Action[Any]) -> bool:
    """Does the step read back as its snapshot already? Only a kind that can prove a
    restore can say; any doubt (it cannot be read) is a no, and the usual path decides."""
    call = partial(kind_call, step.id, step.action)
    try:
        return bool(call("provable", action.provable)) and call(
            "restored", partial(action.restored, ex.ctx, rec.snapshot, rec.outputs or {})) is None
    except RunbookError:
        return False


def _never_ran(ex: Walker, step: Step, rec: AppliedStep) -> bool:
    """In flight when the run died: skip the undo of an action that never ran; ask (or
    stop) when the evidence cannot tell."""
    ran, why = _settle(ex, step, rec)
    if ran is None:
        choice = _ask_happened(ex, step, why, doing="undo it")
        if choice == "stop":
            raise _fail(ex, step, "whether it ran is not known: a person must say",
                        undecided(ex, step, "rollback"), asked=True)
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
        drift = kind_call(step.id, step.action, "drifted",
                          partial(action.drifted, ex.ctx, rec.outputs))
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
    call = partial(kind_call, step.id, step.action)
    try:
        provable = call("provable", action.provable)
    except RunbookError as exc:
        raise _fail(ex, step, str(exc)) from exc
    if provable:
        try:
            differs = call("restored", partial(action.restored, ex.ctx, rec.snapshot,
                                               rec.outputs or {}))
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
    if ex.state.undoing == step_id:
        ex.state.undoing = None
    ex.state.applied.pop(step_id, None)
    ex.state.outputs.pop(step_id, None)
    ex.state.steps_done.discard(step_id)
    ex.state.rolled_back.append(step_id)
    ex.state.live.pop(step_id, None)


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
    ran, why = _settle(ex, step, rec)
    if ran is None:
        choice = _ask_happened(ex, step, why, doing="check it with its post checks")
        if choice == "stop":
            raise Stop(Outcome(LOOK, "stopped", undecided(ex, step, "resume")))
        ran = choice == "ran"
    if not ran:
        del ex.state.applied[step.id]
        return
    outputs = _recover(ex, step, rec)
    ex.journal.write("applied", step=step.id, stage=step.stage, outputs=outputs, recovered=True)
    rec.outputs = outputs
    ex.state.outputs[step.id] = outputs
    ex.state.live.pop(step.id, None)
    # verify_unverified runs its post checks next, as they would have run


def _recover(ex: Walker, step: Step, rec: AppliedStep) -> dict[str, Any]:
    """The outputs of an action that ran but whose ``applied`` was never journaled. A
    failure is the step's failure (retry, roll back or stop), as one of its apply is."""
    while True:
        try:
            action, _ = ex.action_for(step.action)
            return kind_call(step.id, step.action, "recover",
                             partial(action.recover, ex.ctx, rec.snapshot))
        except RunbookError as exc:
            ex.journal.write("failed", step=step.id, phase="recover", error=str(exc),
                             source=str(step.action.source))
            ex.failure(f"step {step.id} ran, but what it made cannot be recovered: {exc}",
                       step, can_skip=False)  # comes back only to retry


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
                or ex.failure(
                    f"{len(bad)} post check(s) of step {step.id} failed after resume", step
                )
                != "retry"
            ):
                break
        if step.id in ex.state.applied and step.id not in ex.state.skipped:
            ex.journal.write("verified", step=step.id, stage=step.stage)
            rec.verified = True
            ex.state.steps_done.add(step.id)
