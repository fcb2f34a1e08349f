"""SIGTERM (a CI runner's cancel, systemd, `timeout`, `kill`) stops a run as Ctrl-C does,
but asks nothing: the run journals the interrupt, leaves things as they are, releases its
lock and says how to go on, and exits 143. Before, the process died where it stood: no
final line, no `run.finished`, and a lock that refused the next run from another host
until its lease ran out. Through the CLI, in a real subprocess over a folder of files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine.clihelp import INITIAL, run_ids, runbook, setup_world, world_files
from tests.engine.test_interactive import finish, spawn
from tests.engine.test_verdicts import MOVE, _final_line, _plan

pytestmark = pytest.mark.slow

# `move` says it started (the file `started`) and, while the file `hold` is there, waits
# for a process of its own (its pid in `sleeper.pid`); `state` lets resume tell whether
# it ran
SLOW_MOVE = MOVE.replace(
    "sleep 2; mv a b",
    "if [ -e hold ]; then sleep 30 & echo $! > sleeper.pid; touch started; wait; fi; "
    "mv a b").replace("STATE", 'state: [sh, -c, "ls a b 2>/dev/null; true"]')


def _gone(pid: int, within: float = 10.0) -> bool:
    """No such process, or only its zombie (nothing reaps orphans in some containers),
    within ``within`` seconds: a killed process ends a moment after the signal is sent."""
    end = time.monotonic() + within
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.02)


def signalled(folder: Path, args: list[str], *, when: str,
              sig: signal.Signals = signal.SIGTERM) -> tuple[int, str, str]:
    """Start `runbook ARGS` in ``folder`` (no terminal, its own session), send ``sig`` to
    runbook alone (as `kill PID` does) once the file ``when`` exists (a command of the
    plan makes it), and return its exit code, stdout and stderr."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    proc = subprocess.Popen([sys.executable, "-m", "runbook", *args], cwd=folder, env=env,
                            text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        end = time.monotonic() + 60
        while not (folder / when).exists():
            assert proc.poll() is None and time.monotonic() < end, f"{when} never came"
            time.sleep(0.02)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out, err


def _events(folder: Path, run_id: str) -> list[dict[str, Any]]:
    lines = (folder / ".runbook" / "runs" / run_id / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# SIGHUP: the terminal or SSH session the run was started from went away
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_mid_step_leaves_it_journaled_unlocked_and_resumable(
        tmp_path: Path, sig: signal.Signals, code: int) -> None:
    _plan(tmp_path, SLOW_MOVE)
    (tmp_path / "a").write_text("the file\n")
    (tmp_path / "hold").write_text("")
    # `started`: its command runs, so the intent is in
    code_was, out, err = signalled(tmp_path, ["run", "p.yaml", "--yes"], when="started",
                                   sig=sig)
    [run_id] = run_ids(tmp_path)
    assert code_was == code, out + err
    assert "What now" not in out  # nothing asked
    assert _final_line(out) == (
        f"interrupted: terminated ({sig.name}) while step move was under way; left as it is "
        f"with 2 step(s) applied (first, move); `runbook resume {run_id}` goes on, "
        f"`runbook rollback {run_id}` undoes them (exit {code})")
    assert "Traceback" not in err
    # the command `move` ran was stopped with the run, and what it started: nothing moved,
    # and its sleeper is not left running
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert _gone(int((tmp_path / "sleeper.pid").read_text()))

    events = _events(tmp_path, run_id)
    stopped = [e for e in events if e["type"] == "interrupted"]
    assert [(e["signal"], e["in_flight"]) for e in stopped] == [(sig.name, "move")]
    assert [e["choice"] for e in events if e["type"] == "decision"] == ["leave"]
    assert events[-1]["type"] == "run.finished"
    assert (events[-1]["outcome"], events[-1]["exit_code"]) == ("interrupted", code)

    # the lock went with the run: `runs` shows it interrupted, the report says by what
    assert "no locks" in runbook(tmp_path, "locks").stdout.lower()
    assert "interrupted" in runbook(tmp_path, "runs").stdout
    report = runbook(tmp_path, "report", run_id).stdout
    assert f"**interrupted** (by {sig.name}, nothing asked) while step `move` was under way" \
        in report

    # and resume goes on, as the final line says: `move` did not run, so it runs now
    (tmp_path / "hold").unlink()
    again = runbook(tmp_path, "resume", run_id, "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / "b").read_text() == "the file\n" and not (tmp_path / "a").exists()
    assert world_files(tmp_path)["version.txt"] == "v2\n"
    assert set(INITIAL) <= set(world_files(tmp_path))


def test_sigterm_before_anything_changed_says_so(tmp_path: Path) -> None:
    # the first step's pre check waits: nothing is applied when the SIGTERM comes
    _plan(tmp_path, SLOW_MOVE.replace(
        "      - id: first\n",
        "      - id: first\n        pre: [{shell: {run: [sh, -c, 'touch begun; sleep 30']}}]\n",
        1))
    code, out, err = signalled(tmp_path, ["run", "p.yaml", "--yes"], when="begun")
    assert code == 143, out + err
    assert _final_line(out) == ("interrupted: terminated (SIGTERM) before anything changed "
                                "(exit 143)")
    assert world_files(tmp_path)["version.txt"] == "v1\n"



def test_sigterm_at_a_gate_is_no_answer(tmp_path: Path) -> None:
    """In a terminal, the gate's question is on the screen when the SIGTERM comes: it is
    not taken for "no" (which would open the declined menu and wait there)."""
    setup_world(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml")
    child.expect(r"Go on with stage one \(Write the new version\)\?")
    child.kill(signal.SIGTERM)
    child.expect("terminated \\(SIGTERM\\) before anything changed")
    assert finish(child) == 143
    assert world_files(tmp_path) == INITIAL
    [run_id] = run_ids(tmp_path)
    events = _events(tmp_path, run_id)
    assert not [e for e in events if e["type"] == "gate"
                and e.get("answer") not in (None, "yes")], events
    assert [e.get("signal") for e in events if e["type"] == "interrupted"] == ["SIGTERM"]
    assert events[-1]["type"] == "run.finished" and events[-1]["exit_code"] == 143
    assert "no locks" in runbook(tmp_path, "locks").stdout.lower()


def test_sigterm_at_the_ctrl_c_menu_leaves_things_and_says_terminated(tmp_path: Path) -> None:
    _plan(tmp_path, SLOW_MOVE)
    (tmp_path / "a").write_text("the file\n")
    (tmp_path / "hold").write_text("")
    child = spawn(tmp_path, "run", "p.yaml")  # its stages ask no gate
    end = time.monotonic() + 60
    while not (tmp_path / "started").exists():
        assert child.isalive() and time.monotonic() < end, "move never started"
        time.sleep(0.02)
    child.sendintr()  # Ctrl-C: the menu asks
    child.expect("What now")
    child.kill(signal.SIGTERM)  # and the run is told to stop while it asks
    child.expect("exit 143")
    assert finish(child) == 143
    [run_id] = run_ids(tmp_path)
    events = _events(tmp_path, run_id)
    assert [(e["choice"], e["reason"]) for e in events if e["type"] == "decision"] == \
        [("leave", "terminated (SIGTERM)")]
    assert events[-1]["type"] == "run.finished" and events[-1]["exit_code"] == 143
    assert "terminated (SIGTERM) while step move was under way" in events[-1]["message"]
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# three steps; the last fails its post check; undoing `slow` takes a while while `hold` is
# there (it says so in `undoing`)
BACKWARDS = """\
runbook: 1
name: backwards
stages:
  - name: work
    confirm: false
    steps:
      - id: a
        action:
          shell: {run: [sh, -c, "echo v2 > a.txt"], undo: [sh, -c, "echo v1 > a.txt"],
                  state: [cat, a.txt]}
        post: [{shell: {run: [cat, a.txt], contains: v2}}]
      - id: slow
        action:
          shell:
            run: [sh, -c, "echo v2 > b.txt"]
            undo: [sh, -c, "if [ -e hold ]; then touch undoing; sleep 30; fi; echo v1 > b.txt"]
            state: [cat, b.txt]
        post: [{shell: {run: [cat, b.txt], contains: v2}}]
      - id: c
        action:
          shell: {run: [sh, -c, "echo v2 > c.txt"], undo: [sh, -c, "echo v1 > c.txt"],
                  state: [cat, c.txt]}
        post: [{shell: {run: [cat, c.txt], contains: nope}}]
"""


def test_a_rollback_stopped_half_way_goes_on_only_backwards(tmp_path: Path) -> None:
    """The newcomer's finding: a `runbook rollback` stopped half-way said "`runbook
    resume` goes on", and resume applied again the step the rollback had undone."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text("v1\n")
    (tmp_path / "p.yaml").write_text(BACKWARDS)
    first = runbook(tmp_path, "run", "p.yaml", "--yes", "--on-failure", "stop")
    assert first.returncode == 3, first.stdout + first.stderr
    [run_id] = run_ids(tmp_path)
    (tmp_path / "hold").write_text("")
    # `undoing`: c is undone, and slow's undo runs
    code, out, err = signalled(tmp_path, ["rollback", run_id, "--yes"], when="undoing")
    assert code == 143, out + err
    assert _final_line(out) == (
        "interrupted: terminated (SIGTERM) during the rollback, while step slow was being "
        "rolled back; left as it is with 2 step(s) still applied (a, slow); `runbook "
        f"rollback {run_id}` goes on (not resume: it would apply again what the rollback "
        "undid) (exit 143)")
    stopped = [e for e in _events(tmp_path, run_id) if e["type"] == "interrupted"]
    assert [(e.get("rolling_back"), e.get("undoing")) for e in stopped] == \
        [(f"rollback of run {run_id} asked for", "slow")]
    assert (tmp_path / "c.txt").read_text() == "v1\n"  # undone before the SIGTERM

    # resume refuses: going forward would apply c again
    forward = runbook(tmp_path, "resume", run_id, "--yes")
    assert forward.returncode == 3, forward.stdout + forward.stderr
    said = " ".join(forward.stderr.split())
    assert f"run {run_id} was being rolled back" in said
    assert "resume would apply again what the rollback undid" in said
    assert f"go on with `runbook rollback {run_id}`" in said
    assert (tmp_path / "c.txt").read_text() == "v1\n"

    # and rollback goes on to the end
    (tmp_path / "hold").unlink()
    back = runbook(tmp_path, "rollback", run_id, "--yes")
    assert back.returncode == 1, back.stdout + back.stderr
    assert "rolled back and verified" in back.stdout
    assert [(tmp_path / f"{n}.txt").read_text() for n in "abc"] == ["v1\n"] * 3


WAITS = """\
runbook: 1
name: waits
stages:
  - name: one
    confirm: false
    steps:
      - id: settle
        action:
          wait: {for: 10m, reason: let the caches settle}
"""


def test_a_wait_cut_short_says_it_stopped_waiting(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(WAITS)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "runbook", "run", "p.yaml", "--yes"],
                            cwd=tmp_path, env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    seen = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the wait has begun once it says so
            seen.append(line)
            if "waiting: wait 10m" in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    said = "".join(seen) + out
    assert proc.returncode == 143, said + err
    assert "stopped waiting after" in said and "done waiting" not in said, said


def test_a_rollback_cut_short_after_its_undo_ran_finishes(tmp_path: Path) -> None:
    """The second newcomer's finding: the undo of `slow` had put its snapshot back when
    the SIGTERM came; `runbook rollback` then took the restored file for someone else's
    change ("drifted") and could not go on, however often it was asked."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text("v1\n")
    (tmp_path / "p.yaml").write_text(BACKWARDS.replace(
        "if [ -e hold ]; then touch undoing; sleep 30; fi; echo v1 > b.txt",
        "echo v1 > b.txt; if [ -e hold ]; then touch undoing; sleep 30; fi"))
    (tmp_path / "hold").write_text("")
    # --yes: the failing post check of c rolls back on its own
    code, out, err = signalled(tmp_path, ["run", "p.yaml", "--yes"], when="undoing")
    assert code == 143, out + err
    assert (tmp_path / "b.txt").read_text() == "v1\n"  # the undo had run
    [run_id] = run_ids(tmp_path)
    (tmp_path / "hold").unlink()
    back = runbook(tmp_path, "rollback", run_id, "--yes")
    assert back.returncode == 1, back.stdout + back.stderr
    assert "drift" not in back.stdout
    assert "2 step(s) rolled back and verified" in back.stdout
    assert [(tmp_path / f"{n}.txt").read_text() for n in "abc"] == ["v1\n"] * 3
    restored = [e for e in _events(tmp_path, run_id)
                if e["type"] == "rollback.restored" and e["step"] == "slow"]
    assert [e.get("detail", "")[:40] for e in restored] == \
        ["its undo ran before the rollback was cut"]
