"""A run killed before its first event leaves a lock; the next run takes it over when the
holder is provably gone (its process is dead on this host, or its lease ran out), and
journals that it did. The run is killed with the fault switch (RUNBOOK_CRASH_AFTER=lock:
right after taking its lock, before any event)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.engine.clihelp import FINAL, INITIAL, run_ids, runbook, setup_world, world_files

pytestmark = pytest.mark.slow

LOCK = Path(".runbook") / "locks" / "files@default.json"


def _killed_after_locking(folder: Path) -> dict[str, Any]:
    setup_world(folder)
    crashed = runbook(folder, "run", "files.yaml", "--yes", env={"RUNBOOK_CRASH_AFTER": "lock"})
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    assert "no runs" in runbook(folder, "runs").stdout  # the lock nobody can see in `runs`
    held: dict[str, Any] = json.loads((folder / LOCK).read_text())
    return held


def _as_if_from(folder: Path, held: dict[str, Any], host: str, age: dt.timedelta) -> None:
    """The same lock, as a run on another machine (a CI runner) would have left it."""
    since = (dt.datetime.now(dt.UTC) - age).isoformat(timespec="seconds")
    (folder / LOCK).write_text(json.dumps({**held, "host": host,
                                           "since": since.replace("+00:00", "Z")}))


def _report(folder: Path, run_id: str) -> str:
    return " ".join(runbook(folder, "report", run_id, "--format", "markdown").stdout.split())


def test_the_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    held = _killed_after_locking(tmp_path)
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert world_files(tmp_path) == FINAL
    [run_id] = run_ids(tmp_path)
    host = socket.gethostname()
    assert (f"**lock taken over** from run `{held['run_id']}` (pid {held['pid']} on {host}): "
            f"its process (pid {held['pid']} on {host}) is gone and its run never wrote an "
            "event") in _report(tmp_path, run_id)
    assert not (tmp_path / LOCK).exists()  # released at the end


def test_a_lock_from_another_host_is_taken_over_once_its_lease_ran_out(tmp_path: Path) -> None:
    held = _killed_after_locking(tmp_path)
    _as_if_from(tmp_path, held, "ci-runner-7", dt.timedelta(minutes=20))
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert world_files(tmp_path) == FINAL
    [run_id] = run_ids(tmp_path)
    assert re.search(rf"\*\*lock taken over\*\* from run `{held['run_id']}` \(pid "
                     rf"{held['pid']} on ci-runner-7\): its lease ran out \(its run has shown "
                     r"no sign of life for 20m\d*s? \(more than 15m\)\) and its run never "
                     "wrote an event", _report(tmp_path, run_id))


def test_a_lock_from_another_host_within_its_lease_is_refused(tmp_path: Path) -> None:
    held = _killed_after_locking(tmp_path)
    _as_if_from(tmp_path, held, "ci-runner-7", dt.timedelta(minutes=2))
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 2, r.stdout + r.stderr
    err = " ".join(r.stderr.split())
    assert f"is locked by run {held['run_id']} by " in err and "on ci-runner-7" in err, err
    assert ("A run killed before its first event leaves a lock the next run takes over once "
            "its holder shows no sign of life for 15m") in err
    assert world_files(tmp_path) == INITIAL and run_ids(tmp_path) == []


def test_a_dead_run_that_may_have_changed_things_keeps_its_lock(tmp_path: Path) -> None:
    """Only a run that changed nothing (or finished) is taken over: this one must be
    resumed or rolled back first."""
    setup_world(tmp_path)
    crashed = runbook(tmp_path, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "applied:alias"})
    assert crashed.returncode == -9
    [first] = run_ids(tmp_path)
    held = json.loads((tmp_path / LOCK).read_text())
    _as_if_from(tmp_path, held, "ci-runner-7", dt.timedelta(hours=1))
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"is locked by run {first}" in " ".join(r.stderr.split())
    assert run_ids(tmp_path) == [first]
