"""A run whose output goes away (`runbook run ... | head`, a closed terminal) goes on to
its end and journals it; before, the next print ended it half-way with exit 1 and no word
in its journal. Through the CLI, in a real subprocess over a folder of files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.engine.clihelp import run_ids
from tests.engine.test_verdicts import MOVE, _plan

# `move` waits while the file `hold` is there (and says it started): the reader goes
# away in the middle of the run
WAITING = MOVE.replace(
    "sleep 2; mv a b", "touch started; while [ -e hold ]; do sleep 0.05; done; mv a b").replace(
    "STATE", 'state: [sh, -c, "ls a b 2>/dev/null; true"]')


def test_a_run_whose_reader_goes_away_finishes_and_journals_it(tmp_path: Path) -> None:
    _plan(tmp_path, WAITING)
    (tmp_path / "a").write_text("the file\n")
    (tmp_path / "hold").write_text("")
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    proc = subprocess.Popen([sys.executable, "-m", "runbook", "run", "p.yaml", "--yes"],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 60
        while not (tmp_path / "started").exists():
            assert proc.poll() is None and time.monotonic() < end, "move never started"
            time.sleep(0.02)
        assert proc.stdout is not None
        proc.stdout.close()  # as `| head` does once it has its lines
        (tmp_path / "hold").unlink()
        proc.wait(timeout=60)
        err = proc.stderr.read().decode() if proc.stderr is not None else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "b").read_text() == "the file\n"
    [run_id] = run_ids(tmp_path)
    lines = (tmp_path / ".runbook" / "runs" / run_id / "events.jsonl").read_text()
    last = json.loads(lines.splitlines()[-1])
    assert (last["type"], last["outcome"]) == ("run.finished", "succeeded")
