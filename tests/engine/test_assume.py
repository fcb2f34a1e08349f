"""A step killed between its intent and its outcome whose kind keeps no snapshot: a person
says whether it ran, in a terminal ("Did it run?") or ahead with --assume and --reason.

The run is killed with the fault switch (RUNBOOK_CRASH_AFTER), as the crash tests do.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
from pathlib import Path

import pexpect
import pytest

from tests.engine.clihelp import INITIAL, PLANS, run_ids, runbook, world_files

pytestmark = pytest.mark.slow

WHY = "keeps no snapshot to compare with, so runbook cannot tell whether it ran"


def _killed_at_alias(folder: Path) -> str:
    """files.yaml without the alias step's `state`, killed once the intent of alias is
    journaled: nothing can tell whether `echo new > alias.txt` ran."""
    for name, text in INITIAL.items():
        (folder / name).write_text(text)
    plan = (PLANS / "files.yaml").read_text()
    (folder / "files.yaml").write_text(plan.replace("            state: [cat, alias.txt]\n",
                                                    ""))
    crashed = runbook(folder, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "intent:alias"})
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    [run_id] = run_ids(folder)
    return run_id


def _events(folder: Path, run_id: str) -> str:
    return (folder / ".runbook" / "runs" / run_id / "events.jsonl").read_text()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _me() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def test_without_a_terminal_the_refusal_names_both_ways_once(tmp_path: Path) -> None:
    run_id = _killed_at_alias(tmp_path)
    for _ in range(2):  # a second try says the same: it is not a dead end, it is a question
        r = runbook(tmp_path, "rollback", run_id, "--yes")
        assert r.returncode == 3, r.stdout + r.stderr
        out = _flat(r.stdout + r.stderr)
        assert out.count(WHY) == 1, out
        assert (f'in a terminal, `runbook rollback {run_id}` asks "Did it run?"; without '
                f"one, give the answer with `runbook rollback {run_id} --yes --assume "
                'alias=ran --reason "what you saw"` (or alias=not-run)') in out
        assert "Still applied: version, alias" in out
        assert "goes on" not in out  # no promise that the same command would go on
    assert world_files(tmp_path)["version.txt"] == "v2\n"  # nothing was undone


def test_rollback_assuming_it_did_not_run_skips_its_undo(tmp_path: Path) -> None:
    run_id = _killed_at_alias(tmp_path)
    r = runbook(tmp_path, "rollback", run_id, "--yes", "--assume", "alias=not-run",
                "--reason", "the CI log stops before the command")
    assert r.returncode == 1, r.stdout + r.stderr
    out = _flat(r.stdout)
    assert (f"step alias: decision: not-run (assumed with --assume by {_me()}: the CI log "
            "stops before the command)") in out
    assert "1 step(s) rolled back and verified; 1 had nothing to restore (exit 1)" in out
    assert world_files(tmp_path) == INITIAL
    report = runbook(tmp_path, "report", run_id, "--format", "markdown").stdout
    assert (f"step `alias`: decision: **not-run** (assumed with --assume by {_me()}: the CI "
            "log stops before the command)") in report
    assert "- outcome: **rolled_back** (exit 1)" in report


def test_rollback_assuming_it_ran_undoes_it_unproved(tmp_path: Path) -> None:
    run_id = _killed_at_alias(tmp_path)
    (tmp_path / "alias.txt").write_text("new\n")  # the command had run when the kill came
    r = runbook(tmp_path, "rollback", run_id, "--yes", "--assume", "alias=ran",
                "--reason", "alias.txt says new")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "step alias undone, not proved" in r.stdout
    assert world_files(tmp_path) == INITIAL
    report = runbook(tmp_path, "report", run_id, "--format", "markdown").stdout
    assert "decision: **ran** (assumed with --assume by" in report


@pytest.mark.parametrize(("ran", "answer"), [(True, "ran"), (False, "not-run")])
def test_resume_takes_the_same_answer(tmp_path: Path, ran: bool, answer: str) -> None:
    run_id = _killed_at_alias(tmp_path)
    if ran:
        (tmp_path / "alias.txt").write_text("new\n")
    r = runbook(tmp_path, "resume", run_id, "--yes", "--assume", f"alias={answer}",
                "--reason", "looked at alias.txt")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"step alias: decision: {answer} (assumed with --assume by {_me()}: looked at " \
           "alias.txt)" in _flat(r.stdout)
    assert world_files(tmp_path)["alias.txt"] == "new\n"
    assert world_files(tmp_path)["redirect.txt"] == "301\n"  # and on to the end
    resumed = runbook(tmp_path, "resume", run_id, "--yes")
    assert "already finished (succeeded)" in resumed.stdout


def test_resume_without_an_answer_names_both_ways(tmp_path: Path) -> None:
    run_id = _killed_at_alias(tmp_path)
    r = runbook(tmp_path, "resume", run_id, "--yes")
    assert r.returncode == 3, r.stdout + r.stderr
    out = _flat(r.stdout + r.stderr)
    assert out.count(WHY) == 1, out
    assert (f'`runbook resume {run_id}` asks "Did it run?"; without one, give the answer '
            f"with `runbook resume {run_id} --yes --assume alias=ran") in out


@pytest.mark.parametrize(("args", "message"), [
    (["--assume", "alias=ran"], '--assume needs --reason "what you saw"'),
    (["--assume", "alias=maybe", "--reason", "x"],
     "--assume 'alias=maybe': write STEP=ran or STEP=not-run"),
    (["--assume", "alais=ran", "--reason", "x"],
     "--assume alais: the plan has no such step (did you mean 'alias'?)"),
    (["--assume", "version=ran", "--reason", "x"],
     "--assume version: whether step version ran is not in question in run RUN: only step "
     "alias was interrupted between its intent and its outcome"),
    (["--reason", "x"], "--reason goes with --assume STEP=ran|not-run"),
])
def test_an_answer_that_does_not_fit_changes_nothing(tmp_path: Path, args: list[str],
                                                     message: str) -> None:
    run_id = _killed_at_alias(tmp_path)
    before = _events(tmp_path, run_id)
    r = runbook(tmp_path, "rollback", run_id, "--yes", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message.replace("RUN", run_id) in _flat(r.stderr), r.stderr
    assert _events(tmp_path, run_id) == before
    assert world_files(tmp_path)["version.txt"] == "v2\n"


def test_the_terminal_answer_is_journaled_with_who_gave_it(tmp_path: Path) -> None:
    run_id = _killed_at_alias(tmp_path)
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    env.pop("RUNBOOK_NO_TTY", None)
    child = pexpect.spawn(sys.executable, ["-m", "runbook", "rollback", run_id],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=30,
                          dimensions=(40, 120))
    child.expect(r"Did it run\?")
    child.expect("stop; I will look")
    child.send("\x1b[A")  # the pointer starts on "stop" (it changes nothing); up: "it did not run"
    child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1, child.before
    assert world_files(tmp_path) == INITIAL
    report = runbook(tmp_path, "report", run_id, "--format", "markdown").stdout
    assert re.search(rf"step `alias`: decision: \*\*not-run\*\* \(answered in a terminal by "
                     rf"{re.escape(_me())}\)", report), report
