"""The guided run as a person uses it: the real CLI in a pseudo-terminal (pexpect),
answering the real questionary prompts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from tests.engine.clihelp import FINAL, INITIAL, setup_world, world_files

pytestmark = pytest.mark.slow
DOWN = "\x1b[B"


def spawn(folder: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "NO_COLOR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    return pexpect.spawn(sys.executable, ["-m", "runbook", *args], cwd=str(folder), env=env,
                         encoding="utf-8", timeout=30, dimensions=(40, 120))


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
