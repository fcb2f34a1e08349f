"""kill -9 at chosen journal points (the fault switch RUNBOOK_CRASH_AFTER), then resume.

The matrix over every journal point kills from outside: test_crash_matrix.py.
"""

from __future__ import annotations

import pytest

from tests.engine.clihelp import FINAL, run_ids, runbook, setup_world, world_files

pytestmark = pytest.mark.slow


def test_resume_after_the_change_happened_but_before_it_was_journaled(tmp_path):
    """Killed between the action and its `applied` event: resume compares the snapshot."""
    setup_world(tmp_path)
    crashed = runbook(tmp_path, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "intent:alias"})
    assert crashed.returncode == -9
    (tmp_path / "alias.txt").write_text("new\n")  # the command had run when the kill came
    [run_id] = run_ids(tmp_path)
    r = runbook(tmp_path, "resume", run_id, "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the state differs from the snapshot: the action ran" in r.stdout
    assert world_files(tmp_path) == FINAL
    report = runbook(tmp_path, "report", run_id).stdout
    assert "step `alias`: **changed**" in report and "**resume**" in report


def test_resume_when_the_change_did_not_happen(tmp_path):
    setup_world(tmp_path)
    crashed = runbook(tmp_path, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "intent:alias"})
    assert crashed.returncode == -9
    [run_id] = run_ids(tmp_path)
    r = runbook(tmp_path, "resume", run_id, "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the state matches the snapshot: the action did not run" in r.stdout
    assert world_files(tmp_path) == FINAL
