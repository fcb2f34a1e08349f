"""Lock hygiene and the rehearsal guard against the default local store: the same
commands as on S3 (tests/store/test_team.py), the same answers."""

from __future__ import annotations

import json

import pytest

from tests.engine.clihelp import FINAL, run_ids, runbook, setup_world, world_files

pytestmark = pytest.mark.slow


def test_locks_lists_a_killed_run_and_unlock_by_id_alone_is_journaled(tmp_path):
    setup_world(tmp_path)
    crashed = runbook(tmp_path, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "applied:alias"})
    assert crashed.returncode == -9
    [run_id] = run_ids(tmp_path)
    [held] = json.loads(runbook(tmp_path, "locks", "--format", "json").stdout)
    assert held["run_id"] == run_id and held["probably_stale"].startswith("its process")
    listing = runbook(tmp_path, "locks").stdout
    assert "files@default" in listing and "probably stale" in listing
    assert "runbook unlock --lock-id ID" in listing
    ok = runbook(tmp_path, "unlock", "--lock-id", held["lock_id"], "--reason", "crash test")
    assert ok.returncode == 0, ok.stderr
    assert runbook(tmp_path, "locks").stdout.startswith("no locks held in .runbook")
    assert runbook(tmp_path, "resume", run_id, "--yes").returncode == 0
    assert world_files(tmp_path) == FINAL
    report = runbook(tmp_path, "report", run_id).stdout
    assert "**lock broken** by" in report and "crash test" in report


def test_skip_rehearsal_needs_a_reason(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace(
        "stages:", "environments:\n  stage: {}\n  prod: {requires_rehearsal: stage}\nstages:"))
    refused = runbook(tmp_path, "run", "files.yaml", "-e", "prod", "--yes")
    assert refused.returncode == 2 and "No run of this plan on stage" in refused.stderr
    empty = runbook(tmp_path, "run", "files.yaml", "-e", "prod", "--yes",
                    "--skip-rehearsal", " ")
    assert empty.returncode == 2 and "--skip-rehearsal needs a reason" in empty.stderr
    assert run_ids(tmp_path) == []
