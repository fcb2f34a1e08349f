"""What the crash matrices share (test_crash_matrix.py on files, test_crash_aws.py on
moto): read the journal as it grows, kill the run from outside at its n-th event, and
copy a killed run elsewhere so that one copy is resumed and the other rolled back."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.engine.clihelp import run_ids


def events(folder: Path) -> list[dict[str, Any]]:
    """The run's journal as far as it is written (a line being written is left out)."""
    ids = run_ids(folder)
    path = folder / ".runbook" / "runs" / ids[0] / "events.jsonl" if ids else None
    if path is None or not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # the line being written
            break
    return out


def kill_at(folder: Path, n: int, args: list[str], env: dict[str, str] | None = None,
            limit: float = 60.0) -> int:
    """Run ``runbook ARGS`` in ``folder``; SIGKILL its process group once the journal
    holds n events. Returns how many events the journal holds after the kill."""
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full.pop("RUNBOOK_CRASH_AFTER", None)
    proc = subprocess.Popen([sys.executable, "-m", "runbook", *args], cwd=folder, env=full,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + limit
    try:
        while len(events(folder)) < n and proc.poll() is None:
            assert time.monotonic() < deadline, f"the run never reached {n} events"
            time.sleep(0.002)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it had finished (n is its last)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return len(events(folder))


def copy_run(folder: Path, to: Path) -> None:
    """The same world and journal elsewhere: the journal names the plan's folder."""
    shutil.copytree(folder, to)
    [run_id] = run_ids(to)
    meta_file = to / ".runbook" / "runs" / run_id / "plan.json"
    meta = json.loads(meta_file.read_text())
    meta["plan_dir"] = str(to)
    meta_file.write_text(json.dumps(meta))
