"""The guided run as a person uses it: the real CLI in a pseudo-terminal (pexpect),
answering the real questionary prompts."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.engine.clihelp import FINAL, INITIAL, setup_world, world_files
from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow
DOWN = "\x1b[B"
UP = "\x1b[A"


def spawn(folder: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "NO_COLOR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    return pexpect.spawn(sys.executable, ["-m", "runbook", *args], cwd=str(folder), env=env,
                         encoding="utf-8", timeout=30, dimensions=(40, 120),
                         preexec_fn=foreground_signals)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


def test_gate_declined_changes_nothing(tmp_path):
    setup_world(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml")
    child.expect("what this stage will change")
    child.expect(r"Go on with stage one \(Write the new version\)\?")
    child.send("n")
    child.expect("the gate of stage one was declined; nothing was changed")
    assert finish(child) == 1
    assert world_files(tmp_path) == INITIAL


def test_failure_answered_with_roll_back(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace('contains: "301"', 'contains: "308"'))
    child = spawn(tmp_path, "run", "files.yaml")
    for stage in ("one", "two", "three"):
        child.expect(f"Go on with stage {stage}")
        child.send("y")
    child.expect("1 post check\\(s\\) of step redirect failed. What now\\?")
    child.expect("stop and leave things as they are")
    child.send(DOWN)  # from "retry" to "roll back every applied step"
    child.send("\r")
    child.expect("step version rolled back and verified")
    child.expect("rolled_back")
    assert finish(child) == 1
    assert world_files(tmp_path) == INITIAL


def test_protected_environment_name_typed(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace(
        "stages:\n", "environments:\n  stage: {}\n  prod: {protected: true, "
        "requires_rehearsal: stage}\nstages:\n", 1))
    child = spawn(tmp_path, "run", "files.yaml", "--env", "prod", "--skip-rehearsal",
                  "rehearsed by hand on a laptop")
    child.expect("prod is protected. Type its name to start:")
    child.send("prod\r")
    for stage in ("one", "two", "three"):
        child.expect(f"Go on with stage {stage}")
        child.send("y")
    child.expect("succeeded")
    assert finish(child) == 0
    assert world_files(tmp_path) == FINAL


def test_protected_environment_wrong_name_runs_nothing(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace(
        "stages:\n", "environments:\n  prod: {protected: true}\nstages:\n", 1))
    child = spawn(tmp_path, "run", "files.yaml", "--env", "prod")
    child.expect("prod is protected. Type its name to start:")
    child.send("stage\r")
    child.expect("was not typed as 'prod'; nothing was run")
    assert finish(child) == 2
    assert world_files(tmp_path) == INITIAL


def _slow_plan(tmp_path):
    plan = setup_world(tmp_path)
    # the redirect's post check polls for a minute: time to press Ctrl-C while it waits
    plan.write_text(plan.read_text().replace(
        '          - shell: {run: [cat, redirect.txt], contains: "301"}',
        '          - shell: {run: [cat, redirect.txt], contains: "308"}\n'
        "            within: 60s\n            every: 1s"))
    return plan


def test_ctrl_c_while_polling_then_roll_back(tmp_path):
    _slow_plan(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml", "--yes")
    child.expect("attempt")  # the spinner of the polling post check
    child.sendintr()
    child.expect("Interrupted. What now\\?")
    child.expect("leave things as they are")
    child.send(UP + "\r")  # the pointer starts on "leave": up to "roll back"
    child.expect("step version rolled back and verified")
    assert finish(child) == 1
    assert world_files(tmp_path) == INITIAL


def test_second_ctrl_c_leaves_and_resume_goes_on(tmp_path):
    _slow_plan(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml", "--yes")
    child.expect("attempt")
    child.sendintr()
    child.expect("Interrupted. What now\\?")
    child.sendintr()
    child.expect(r"interrupted; left as it is with \d+ step\(s\) applied \(version")
    child.expect("undoes them")
    assert finish(child) == 130
    assert world_files(tmp_path)["redirect.txt"] == "301\n"  # left as it was
    # the operator puts right by hand what the post check wants, then resumes: the run's
    # own plan (from its journal) verifies the step and goes on
    (tmp_path / "redirect.txt").write_text("308\n")
    run_id = next((tmp_path / ".runbook" / "runs").iterdir()).name
    again = spawn(tmp_path, "resume", run_id, "--yes")
    again.expect("step redirect verified")
    again.expect("succeeded")
    assert finish(again) == 0


def test_failure_answered_with_skip_finishes_with_skips_exit_4_and_is_no_rehearsal(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace('contains: "301"', 'contains: "308"').replace(
        "stages:\n", "environments:\n  stage: {}\n  prod: {requires_rehearsal: stage}\n"
        "stages:\n", 1))
    child = spawn(tmp_path, "run", "files.yaml", "--env", "stage")
    for stage in ("one", "two", "three"):
        child.expect(f"Go on with stage {stage}")
        child.send("y")
    child.expect("1 post check\\(s\\) of step redirect failed. What now\\?")
    child.expect("stop and leave things as they are")
    child.send(DOWN + DOWN + "\r")  # retry, roll back, skip
    child.expect("Why skip this step\\?")
    child.send("the CDN is slow today\r")
    child.expect("finished_with_skips")
    child.expect("finished, but 1 step\\(s\\) were not verified: skipped redirect \\(the CDN")
    assert finish(child) == 4
    assert world_files(tmp_path) == FINAL
    prod = spawn(tmp_path, "run", "files.yaml", "--env", "prod")
    prod.expect("requires a successful rehearsal on stage")
    assert finish(prod) == 2


def test_ctrl_c_before_the_first_action_says_nothing_changed(tmp_path):
    plan = setup_world(tmp_path)
    # the first step's pre check polls for a minute: nothing is in flight while it waits
    plan.write_text(plan.read_text().replace(
        "          - shell: {run: [cat, version.txt], contains: v1}",
        "          - shell: {run: [cat, version.txt], contains: v0}\n"
        "            within: 60s\n            every: 1s"))
    child = spawn(tmp_path, "run", "files.yaml", "--yes")
    child.expect("attempt")
    child.sendintr()
    child.expect("interrupted before anything changed")
    assert finish(child) == 130
    assert "What now" not in (child.before or "")
    assert world_files(tmp_path) == INITIAL


def test_ctrl_c_while_an_action_runs_names_the_step_under_way(tmp_path):
    plan = setup_world(tmp_path)
    # the action writes, then takes its time: Ctrl-C lands while it is in flight
    plan.write_text(plan.read_text().replace(
        'run: [sh, -c, "echo v2 > version.txt"]',
        'run: [sh, -c, "echo v2 > version.txt; echo written; sleep 60"]'))
    child = spawn(tmp_path, "run", "files.yaml", "--yes")
    child.expect("-> run `sh")  # the intent is journaled
    end = time.monotonic() + 60  # then the action has written: it is under way
    while world_files(tmp_path)["version.txt"] != "v2\n":
        assert time.monotonic() < end, "the action never wrote"
        time.sleep(0.05)
    child.sendintr()
    child.expect(r"Interrupted while step version was under way \(between its intent and its "
                 r"outcome\)\. What now\?")
    child.expect("leave things as they are")
    child.send("\r")  # the pointer starts on "leave"
    child.expect("interrupted while step version was under way; left as it is with ")
    child.expect("undoes them")
    assert finish(child) == 130
    assert "before anything changed" not in (child.before or "")
