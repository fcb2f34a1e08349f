"""Issue 11, through the CLI: the final line, exit code, `runs` and the report never say
more than was proved. Real subprocesses over a folder of files (the shell kind's world)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runbook.store.base import LockInfo
from runbook.store.local import LocalStore
from tests.engine.clihelp import FINAL, INITIAL, run_ids, runbook, setup_world, world_files

pytestmark = pytest.mark.slow

TWO_ENVS = """\
runbook: 1
name: skips
environments:
  staging: {}
  prod: {requires_rehearsal: staging}
stages:
  - name: one
    confirm: false
    steps:
      - id: first
        action:
          shell: {run: [sh, -c, "echo v2 > version.txt"], undo: [sh, -c, "echo v1 > version.txt"],
                  state: [cat, version.txt]}
        post: [{shell: {run: [cat, version.txt], contains: v2}}]
      - id: second
        action:
          shell: {run: [sh, -c, "echo new > alias.txt"], undo: [sh, -c, "echo old > alias.txt"],
                  state: [cat, alias.txt]}
        post: [{shell: {run: [cat, alias.txt], contains: new}}]
"""


def _plan(folder: Path, text: str) -> None:
    for name, body in INITIAL.items():
        (folder / name).write_text(body)
    (folder / "p.yaml").write_text(text)


def _final_line(out: str) -> str:
    """The run's verdict: its last paragraph before "journal: ...", unwrapped."""
    text = out.rsplit("\njournal: ", 1)[0]
    return " ".join(text.strip().rsplit("\n\n", 1)[-1].split())


def test_a_run_with_a_skipped_step_is_not_a_success_and_no_rehearsal(tmp_path):
    _plan(tmp_path, TWO_ENVS)
    r = runbook(tmp_path, "run", "p.yaml", "--env", "staging", "--yes", "--start-at", "second")
    assert r.returncode == 4, r.stdout + r.stderr
    assert _final_line(r.stdout) == (
        "finished_with_skips: finished, but 1 step(s) were not verified: skipped first "
        "(--start-at second) (exit 4)")
    assert "succeeded" not in r.stdout
    [run_id] = run_ids(tmp_path)
    runs = runbook(tmp_path, "runs")
    assert run_id in runs.stdout and "finished_with_skips" in runs.stdout
    report = runbook(tmp_path, "report", run_id).stdout
    assert "- outcome: **finished_with_skips**" in report
    assert "- skipped: `first`: --start-at second" in report
    # prod requires a rehearsal on staging: a run that skipped a step is none
    prod = runbook(tmp_path, "run", "p.yaml", "--env", "prod", "--yes")
    assert prod.returncode == 2
    assert "requires a successful rehearsal on staging" in prod.stderr
    assert "finished_with_skips" in prod.stderr and "it skipped step(s)" in prod.stderr
    assert world_files(tmp_path)["version.txt"] == "v1\n"  # prod changed nothing
    assert len(run_ids(tmp_path)) == 1


def test_resume_of_a_finished_run_says_so_and_exits_0(tmp_path):
    setup_world(tmp_path)
    assert runbook(tmp_path, "run", "files.yaml", "--yes").returncode == 0
    [run_id] = run_ids(tmp_path)
    events = (tmp_path / ".runbook" / "runs" / run_id / "events.jsonl").read_text()
    r = runbook(tmp_path, "resume", run_id, "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"run {run_id} already finished (succeeded); nothing to resume"
    assert r.stderr == ""
    # nothing ran, so nothing was journaled
    assert (tmp_path / ".runbook" / "runs" / run_id / "events.jsonl").read_text() == events


MOVE = """\
runbook: 1
name: move
stages:
  - name: one
    confirm: false
    steps:
      - id: first
        action:
          shell: {run: [sh, -c, "echo v2 > version.txt"], undo: [sh, -c, "echo v1 > version.txt"],
                  state: [cat, version.txt]}
        post: [{shell: {run: [cat, version.txt], contains: v2}}]
  - name: two
    confirm: false
    steps:
      - id: move
        action:
          shell:
            run: [sh, -c, "sleep 2; mv a b"]
            undo: [mv, b, a]
            STATE
        post: [{shell: {run: [test, -e, b]}}]
"""


def _events(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # the line being written
            out.append(json.loads(line))
    return out


def _kill_during_move(folder: Path) -> str:
    """Start the run in its own process group; SIGKILL the group once the intent of
    `move` is journaled (its command sleeps 2s before it moves anything)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    proc = subprocess.Popen([sys.executable, "-m", "runbook", "run", "p.yaml", "--yes"],
                            cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ids = run_ids(folder)
            events = folder / ".runbook" / "runs" / ids[0] / "events.jsonl" if ids else None
            if events is not None and events.exists() and any(
                    e.get("type") == "intent" and e.get("step") == "move"
                    for e in _events(events)):
                break
            time.sleep(0.02)
        time.sleep(0.3)  # the command has started; it is in its sleep
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    [run_id] = run_ids(folder)
    return run_id


def test_rollback_after_a_kill_before_the_command_ran_does_not_undo_it(tmp_path):
    _plan(tmp_path, MOVE.replace("STATE", 'state: [sh, -c, "ls a b 2>/dev/null; true"]'))
    (tmp_path / "a").write_text("the file\n")
    run_id = _kill_during_move(tmp_path)
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    r = runbook(tmp_path, "rollback", run_id, "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the state matches the snapshot: the action did not run" in r.stdout
    assert "cannot stat" not in r.stdout + r.stderr
    assert "1 step(s) rolled back and verified" in r.stdout  # first, proved
    assert (tmp_path / "a").read_text() == "the file\n" and not (tmp_path / "b").exists()
    assert world_files(tmp_path)["version.txt"] == "v1\n"
    assert "Traceback" not in r.stderr


def test_rollback_that_cannot_tell_whether_a_command_ran_asks_a_person(tmp_path):
    _plan(tmp_path, MOVE.replace("STATE", ""))
    (tmp_path / "a").write_text("the file\n")
    run_id = _kill_during_move(tmp_path)
    r = runbook(tmp_path, "rollback", run_id, "--yes")
    assert r.returncode == 3, r.stdout + r.stderr
    out = " ".join(r.stdout.split())
    assert ("its kind (shell) keeps no snapshot to compare with, so runbook cannot tell "
            "whether it ran") in out
    assert f"`runbook rollback {run_id}` asks \"Did it run?\"; without one, give the " \
           f"answer with `runbook rollback {run_id} --yes --assume move=ran" in out
    assert out.endswith("Still applied: first, move (exit 3)")
    # nothing was undone: not move (it may not have run), and so not first either
    assert (tmp_path / "a").exists() and world_files(tmp_path)["version.txt"] == "v2\n"
    report = runbook(tmp_path, "report", run_id).stdout
    assert "- still applied: `first` (verified), `move` (may be half applied)" in report
    assert f"- next command: runbook rollback {run_id}" in report


NO_STATE = """\
runbook: 1
name: nostate
stages:
  - name: one
    confirm: false
    steps:
      - id: first
        action:
          shell: {run: [sh, -c, "echo v2 > version.txt"], undo: [sh, -c, "echo v1 > version.txt"],
                  state: [cat, version.txt]}
        post: [{shell: {run: [cat, version.txt], contains: v2}}]
      - id: blind
        action:
          shell: {run: [sh, -c, "echo new > alias.txt"], undo: [sh, -c, "echo old > alias.txt"]}
        post: [{shell: {run: [cat, alias.txt], contains: newer}}]
"""


def test_an_undo_without_a_snapshot_is_undone_not_proved(tmp_path):
    _plan(tmp_path, NO_STATE)
    r = runbook(tmp_path, "run", "p.yaml", "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "step blind undone, not proved" in r.stdout
    assert "step blind rolled back and verified" not in r.stdout
    assert "step first rolled back and verified" in r.stdout
    assert _final_line(r.stdout).startswith("rolled_back_unproved: ")
    assert ("1 step(s) rolled back and verified; 1 undone, not proved (blind: no snapshot to "
            "compare with; look at them) (exit 1)") in _final_line(r.stdout)
    assert world_files(tmp_path) == INITIAL


VERIFY = """\
runbook: 1
name: verify
stages:
  - name: one
    confirm: false
    steps:
      - id: first
        action:
          shell: {run: [sh, -c, "echo v2 > version.txt"], undo: [sh, -c, "echo v1 > version.txt"],
                  state: [cat, version.txt]}
        post: [{shell: {run: [cat, version.txt], contains: v2}}]
      - id: switch
        pre: [{shell: {run: [cat, alias.txt], contains: old}}]
        action:
          shell: {run: [sh, -c, "echo new > alias.txt"], undo: [sh, -c, "echo old > alias.txt"],
                  state: [cat, alias.txt]}
        post: [{shell: {run: [cat, alias.txt], contains: newer}}]
        verify: [{shell: {run: [cat, site.txt], contains: up}}]
"""


def test_an_unproved_restore_stops_the_rollback_and_says_how_to_go_on(tmp_path):
    _plan(tmp_path, VERIFY)
    (tmp_path / "site.txt").write_text("down\n")
    r = runbook(tmp_path, "run", "p.yaml", "--yes")
    assert r.returncode == 3, r.stdout + r.stderr
    [run_id] = run_ids(tmp_path)
    line = _final_line(r.stdout)
    assert line.startswith("rollback_failed: step switch was restored but 1 of its verify "
                           "checks fail: output does not contain 'up'")
    assert f"Still applied: first, switch. Once you have looked, `runbook rollback {run_id}` " \
           "goes on (exit 3)" in line
    files = world_files(tmp_path)
    assert files["alias.txt"] == "old\n" and files["version.txt"] == "v2\n"  # first untouched
    # resume must not walk on as if the restored step were still applied
    forward = runbook(tmp_path, "resume", run_id, "--yes")
    assert forward.returncode == 3, forward.stdout + forward.stderr
    assert "step(s) switch are restored but not proved" in " ".join(forward.stderr.split())
    assert world_files(tmp_path) == files
    (tmp_path / "site.txt").write_text("up\n")  # the person fixes what the check saw
    again = runbook(tmp_path, "rollback", run_id, "--yes")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "2 step(s) rolled back and verified" in again.stdout
    assert "drift" not in again.stdout  # switch was restored already: not restored twice
    assert world_files(tmp_path) == {**INITIAL, "site.txt": "up\n"}


def test_a_lock_left_by_a_run_killed_while_starting_is_taken_over(tmp_path):
    setup_world(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    store = LocalStore(tmp_path / ".runbook")
    ghost = "20260101T000000Z-files-default-dead"
    held = LockInfo("deadbeef0001", "files@default", ghost, "someone", socket.gethostname(),
                    dead.pid, "2026-01-01T00:00:00Z")
    assert store.lock(held) is None
    assert "no runs" in runbook(tmp_path, "runs").stdout  # the lock nobody could see
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert world_files(tmp_path) == FINAL
    [run_id] = run_ids(tmp_path)
    report = runbook(tmp_path, "report", run_id).stdout
    assert f"**lock taken over** from run `{ghost}` (pid {dead.pid} on " in report
    assert f"its process (pid {dead.pid} on {socket.gethostname()}) is gone and its run never " \
           "wrote an event" in " ".join(report.split())
    assert store.lock_holder("files@default") is None  # released at the end


def test_verify_is_validated_like_any_check_list(tmp_path):
    _plan(tmp_path, VERIFY.replace("verify: [{shell: {run: [cat, site.txt], contains: up}}]",
                                   "verify: [{shel: {run: [cat, site.txt]}}]"))
    r = runbook(tmp_path, "validate", "p.yaml")
    assert r.returncode == 2
    assert "shel" in r.stderr and "line 18" in r.stderr, r.stderr
    _plan(tmp_path, VERIFY.replace("verify: [{shell: {run: [cat, site.txt], contains: up}}]",
                                   "verify: {shell: {run: [cat, site.txt]}}"))
    r = runbook(tmp_path, "validate", "p.yaml")
    assert r.returncode == 2 and "verify" in r.stderr and "line 18" in r.stderr, r.stderr
    _plan(tmp_path, VERIFY)
    assert runbook(tmp_path, "validate", "p.yaml").returncode == 0


def test_resume_that_cannot_tell_whether_a_command_ran_stops_and_says_why(tmp_path):
    _plan(tmp_path, MOVE.replace("STATE", ""))
    (tmp_path / "a").write_text("the file\n")
    run_id = _kill_during_move(tmp_path)
    r = runbook(tmp_path, "resume", run_id, "--yes")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "so runbook cannot tell whether it ran" in " ".join(r.stdout.split())
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # not run twice


GUARDED = VERIFY.replace(
    "pre: [{shell: {run: [cat, alias.txt], contains: old}}]",
    "pre: [{shell: {run: [test, -e, guard.txt]}}]").replace(
    "post: [{shell: {run: [cat, alias.txt], contains: newer}}]",
    # someone deletes guard.txt while the run goes on: the pre check cannot pass again
    'post: [{shell: {run: [sh, -c, "rm guard.txt; cat alias.txt"], contains: newer}}]').replace(
    "        verify: [{shell: {run: [cat, site.txt], contains: up}}]\n", "")


def test_a_pre_check_failing_for_another_reason_does_not_stop_a_proved_rollback(tmp_path):
    _plan(tmp_path, GUARDED)
    (tmp_path / "guard.txt").write_text("here\n")
    r = runbook(tmp_path, "run", "p.yaml", "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert not (tmp_path / "guard.txt").exists()
    assert "2 step(s) rolled back and verified (exit 1)" in _final_line(r.stdout)
    assert world_files(tmp_path) == INITIAL


def test_the_switch_origin_library_step_proves_its_undo_by_the_site_answering(tmp_path):
    plan = Path(__file__).parents[2] / "plans" / "sandbox" / "incident-1-hand-made-bucket.yaml"
    r = runbook(tmp_path, "show", str(plan), "--env", "sandbox")
    assert r.returncode == 0, r.stderr
    assert "verify (once undone): https://trainee.tis-selfservice.nhs.uk/ answers 200" in \
        " ".join(r.stdout.replace("│", " ").split())


def test_shell_restore_refuses_a_state_someone_changed_and_names_it(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace('contains: "301"', 'contains: "308"'))
    r = runbook(tmp_path, "run", "files.yaml", "--yes", "--on-failure", "stop")
    assert r.returncode == 3, r.stdout + r.stderr
    [run_id] = run_ids(tmp_path)
    (tmp_path / "alias.txt").write_text("someone else's\n")  # what alias's undo would write
    back = runbook(tmp_path, "rollback", run_id, "--yes")
    assert back.returncode == 3, back.stdout + back.stderr
    out = " ".join(back.stdout.split())
    assert ("step alias drifted: `cat alias.txt` now prints \"someone else's\", not 'new' "
            "as this run left it; left untouched") in out
    assert "Still applied: version, alias" in out
    files = world_files(tmp_path)
    assert files["alias.txt"] == "someone else's\n" and files["version.txt"] == "v2\n"
    assert files["redirect.txt"] == "none\n" and "marker.txt" not in files  # undone, proved
