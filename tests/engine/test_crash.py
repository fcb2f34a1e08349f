"""kill -9 at every journal point of a 3-stage plan, then resume or roll back.

The CLI is killed with SIGKILL right after it writes event number N (the fault switch
RUNBOOK_CRASH_AFTER=seq:N). From the journal alone, ``resume`` must reach the final state
and, separately, ``rollback`` must restore the initial state, file by file.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.engine.clihelp import FINAL, INITIAL, run_ids, runbook, setup_world, world_files

pytestmark = pytest.mark.slow


def _event_count(tmp: Path) -> int:
    folder = tmp / "clean"
    folder.mkdir()
    setup_world(folder)
    r = runbook(folder, "run", "files.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    [run_id] = run_ids(folder)
    return len((folder / ".runbook" / "runs" / run_id / "events.jsonl").read_text()
               .splitlines())


def _crash_then(folder: Path, n: int, then: str) -> tuple[int, str, str, dict[str, str]]:
    setup_world(folder)
    crashed = runbook(folder, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": f"seq:{n}"})
    assert crashed.returncode == -9, (n, crashed.stdout, crashed.stderr)
    [run_id] = run_ids(folder)
    after = runbook(folder, then, run_id, "--yes")
    return after.returncode, after.stdout, after.stderr, world_files(folder)


@pytest.mark.parametrize("then", ["resume", "rollback"])
def test_every_journal_point(tmp_path, then):
    total = _event_count(tmp_path)
    assert total > 20  # the plan really has many journal points
    points = list(range(1, total + 1))

    def one(n: int) -> tuple[int, int, str, str, dict[str, str]]:
        folder = tmp_path / f"{then}-{n}"
        folder.mkdir()
        code, out, err, files = _crash_then(folder, n, then)
        shutil.rmtree(folder / ".runbook", ignore_errors=True)
        return n, code, out, err, files

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, points))
    failures = []
    for n, code, out, err, files in results:
        if then == "resume":
            if n == total:  # killed after run.finished: the run had ended
                ok = code == 3 and "already ended (succeeded)" in err and files == FINAL
            else:
                ok = code == 0 and files == FINAL
        else:
            ok = code == 1 and files == INITIAL
        if not ok:
            failures.append((n, code, files, out[-600:], err[-600:]))
    assert not failures, failures


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
