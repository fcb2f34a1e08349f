"""The executor's paths, over the fake world: what changed, what was asked, what exit."""

from __future__ import annotations

from typing import Any

import pytest

from runbook.cli.operator import BatchOperator, ScriptedOperator
from runbook.engine.runs import check_digest, check_protected
from runbook.errors import RefusedError
from tests.engine import fakes
from tests.engine.conftest import THREE_STAGES

READY = {"ready": True}


def test_happy_path_applies_every_step_in_order(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, True])
    assert r.outcome.exit_code == 0, r.outcome
    assert world == {"ready": True, "a": 1, "b": 1, "c": "x"}
    assert fakes.CALLS == ["apply a", "apply b", "apply c"]
    assert len(r.operator.asked) == 2 and "Set a and b" in r.operator.asked[0]
    # every mutation is journaled before (intent) and after (applied), then verified
    seq = [t for t in r.types() if t in ("intent", "applied", "verified")]
    assert seq == ["intent", "applied", "verified"] * 3
    assert r.of("intent")[1]["params"] == {"key": "b", "value": 1}
    assert r.of("run.finished")[0]["outcome"] == "succeeded"


def test_gate_declined_before_any_change_exits_1_and_changes_nothing(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [False])
    assert r.outcome.exit_code == 1
    assert "nothing was changed" in r.outcome.message
    assert world == READY
    assert r.of("gate")[0]["answer"] == "no"


def test_gate_declined_later_then_roll_back(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, False, "rollback"])
    assert r.outcome.exit_code == 1
    assert world == READY
    assert fakes.CALLS == ["apply a", "apply b", "restore b", "restore a"]


def test_gate_declined_later_then_leave_exits_3(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, False, "stop"])
    assert r.outcome.exit_code == 3
    assert world == {"ready": True, "a": 1, "b": 1}


def test_gate_diffs_are_shown_and_journaled(make_plan, execute, world):
    world.update(READY)
    shown: list[Any] = []

    class Display:
        def progress(self, text: str) -> None: ...

        def gate(self, stage, previews):
            shown.append([(p.step.id, p.diff, p.waiting_for) for p in previews])

    r = execute(make_plan(THREE_STAGES), [True, True], display=Display())
    a, b = shown[0]
    assert a[1].changes[0].old == fakes.MISSING and a[1].changes[0].new == 1
    # b's value is the output of a: unknown until a has run, and said so
    assert b[1] is None and "step a has not run" in b[2]
    assert r.of("gate")[0]["diffs"]["a"]["changes"][0]["new"] == 1


def test_failing_post_check_menu_roll_back_restores_newest_first(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    r = execute(make_plan(THREE_STAGES), [True, True, "rollback"])
    assert r.outcome.exit_code == 1, r.outcome
    assert world == READY
    assert fakes.CALLS == ["apply a", "apply b", "apply c", "restore c", "restore b",
                           "restore a"]
    # each rollback is proved by reading the world back against the snapshot, not by
    # re-running the forward pre checks (the steps have no `verify` checks)
    assert [e["step"] for e in r.of("rollback.verified")] == ["c", "b", "a"]
    assert all(e["proof"] == "the resource reads back as its snapshot"
               for e in r.of("rollback.verified"))
    assert not [e for e in r.of("check") if e["phase"] == "verify"]
    # the post check polled within 30s every 10s before giving up
    post_c = next(e for e in r.of("check") if e["step"] == "c" and e["phase"] == "post")
    assert post_c["attempts"] == 4 and post_c["failing_for"] == 30


def test_retry_after_failure(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 4  # the first round of polling fails 4 times, the retry passes
    r = execute(make_plan(THREE_STAGES), [True, True, "retry"])
    assert r.outcome.exit_code == 0
    assert world["c"] == "x"
    assert r.of("decision")[0]["choice"] == "retry"


def test_skip_asks_for_a_reason_and_records_it(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    r = execute(make_plan(THREE_STAGES), [True, True, "skip", "", "skip", "CDN is slow today"])
    # a skipped step is not a success: its own outcome and exit code, naming the step
    assert r.outcome.exit_code == 4
    assert r.outcome.outcome == "finished_with_skips"
    assert r.outcome.message == ("finished, but 1 step(s) were not verified: skipped c (CDN "
                                 "is slow today)")
    assert r.of("run.finished")[0]["outcome"] == "finished_with_skips"
    skipped = r.of("step.skipped")
    assert skipped[0]["step"] == "c" and skipped[0]["reason"] == "CDN is slow today"
    assert r.operator.asked.count("Why skip this step? (goes in the journal)") == 2


def test_stop_leaves_things_and_exits_3(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    r = execute(make_plan(THREE_STAGES), [True, True, "stop"])
    assert r.outcome.exit_code == 3
    assert world == {"ready": True, "a": 1, "b": 1, "c": "x"}


def test_on_failure_rollback_does_not_ask(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    r = execute(make_plan(THREE_STAGES), [True, True], on_failure="rollback")
    assert r.outcome.exit_code == 1
    assert world == READY
    assert len(r.operator.asked) == 2


def test_ctrl_c_at_a_prompt_is_not_yes(make_plan, execute, world):
    world.update(READY)
    # questionary gives None for Ctrl-C at a prompt: not yes, at the gate or in the menu
    r = execute(make_plan(THREE_STAGES), [True, None, None])
    assert r.outcome.exit_code == 3
    assert r.of("decision")[0]["choice"] == "stop"
    assert "c" not in world


def test_ctrl_c_during_run_offers_rollback(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, KeyboardInterrupt(), "rollback"])
    assert r.outcome.exit_code == 1
    assert world == READY
    assert "interrupted" in r.types()


def test_second_ctrl_c_leaves(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, KeyboardInterrupt(), KeyboardInterrupt()])
    assert r.outcome.exit_code == 130
    assert world == {"ready": True, "a": 1, "b": 1}


class Meddler(ScriptedOperator):
    """Someone changes b by hand while the operator looks at the stage-third gate."""

    def confirm(self, question: str, *, default: bool = False) -> bool:
        if "stage third" in question:
            fakes.WORLD["b"] = "changed by hand"
        return super().confirm(question, default=default)


def test_drift_refusal_in_batch_mode_touches_nothing(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    op = Meddler([True, True], interactive=False)
    r = execute(make_plan(THREE_STAGES), operator=op, on_failure="rollback")
    assert r.outcome.exit_code == 3
    assert "drifted" in r.outcome.message and "changed by hand" in r.outcome.message
    assert world == {"ready": True, "a": 1, "b": "changed by hand", "c": "x"} or \
        world == {"ready": True, "a": 1, "b": "changed by hand"}
    assert fakes.CALLS == ["apply a", "apply b", "apply c", "restore c"]
    assert r.of("rollback.drift")[0]["step"] == "b"


def test_drift_interactive_restore_anyway(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    op = Meddler([True, True, "rollback", "restore"])
    r = execute(make_plan(THREE_STAGES), operator=op)
    assert r.outcome.exit_code == 1
    assert world == READY
    assert "was changed by someone else" in op.asked[-1]


def test_drift_interactive_leave(make_plan, execute, world):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    op = Meddler([True, True, "rollback", "leave"])
    r = execute(make_plan(THREE_STAGES), operator=op)
    assert r.outcome.exit_code == 3
    assert world["b"] == "changed by hand" and world["a"] == 1


def test_start_at_skips_earlier_steps_and_records_them(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True], start_at="c")
    assert r.outcome.exit_code == 4 and r.outcome.outcome == "finished_with_skips"
    assert "2 step(s) were not verified: skipped a (--start-at c); b (--start-at c)" in \
        r.outcome.message
    assert world == {"ready": True, "c": "x"}
    assert [(e["step"], e["reason"]) for e in r.of("step.skipped")] == [
        ("a", "--start-at c"), ("b", "--start-at c")]


def test_action_failure_rolls_back_what_was_applied(make_plan, execute, world):
    plan = make_plan("""
        runbook: 1
        name: fails
        stages:
          - name: s
            confirm: false
            steps:
              - id: a
                action: {fake.set: {key: a, value: 1}}
                post: [{fake.equals: {key: a, value: 1}}]
              - id: boom
                action: {fake.fail: {message: "the API said no"}}
                post: [{fake.equals: {key: a, value: 1}}]
    """)
    r = execute(plan, ["rollback"])
    assert r.outcome.exit_code == 1
    assert world == {}
    failed = r.of("failed")[0]
    assert failed["step"] == "boom" and failed["error"] == "the API said no"
    assert "the action of step boom failed: the API said no" in r.operator.asked[0]


def test_a_pre_check_broken_meanwhile_does_not_stop_a_proved_rollback(make_plan, execute,
                                                                        world):
    """The forward pre checks are not the proof: a guard broken for an unrelated reason
    during the run does not stop a rollback whose restore reads back as the snapshot."""
    plan = make_plan("""
        runbook: 1
        name: guarded
        stages:
          - name: s
            confirm: false
            steps:
              - id: a
                pre: [{fake.equals: {key: guard, value: ok}}]
                action: {fake.set: {key: a, value: 1}}
                post: [{fake.equals: {key: a, value: 2}}]
    """)

    class Sticky(ScriptedOperator):
        def choose(self, question, choices):
            fakes.WORLD["guard"] = "broken meanwhile"  # the pre check cannot pass again
            return super().choose(question, choices)

    world["guard"] = "ok"
    r = execute(plan, operator=Sticky(["rollback"]))
    assert r.outcome.exit_code == 1, r.outcome
    assert r.outcome.message.endswith("1 step(s) rolled back and verified")
    assert world == {"guard": "broken meanwhile"}


VERIFIED = """
runbook: 1
name: verified
stages:
  - name: s
    confirm: false
    steps:
      - id: a
        action: {fake.set: {key: a, value: 1}}
        post: [{fake.equals: {key: a, value: 1}}]
      - id: b
        action: {fake.set: {key: b, value: 1}}
        post: [{fake.equals: {key: b, value: 2}}]
        verify: [{fake.equals: {key: site, value: up}}]
"""


def test_verify_checks_prove_the_undo_and_a_failing_one_stops_the_rollback(
        make_plan, execute, world):
    world["site"] = "down"  # the site is not back once b is undone
    r = execute(make_plan(VERIFIED), [], on_failure="rollback")
    assert r.outcome.exit_code == 3 and r.outcome.outcome == "rollback_failed"
    assert r.outcome.message.startswith(
        "step b was restored but 1 of its verify checks fail: site is 'down'")
    # nothing earlier is touched while b's restore is unproved; the final line says
    # what is still applied and how to go on
    assert world == {"site": "down", "a": 1}
    assert r.outcome.still_applied == ("a", "b")
    assert "Still applied: a, b" in r.outcome.message
    assert r.outcome.next_command is not None and \
        r.outcome.next_command.endswith(" r1") and "runbook rollback" in r.outcome.next_command
    finished = r.of("run.finished")[0]
    assert finished["still_applied"] == ["a", "b"]
    assert [e["step"] for e in r.of("check") if e["phase"] == "verify"] == ["b"]


def test_verify_checks_pass_and_the_rollback_is_verified(make_plan, execute, world):
    world["site"] = "up"
    r = execute(make_plan(VERIFIED), [], on_failure="rollback")
    assert r.outcome.exit_code == 1, r.outcome
    assert world == {"site": "up"}
    assert [e["checks"] for e in r.of("rollback.verified")] == [1, 0]


def test_a_restore_that_does_not_read_back_stops_the_rollback(make_plan, execute, world):
    plan = make_plan("""
        runbook: 1
        name: wrong-undo
        stages:
          - name: s
            confirm: false
            steps:
              - id: a
                action: {fake.set: {key: a, value: 1}}
                post: [{fake.equals: {key: a, value: 1}}]
              - id: b
                action: {fake.set: {key: b, value: 1}}
                post: [{fake.equals: {key: b, value: 2}}]
                rollback: {fake.set: {key: b, value: 0}}
    """)
    r = execute(plan, [], on_failure="rollback")
    assert r.outcome.exit_code == 3
    assert "step b was restored but does not read back as before the change: old reads " \
        "0, not '<missing>' as before" in r.outcome.message
    assert world == {"a": 1, "b": 0}  # a untouched
    assert r.outcome.still_applied == ("a", "b")


def test_rollback_none_needs_a_person(make_plan, execute, world):
    plan = make_plan("""
        runbook: 1
        name: none
        stages:
          - name: s
            confirm: false
            steps:
              - id: a
                action: {fake.set: {key: a, value: 1}}
                post: [{fake.equals: {key: a, value: 2}}]
                rollback: {none: "emails cannot be unsent"}
    """)
    r = execute(plan, [], on_failure="rollback")
    assert r.outcome.exit_code == 3
    assert "emails cannot be unsent" in r.outcome.message
    assert world == {"a": 1}


def test_explicit_rollback_actions_run_instead_of_restore(make_plan, execute, world):
    plan = make_plan("""
        runbook: 1
        name: explicit
        stages:
          - name: s
            confirm: false
            steps:
              - id: a
                action: {fake.set: {key: a, value: 1}}
                post: [{fake.equals: {key: a, value: 2}}]
                rollback:
                  - fake.set: {key: a, value: 0}
                  - fake.set: {key: undone, value: true}
    """)
    world["a"] = 0
    r = execute(plan, [], on_failure="rollback")
    assert r.outcome.exit_code == 1, r.outcome
    assert world == {"a": 0, "undone": True}
    assert r.of("rollback.verified")[0]["step"] == "a"  # a reads back as its snapshot


SOAK = """
runbook: 1
name: soak
stages:
  - name: s
    soak: 60s
    steps:
      - id: a
        action: {fake.set: {key: a, value: 1}}
        post:
          - fake.equals: {key: a, value: 1}
            every: 10s
"""


def test_soak_rechecks_for_its_duration(make_plan, execute, world):
    r = execute(make_plan(SOAK), [True])
    assert r.outcome.exit_code == 0
    assert r.of("soak")[0]["rounds"] == 7  # at 0, 10, ..., 60 seconds
    assert sum(1 for e in r.of("check") if e["phase"] == "soak") == 7


def test_soak_failure_opens_the_menu(make_plan, execute, world):
    class Pipeline(ScriptedOperator):
        """A deploy overwrites a while the stage soaks (like the seed's second outage)."""

    plan = make_plan(SOAK)
    fakes.FLAKY["a"] = 0
    op = Pipeline([True, "rollback", "leave"])
    calls = {"n": 0}
    original = fakes.FakeEquals.run

    def run(self, ctx):
        calls["n"] += 1
        if calls["n"] == 3:  # post check passes, first soak round passes, then it breaks
            fakes.WORLD["a"] = "overwritten by the pipeline"
        return original(self, ctx)

    fakes.FakeEquals.run = run  # type: ignore[method-assign]
    try:
        r = execute(plan, operator=op)
    finally:
        fakes.FakeEquals.run = original  # type: ignore[method-assign]
    assert "while soaking stage s (round 2)" in op.asked[-2]
    assert r.outcome.exit_code == 3  # a drifted from what the run wrote: a person must look
    assert r.of("rollback.drift")[0]["detail"].startswith("a is now 'overwritten")


def test_digest_mismatch_is_refused(make_plan):
    plan = make_plan(THREE_STAGES)
    check_digest(plan, plan.digest[:12])
    with pytest.raises(RefusedError, match="changed since it was reviewed"):
        check_digest(plan, "0" * 64)


PROTECTED = """
runbook: 1
name: prot
environments:
  stage: {}
  prod:
    protected: true
    requires_rehearsal: stage
stages:
  - name: s
    checks: [{fake.equals: {key: a, absent: true}}]
"""


def test_protected_environment_needs_its_name(make_plan):
    plan = make_plan(PROTECTED, env="prod")
    with pytest.raises(RefusedError, match="--yes alone is not enough"):
        check_protected(plan, BatchOperator(True), None)
    with pytest.raises(RefusedError, match="does not name"):
        check_protected(plan, BatchOperator(True), "stage")
    assert check_protected(plan, BatchOperator(True), "prod") == "--confirm-env"
    assert check_protected(plan, ScriptedOperator(["prod"]), None) == "typed"
    with pytest.raises(RefusedError, match="was not typed"):
        check_protected(plan, ScriptedOperator(["prd"]), None)
    assert check_protected(make_plan(PROTECTED, env="stage"), BatchOperator(True),
                           None) == "not protected"


def test_resume_after_applied_runs_post_checks_and_goes_on(make_plan, execute, world, tmp_path):
    world.update(READY)
    fakes.FLAKY["c"] = 99
    plan = make_plan(THREE_STAGES)
    r = execute(plan, [True, True, "stop"])
    assert r.outcome.exit_code == 3
    fakes.FLAKY.clear()
    r2 = execute(plan, [], resume=True)
    assert r2.outcome.exit_code == 0, r2.outcome
    assert world == {"ready": True, "a": 1, "b": 1, "c": "x"}
    assert fakes.CALLS == ["apply a", "apply b", "apply c"]  # nothing applied twice


def test_resume_of_an_in_flight_step_recovers_its_outputs(make_plan, execute, world):
    """Killed after the change but before `applied`: outputs come from Action.recover."""
    world.update(READY)
    plan = make_plan(THREE_STAGES)
    r = execute(plan, [True, True, "stop"], on_failure="ask")
    assert r.outcome.exit_code == 0  # baseline: the whole plan runs

    world.clear()
    world.update(READY)
    fakes.CALLS.clear()

    class DiesAfterApplyingA(ScriptedOperator):
        pass

    original = fakes.FakeSet.apply

    def apply_then_die(self, ctx, snapshot):
        out = original(self, ctx, snapshot)
        if self.params.key == "a":
            raise KeyboardInterrupt  # the process dies before `applied` is written
        return out

    fakes.FakeSet.recover = lambda self, ctx, snapshot: {  # type: ignore[attr-defined]
        "written": fakes.WORLD[self.params.key], "key": self.params.key}
    fakes.FakeSet.apply = apply_then_die  # type: ignore[method-assign]
    try:
        dead = execute(plan, [True, None], run_id="r2")
    finally:
        fakes.FakeSet.apply = original  # type: ignore[method-assign]
    assert dead.outcome.exit_code == 130
    resumed = execute(plan, [True], run_id="r2", resume=True)
    del fakes.FakeSet.recover  # type: ignore[attr-defined]
    assert resumed.outcome.exit_code == 0, resumed.outcome
    # b's value is ${steps.a.written}: it resolved from the recovered outputs
    assert world == {"ready": True, "a": 1, "b": 1, "c": "x"}
    assert resumed.of("applied")[0]["outputs"] == {"written": 1, "key": "a"}


def test_step_mode_asks_before_every_step(make_plan, execute, world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, True, True, True, False, "rollback"],
                step_mode=True)
    # gate second, step a, step b, gate third, step c (declined) -> roll back
    assert [q.split(" (")[0].split("?")[0] for q in r.operator.asked[:5]] == [
        "Go on with stage second", "Run step a", "Run step b", "Go on with stage third",
        "Run step c"]
    assert r.outcome.exit_code == 1
    assert world == READY
    assert "step c was declined" in r.outcome.message


@pytest.mark.parametrize("b_ran", [False, True])
def test_rollback_of_an_interrupted_step_decides_from_its_snapshot(make_plan, execute, world,
                                                                   tmp_path, b_ran):
    """Killed between b's intent and its outcome: like resume, rollback compares the live
    snapshot with the intent's, and undoes b only if it ran."""
    from runbook.context import RunContext
    from runbook.engine.executor import Executor, RunOptions
    from runbook.engine.journal import AppliedStep, Journal, RunState
    from runbook.store.local import LocalStore

    plan = make_plan(THREE_STAGES)
    world.update({"ready": True, "a": 1, **({"b": 1} if b_ran else {})})
    state = RunState(run_id="r1", applied={
        "a": AppliedStep("a", {"old": fakes.MISSING}, {}, {"written": 1, "key": "a"}, True),
        "b": AppliedStep("b", {"old": fakes.MISSING}, {}, None)},
        outputs={"a": {"written": 1, "key": "a"}})
    store = LocalStore(tmp_path / "state")
    store.create_run("r1")
    op = ScriptedOperator([], interactive=False)
    ex = Executor(plan, RunContext(run_id="r1", plan_dir=tmp_path, operator=op),
                  Journal(store, "r1"), op, RunOptions(on_failure="rollback"), state=state)
    outcome = ex.rollback("asked for")
    assert outcome.exit_code == 1, outcome
    assert world == READY
    calls = list(fakes.CALLS)
    assert calls == (["restore b", "restore a"] if b_ran else ["restore a"])
    checks = [e for e in store.events("r1") if e["type"] == "resume.check"]
    assert [c["happened"] for c in checks] == [b_ran]


class _BrokenDisplay:
    """A bug of runbook's own, past every phase's handling: the gate's display raises."""

    def progress(self, text: str) -> None:
        return None

    def gate(self, stage: Any, previews: Any) -> None:
        raise RuntimeError("the display broke")


def test_a_bug_past_every_phase_still_ends_the_journal_with_an_outcome(make_plan, execute,
                                                                       world):
    world.update(READY)
    r = execute(make_plan(THREE_STAGES), [True, True], display=_BrokenDisplay())
    assert r.outcome.exit_code == 3
    assert r.types()[-2:] == ["failed", "run.finished"]
    finished = r.of("run.finished")[0]
    assert finished["outcome"] == "stopped"
    assert "internal error: RuntimeError: the display broke. This is a bug in runbook" \
        in finished["message"]
    assert "nothing was left applied" in finished["message"]
