"""The state machine that walks a plan: gate -> pre -> snapshot -> apply -> post -> (rollback).

The executor never prints or prompts: it writes events to the Journal (whose listener
renders them), asks the Operator, and reports progress through the Display. Every
mutation is journaled before it is made (``intent`` with the snapshot) and after
(``applied`` with outputs), so a run killed at any instant can be resumed or rolled back.

Exit codes (docs/plan-format.md): 0 all applied and verified; 1 stopped and every applied step
rolled back (each proved against its snapshot, or reported as undone, not proved); 3 a
person must look; 4 finished, but some step(s) were skipped and so not verified; 130
interrupted; 143 (SIGTERM) and 129 (SIGHUP) terminated, left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from pydantic import ValidationError

from runbook.context import Operator, RunContext
from runbook.engine import baseline, interrupt, recovery
from runbook.engine.journal import AppliedStep, Journal, RunState, track_live
from runbook.engine.kindcall import CALLING, kind_call
from runbook.engine.outcome import (
    BAD_INPUT,
    INTERRUPTED,
    LOOK,
    OK,
    ROLLED_BACK,
    SKIPPED,
    SUCCEEDED,
    WITH_SKIPS,
    Answers,
    Display,
    FailureMode,
    NullDisplay,
    Outcome,
    Preview,
    RunOptions,
    Stop,
)
from runbook.engine.throwaway import ending, later
from runbook.errors import RunbookError, Terminated
from runbook.kinds.base import Action, CheckResult
from runbook.plan.describe import build, describe, polling
from runbook.plan.model import ActionSpec, CheckSpec, Plan, Stage, Step
from runbook.plan.template import TemplateError, resolve_runtime
from runbook.store import state_option

__all__ = ["BAD_INPUT", "INTERRUPTED", "LOOK", "OK", "ROLLED_BACK", "SKIPPED",
           "Display", "Executor",
           "FailureMode", "NullDisplay", "Outcome", "Preview", "RunOptions", "Stop"]


@dataclass
class Executor:
    plan: Plan
    ctx: RunContext
    journal: Journal
    operator: Operator
    options: RunOptions = field(default_factory=RunOptions)
    display: Display = field(default_factory=NullDisplay)
    state: RunState = field(default_factory=RunState)
    answers: Answers = field(default_factory=Answers)  # --assume: given before being asked
    notifier: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.ctx.note = self.note
        if self.plan.notify:  # the plan's webhooks hear the journal (engine/notify.py)
            from runbook.engine.notify import Notifier

            self.notifier = Notifier(self.plan, self.ctx, self.journal.listener)
            self.journal.listener = self.notifier

    def note(self, text: str, **data: Any) -> None:
        """A kind's milestone (``RunContext.note``), journaled under the step and phase of
        the action call under way."""
        step, phase = CALLING.get() or (None, None)
        # kept before it is written: an interrupt inside the write (its listener prints)
        # must still find what the step holds live
        track_live(self.state, {"type": "note", "step": step, "data": data})
        self.journal.write("note", step=step, phase=phase, text=text, data=data)

    # ---- templates and kinds ---------------------------------------------------------

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        out = resolve_runtime(params, outputs=self.state.outputs, run_id=self.ctx.run_id,
                              secrets=self.ctx.secrets)
        self.journal.secrets |= self.ctx.secrets
        return out  # type: ignore[no-any-return]

    def action_for(self, spec: ActionSpec) -> tuple[Action[Any], dict[str, Any]]:
        params = self.resolve(spec.params)
        try:
            return build(spec, params), params
        except ValidationError as exc:
            raise RunbookError(f"{spec.kind}: its parameters are not valid once resolved: "
                               f"{_first_error(exc)}", source=spec.source) from exc

    # ---- checks ----------------------------------------------------------------------

    def run_check(self, spec: CheckSpec, *, phase: str, stage: str, step: str | None = None,
                  poll: bool = True) -> CheckResult:
        desc = describe(spec)
        ctx = self.ctx
        start = ctx.clock()
        first_fail: float | None = None
        attempts = 0
        within = spec.within if poll and spec.within else 0.0
        try:
            check = build(spec, self.resolve(spec.params))
            baseline.hand_back(self, spec, check)
            desc = (spec.name or check.describe()) + polling(spec)
        except (TemplateError, ValidationError, LookupError) as exc:
            check = None
            result = CheckResult.failed(f"cannot run this check: {_first_error(exc)}", "error")
        while check is not None:
            attempts += 1
            result = _safe(lambda: check.run(ctx))
            if result.ok:
                break
            now = ctx.clock()
            first_fail = first_fail if first_fail is not None else now
            left = within - (now - start)
            if left <= 0:
                break
            self.display.progress(f"{desc}: attempt {attempts}, {left:.0f}s left - "
                                  f"{result.summary}")
            ctx.sleep(min(spec.every, left))
        failing_for = (ctx.clock() - first_fail) if first_fail is not None else 0.0
        self.journal.write("check", phase=phase, stage=stage, step=step, kind=spec.kind,
                           description=desc, ok=result.ok, summary=result.summary,
                           outcome=result.outcome, observed=result.observed,
                           attempts=attempts, failing_for=round(failing_for, 3),
                           source=str(spec.source))
        return result

    def run_checks(self, specs: tuple[CheckSpec, ...], **kw: Any) -> list[CheckResult]:
        """Run all, report all: a failing check does not hide the ones after it."""
        return [self.run_check(s, **kw) for s in specs]

    # ---- previews (gates and dry runs) -----------------------------------------------

    def preview(self, step: Step) -> Preview:
        """What the step's action would change now (gates and the dry run): its snapshot
        and diff, or why they cannot be known (``waiting_for``, ``error`` and ``cause``)."""
        try:
            action, _ = self.action_for(step.action)
        except TemplateError as exc:
            return Preview(step, describe(step.action), waiting_for=str(exc))
        except RunbookError as exc:
            return Preview(step, describe(step.action), error=str(exc), cause=exc)
        call = partial(kind_call, step.id, step.action)
        text = describe(step.action)
        try:
            text = call("describe", action.describe)
            snap = call("snapshot", partial(action.snapshot, self.ctx))
            return Preview(step, text, diff=call("diff", partial(action.diff, self.ctx, snap)))
        except RunbookError as exc:
            return Preview(step, text, error=str(exc), cause=exc)

    # ---- the run ---------------------------------------------------------------------

    def run(self) -> Outcome:
        if self.notifier is not None:
            self.notifier.send("started")
        return self._drive(self._walk)

    def _drive(self, body: Callable[[], None]) -> Outcome:
        """Run ``body`` to the end of the run and journal how it ended: the journal of a
        run always ends with ``run.finished``, whatever stopped it."""
        try:
            body()
        except Stop as stop:
            return self.finish(stop.outcome)
        except KeyboardInterrupt as exc:
            try:
                outcome = self._interrupted(exc)
            except KeyboardInterrupt as again:  # during the rollback chosen at the menu
                outcome = self._interrupted_again(again)
            return self.finish(outcome)
        except Exception as exc:  # past every phase's own handling: still an outcome
            return self.finish(self._broken(exc))
        return self.finish(self._walked())

    def _broken(self, exc: Exception) -> Outcome:
        """An error no phase handled (a store that failed, a bug of runbook's own)."""
        what = str(exc) if isinstance(exc, RunbookError) else (
            f"runbook hit an internal error: {type(exc).__name__}: {exc}. This is a bug in "
            "runbook")
        applied = list(self.state.applied)
        self.journal.write("failed", phase="run", error=what)
        ref = self._later_ref()
        left = (f"; applied steps were left as they are ({', '.join(applied)})"
                + (f": look, then `runbook resume {ref}` or `runbook rollback {ref}` goes on"
                   if ref is not None else "")
                if applied else "; nothing was left applied")
        return Outcome(LOOK, "stopped", what + left)

    def _later_ref(self) -> str | None:
        """What a later `runbook resume`/`rollback` of this run takes (its id, with
        ``--state`` when the store is not the default); None against a throwaway twin,
        which is gone with this process (``throwaway.later``)."""
        ref = f"{state_option(self.journal.store)}{self.ctx.run_id}"
        return ref if later(self.plan, ref) else None

    def _walked(self) -> Outcome:
        """The end of a walk: "succeeded" only when no step was skipped."""
        skipped = self.state.skipped
        if not skipped:
            return Outcome(OK, SUCCEEDED, "every step applied and verified")
        names = "; ".join(f"{step} ({why})" for step, why in skipped.items())
        return Outcome(SKIPPED, WITH_SKIPS, f"finished, but {len(skipped)} step(s) were not "
                                            f"verified: skipped {names}")

    def finish(self, outcome: Outcome) -> Outcome:
        """Journal how the run ended (``run.finished``) and return it."""
        outcome = ending(self.plan, outcome, applied=bool(self.state.applied))
        extra: dict[str, Any] = {}
        if outcome.still_applied:
            extra = {"still_applied": list(outcome.still_applied),
                     "next_command": outcome.next_command}
        live = self.state.live
        run = self._later_ref()
        if live and run is not None:  # a throwaway twin is gone with its traffic
            outcome = replace(outcome, message=outcome.message.rstrip(".") + ". "
                              + interrupt.still_live(live, run))
            extra["live"] = interrupt.live_json(live)
        self.journal.write("run.finished", outcome=outcome.outcome,
                           exit_code=outcome.exit_code, message=outcome.message, **extra)
        return outcome

    def _walk(self) -> None:
        skipping = self.options.start_at is not None and not self.state.steps_done
        for stage in self.plan.stages:
            if stage.name in self.state.stages_done:
                continue
            if skipping and not any(s.id == self.options.start_at for s in stage.steps):
                self._skip_stage(stage, f"--start-at {self.options.start_at}")
                continue
            self.journal.write("stage.started", stage=stage.name, title=stage.title)
            baseline.take(self, stage)
            if not skipping:
                self._gate_checks(stage)
            self._gate(stage)
            for step in stage.steps:
                if step.id in self.state.steps_done:
                    continue
                if skipping and step.id != self.options.start_at:
                    self._skip(step, f"--start-at {self.options.start_at}")
                    continue
                skipping = False
                self._step(stage, step)
            if stage.soak:
                self._soak(stage)
            self.journal.write("stage.done", stage=stage.name)
            self.state.stages_done.add(stage.name)

    def _skip_stage(self, stage: Stage, reason: str) -> None:
        for step in stage.steps:
            self._skip(step, reason)
        self.journal.write("stage.done", stage=stage.name, skipped=True)

    def _skip(self, step: Step, reason: str) -> None:
        self.journal.write("step.skipped", step=step.id, stage=step.stage, reason=reason)
        self.state.skipped[step.id] = reason
        self.state.steps_done.add(step.id)

    def _gate_checks(self, stage: Stage) -> None:
        while stage.checks:
            results = self.run_checks(stage.checks, phase="gate", stage=stage.name)
            failed = [r for r in results if not r.ok]
            if not failed:
                return
            choice = self.failure(f"{len(failed)} check(s) of stage {stage.name} failed",
                                   None, can_skip=False)
            if choice != "retry":
                return

    def _gate(self, stage: Stage) -> None:
        if not stage.steps or not stage.confirm or stage.name in self.state.gates:
            return
        previews = [self.preview(s) for s in stage.steps if s.id not in self.state.steps_done]
        self.display.gate(stage, previews)
        question = stage.confirm if isinstance(stage.confirm, str) else \
            f"Go on with stage {stage.name}" + (f" ({stage.title})" if stage.title else "") + "?"
        yes = self.operator.confirm(question, default=False)
        errors = {p.step.id: p.error for p in previews if p.error}
        self.journal.write("gate", stage=stage.name, question=question,
                           answer="yes" if yes else "no",
                           diffs={p.step.id: p.diff.to_json() for p in previews if p.diff},
                           **({"errors": errors} if errors else {}))
        if not yes:
            self._declined(f"the gate of stage {stage.name} was declined")
        self.state.gates.add(stage.name)

    def _declined(self, why: str) -> None:
        if not self.state.applied:
            raise Stop(Outcome(ROLLED_BACK, "declined", f"{why}; nothing was changed"))
        choice = self.operator.choose(
            f"{why}. {len(self.state.applied)} step(s) are applied. What now?",
            [("rollback", "roll back every applied step"),
             ("stop", "stop and leave things as they are")])
        self.journal.write("decision", choice=choice or "stop", reason=why)
        if choice == "rollback":
            raise Stop(self.rollback(why))
        raise Stop(Outcome(LOOK, "stopped", f"{why}; applied steps were left as they are"))

    # ---- one step --------------------------------------------------------------------

    def _step(self, stage: Stage, step: Step) -> None:
        if (step.confirm or self.options.step_mode) and not self.operator.confirm(
                f"Run step {step.id}" + (f" ({step.title})" if step.title else "") + "?"):
            self.journal.write("gate", stage=stage.name, step=step.id, answer="no",
                               question=f"run step {step.id}")
            self._declined(f"step {step.id} was declined")
        self.journal.write("step.started", step=step.id, stage=stage.name, title=step.title)
        phase = "pre"
        while True:
            if phase == "pre":
                results = self.run_checks(step.pre, phase="pre", stage=stage.name, step=step.id)
                bad = [r for r in results if not r.ok]
                if bad:
                    choice = self.failure(f"{len(bad)} pre check(s) of step {step.id} failed",
                                           step)
                    if choice == "retry":
                        continue
                    if choice == "skip":
                        return
                phase = "action"
            if phase == "action":
                error = self._apply(stage, step)
                if error is not None:
                    choice = self.failure(f"the action of step {step.id} failed: {error}", step)
                    if choice == "retry":
                        phase = "pre"
                        continue
                    if choice == "skip":
                        return
                phase = "post"
            if phase == "post":
                results = self.run_checks(step.post, phase="post", stage=stage.name,
                                          step=step.id)
                bad = [r for r in results if not r.ok]
                if bad:
                    choice = self.failure(f"{len(bad)} post check(s) of step {step.id} "
                                           "failed", step)
                    if choice == "retry":
                        continue
                    if choice == "skip":
                        return
                self.journal.write("verified", step=step.id, stage=stage.name)
                self.state.applied[step.id].verified = True
                self.state.steps_done.add(step.id)
                return

    def _apply(self, stage: Stage, step: Step) -> str | None:
        """Snapshot, journal the intent, apply, journal the outputs. Returns an error or None."""
        call = partial(kind_call, step.id, step.action)
        try:
            action, params = self.action_for(step.action)
            text = call("describe", action.describe)
            snapshot = call("snapshot", partial(action.snapshot, self.ctx))
            diff = call("diff", partial(action.diff, self.ctx, snapshot))
        except RunbookError as exc:
            self.journal.write("failed", step=step.id, phase="snapshot", error=str(exc),
                               source=str(step.action.source))
            return str(exc)
        # the step counts as under way from before its intent is written: an interrupt
        # landing in the write, or in the listener that draws it, still names the step
        # (resume and rollback decide it from the journal); a store that fails the write
        # took no intent, so nothing is under way
        self.state.applied.pop(step.id, None)
        self.state.applied[step.id] = AppliedStep(step.id, snapshot, params, None)
        try:
            self.journal.write("intent", step=step.id, stage=stage.name, kind=step.action.kind,
                               description=text, params=params, snapshot=snapshot,
                               diff=diff.to_json())
        except Exception:
            del self.state.applied[step.id]
            raise
        try:
            outputs = call("apply", partial(action.apply, self.ctx, snapshot))
        except RunbookError as exc:
            self.journal.write("failed", step=step.id, phase="action", error=str(exc),
                               source=str(step.action.source))
            return str(exc)
        self.journal.write("applied", step=step.id, stage=stage.name, outputs=outputs)
        self.state.applied[step.id].outputs = outputs
        self.state.live.pop(step.id, None)
        self.state.outputs[step.id] = outputs
        return None

    # ---- failure ---------------------------------------------------------------------

    def failure(self, what: str, step: Step | None, *, can_skip: bool = True) -> str:
        mode = self.options.on_failure
        reason: str | None = None
        if mode == "ask" and self.operator.interactive:
            choices = [("retry", "retry"), ("rollback", "roll back every applied step")]
            if can_skip and step is not None:
                choices.append(("skip", "skip this step (you give a reason; it is recorded)"))
            choices.append(("stop", "stop and leave things as they are"))
            while True:
                choice = self.operator.choose(f"{what}. What now?", choices) or "stop"
                if choice != "skip":
                    break
                reason = self.operator.ask_text("Why skip this step? (goes in the journal)")
                if reason:
                    break
        else:
            choice = "stop" if mode == "stop" else "rollback"
        self.journal.write("decision", step=step.id if step else None, choice=choice,
                           reason=reason, failure=what, mode=mode)
        if choice == "rollback":
            raise Stop(self.rollback(what))
        if choice == "stop":
            raise Stop(Outcome(LOOK, "stopped", f"{what}; stopped and left as it is"))
        if choice == "skip" and step is not None:
            self._skip(step, reason or "skipped")
        return choice

    def _interrupted(self, exc: KeyboardInterrupt) -> Outcome:
        """Ctrl-C: say which step was under way and what it holds live, then roll back or
        leave it (engine/interrupt.py words both). A SIGTERM or SIGHUP
        (``errors.Terminated``) asks nothing: it leaves things as they are, and exits
        128 + the signal's number."""
        stopped = self._journal_interrupt(exc)
        if not self.state.applied:
            return self._left_as_is(stopped, nothing_changed=True)
        choice: str | None = None
        if stopped is None:
            try:
                choice = self.operator.choose(interrupt.question(self.state),
                                              interrupt.choices(self.state))
            except Terminated as late:  # told to stop while the menu asked
                stopped = late
            except KeyboardInterrupt:
                choice = None
        self.journal.write("decision", choice=choice or "leave",
                           reason=stopped.word if stopped is not None else "interrupted")
        if choice == "rollback":
            return self.rollback("interrupted")
        return self._left_as_is(stopped)

    def _interrupted_again(self, exc: KeyboardInterrupt) -> Outcome:
        """An interrupt while the first one's rollback ran: nothing more is asked; what the
        rollback had not undone yet is left as it is, and the journal still ends."""
        stopped = self._journal_interrupt(exc)
        self.journal.write("decision", choice="leave", reason="interrupted again")
        return self._left_as_is(stopped)

    def _journal_interrupt(self, exc: KeyboardInterrupt) -> Terminated | None:
        """Write the `interrupted` event; the SIGTERM or SIGHUP it was, if one."""
        stopped = exc if isinstance(exc, Terminated) else None
        self.journal.write("interrupted", applied=list(self.state.applied),
                           in_flight=interrupt.in_flight(self.state),
                           live=interrupt.live_json(self.state.live),
                           **({"signal": stopped.signal} if stopped is not None else {}),
                           **interrupt.rolling_back_json(self.state))
        return stopped

    def _left_as_is(self, stopped: Terminated | None, *,
                    nothing_changed: bool = False) -> Outcome:
        """The interrupted outcome: exit 130, or 128 + the signal's number."""
        word = stopped.word if stopped is not None else "interrupted"
        text = interrupt.before(word) if nothing_changed else \
            interrupt.left(self.state, run=self._later_ref(), word=word)
        return Outcome(stopped.exit_code if stopped is not None else INTERRUPTED,
                       "interrupted", text)

    # ---- soak ------------------------------------------------------------------------

    def _soak(self, stage: Stage) -> None:
        specs = [*stage.checks, *(c for s in stage.steps if s.id in self.state.applied
                                  for c in s.post)]
        if not specs:
            return
        ctx = self.ctx
        every = min(s.every for s in specs)
        end = ctx.clock() + (stage.soak or 0)
        rounds = 0
        while True:
            rounds += 1
            bad = [r for r in self.run_checks(tuple(specs), phase="soak", stage=stage.name,
                                              poll=False) if not r.ok]
            if bad:
                self.failure(f"{len(bad)} check(s) failed while soaking stage {stage.name} "
                              f"(round {rounds})", None, can_skip=False)
                continue  # retry: soak on
            left = end - ctx.clock()
            if left <= 0:
                break
            self.display.progress(f"soaking {stage.name}: round {rounds} passed, "
                                  f"{left:.0f}s left")
            ctx.sleep(min(every, left))
        self.journal.write("soak", stage=stage.name, rounds=rounds, ok=True)

    # ---- rollback and resume (runbook/engine/recovery.py) -----------------------------------

    def rollback(self, why: str) -> Outcome:
        """Undo every applied step, newest first, each proved against its snapshot."""
        return recovery.rollback(self, why)

    def rollback_run(self, why: str) -> Outcome:
        """``runbook rollback``: undo every applied step, and journal how it ended."""
        def body() -> None:
            if not self.state.applied:
                raise Stop(Outcome(ROLLED_BACK, "rolled_back",
                                   "nothing was applied; nothing to roll back"))
            raise Stop(self.rollback(why))

        return self._drive(body)

    def resume(self) -> Outcome:
        def body() -> None:
            recovery.settle_in_flight(self)
            recovery.verify_unverified(self)
            self._walk()

        return self._drive(body)


def _safe(fn: Callable[[], CheckResult]) -> CheckResult:
    try:
        return fn()
    except KeyboardInterrupt:
        raise
    except RunbookError as exc:
        return CheckResult.failed(str(exc), "error")
    except Exception as exc:  # a kind's bug is a failed check, not a dead run
        return CheckResult.failed(f"{type(exc).__name__}: {exc}", "error")


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc}: {err['msg']}" if loc else str(err["msg"])
    return str(exc)
