"""Ctrl-C in the middle of a staged change (``cloudfront.staged_update``), as a person
presses it: the real CLI in a pseudo-terminal (pexpect) against a served twin, interrupted
while a weighted phase holds. The menu says what is live before its choices; leaving it,
the final line, `runbook runs` and `runbook report` say visitors are still split and name
the two commands that end it; the twin's edge shows the split; `runbook rollback` pulls
the traffic back and the edge answers from the primary alone. Without a terminal (CI,
SIGINT) the final line says it, and `runbook resume` does what that line says it does. A
weighted phase that fails and is left ("stop") says it the same way."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.sandbox.conftest import write_plan
from tests.sandbox.test_staged_crash import FINAL, INITIAL, PLAN, _runbook, _state
from tests.sandbox.test_staged_update import SITE
from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow

# the weighted phase holds an hour of plan time (36 s real at the world's scale): the
# Ctrl-C lands in it, whatever the machine's load
HELD = PLAN.replace("              - weight: 15%\n                hold: 30s",
                    "              - weight: 15%\n                hold: 1h")
WIDE = 400  # no line of the menu wraps: pexpect reads what the terminal is sent


def _spawn(folder: Path, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(WIDE), "LINES": "40",
           "NO_COLOR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    child = pexpect.spawn(sys.executable, ["-m", "runbook", *args], cwd=str(folder), env=env,
                          encoding="utf-8", timeout=20, dimensions=(40, WIDE),
                          preexec_fn=foreground_signals)
    seen = io.StringIO()
    child.logfile_read = seen
    return child, seen


def _finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


def _sides(look: Any, n: int) -> dict[str, set[str]]:
    """Which configuration answered ``n`` visitors (no header, no cookie): mark -> bodies."""
    out: dict[str, set[str]] = {}
    for _ in range(n):
        r = look.get("www.example.org")
        body = "version two" if "version two" in r.text else \
            "version one" if "version one" in r.text else r.text[:40]
        out.setdefault(r.headers.get("x-runbook-twin-config", ""), set()).add(body)
    return out


def _words(text: str) -> str:
    return " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).split())


def test_ctrl_c_in_a_weighted_phase_says_visitors_are_split_until_rolled_back(
        tmp_path, small_twin):
    twin, look = small_twin(SITE)
    write_plan(tmp_path, HELD.replace("URL", twin.proxy.url))
    cf = look.client("cloudfront")
    child, seen = _spawn(tmp_path, "run", "plan.yaml", "--env", "sandbox", "--yes",
                         "--state-dir", str(tmp_path / "state"))
    child.expect(r"phase 2 \(15%\): 15% of requests reach the staging configuration")
    child.sendintr()
    # the menu: the step under way and what is live, then what each choice does to it
    child.expect(r"Interrupted while step switch was under way \(between its intent and its "
                 r"outcome\)")
    child.expect(r"Live now \(step switch\): visitors are split: 15% of requests to E1SITE "
                 r"go to its staging copy \w+ \(continuous deployment policy [\w-]+\)\. "
                 r"What now\?")
    child.expect(r"roll back every applied step \(step switch pulls the traffic back: the "
                 r"policy disabled first")
    child.expect(r"leave things as they are: visitors stay split")
    child.send("\r")  # the pointer starts on "leave"
    child.expect(r"interrupted while step switch was under way; left as it is\. Still live "
                 r"from step switch: visitors are split")
    assert _finish(child) == 130
    said = _words(seen.getvalue())
    assert "before anything changed" not in said
    [run_id] = [p.name for p in (tmp_path / "state" / "runs").iterdir()]
    state_dir = str(tmp_path / "state")
    rollback = f"`runbook rollback --state {state_dir} {run_id}` pulls the traffic back"
    resume = (f"`runbook resume --state {state_dir} {run_id}` finds the staging copy and runs "
              "the schedule again from phase 1, the header phase")
    assert rollback in said and resume in said, said

    # through the twin's edge: visitors are still split between the two configurations
    sides = _sides(look, 200)
    assert sides.get("staging") == {"version two"}, sides
    assert sides.get("primary") == {"version one"}, sides
    assert _state(cf)["weighted"]

    runs = _runbook(tmp_path, "runs")
    listed = _words(runs.stdout)
    assert "interrupted (still live: see below)" in listed, listed
    assert f"run {run_id}: Still live from step switch: visitors are split" in listed
    assert rollback in listed and resume in listed, listed
    report = _runbook(tmp_path, "report", run_id, "--format", "text")
    told = _words(report.stdout)
    assert "still live from switch: visitors are split: 15% of requests to E1SITE" in told, told
    assert "interrupted (Ctrl-C) while step switch was under way; live then (step switch): " \
           "visitors are split" in told, told
    assert rollback.replace("`", "") in told and resume.replace("`", "") in told, told

    # the rollback the final line named pulls the traffic back; the edge answers from the
    # primary alone, and nothing says visitors are split any more
    back = _runbook(tmp_path, "rollback", run_id, "--yes")
    shown = back.stdout + back.stderr
    assert back.returncode == 1, shown
    assert "pulled back before promotion" in shown and "rolled back and verified" in shown
    assert _state(cf) == INITIAL
    assert _sides(look, 50) == {"": {"version one"}}
    assert "still live" not in _words(_runbook(tmp_path, "runs").stdout).lower()
    assert "still live" not in _words(
        _runbook(tmp_path, "report", run_id, "--format", "text").stdout).split("Timeline")[0]


def _phase_noted(folder: Path, n: int) -> bool:
    """Whether the run's journal has the note that phase ``n``'s traffic is set (not the
    one written before the policy update)."""
    found = sorted((folder / "state" / "runs").glob("*/events.jsonl"))
    if not found:
        return False
    for line in found[0].read_text().splitlines():
        with contextlib.suppress(ValueError):
            e = json.loads(line)
            data = e.get("data") or {}
            if e.get("type") == "note" and data.get("phase") == n and "live" in data \
                    and not data.get("pending"):
                return True
    return False


def test_without_a_terminal_the_final_line_says_it_and_resume_runs_the_schedule_again(
        tmp_path, small_twin):
    twin, look = small_twin(SITE)
    # ten minutes of plan time hold the weighted phase for 6 s real: the interrupt lands in
    # it, and the resume, which holds it again, stays short
    write_plan(tmp_path, PLAN.replace("URL", twin.proxy.url).replace(
        "              - weight: 15%\n                hold: 30s",
        "              - weight: 15%\n                hold: 10m"))
    cf = look.client("cloudfront")
    proc = subprocess.Popen(  # CI: no terminal, --yes; SIGINT as a runner's cancel sends it
        [sys.executable, "-m", "runbook", "run", "plan.yaml", "--env", "sandbox", "--yes",
         "--state-dir", str(tmp_path / "state")], cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": str(WIDE)}, text=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        preexec_fn=foreground_signals)
    try:
        end = time.monotonic() + 120
        while not _phase_noted(tmp_path, 2):
            assert proc.poll() is None and time.monotonic() < end, "phase 2 never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    said = _words(out)
    assert proc.returncode == 130, said
    assert "What now" not in said  # no menu without a terminal: left as it is
    assert ("interrupted while step switch was under way; left as it is. Still live from "
            "step switch: visitors are split: 15% of requests to E1SITE") in said, said
    assert "pulls the traffic back" in said and "runs the schedule again from phase 1" in said
    assert _state(cf)["weighted"]

    # resume does what the final line says: phase 1 (the header phase) again, then 15%,
    # then promotion and clean-up
    [run_id] = [p.name for p in (tmp_path / "state" / "runs").iterdir()]
    again = _runbook(tmp_path, "resume", run_id, "--yes")
    told = _words(again.stdout + again.stderr)
    assert again.returncode == 0, told
    marks = ["resume of this run", "phase 1 (header): requests with", "phase 2 (15%): 15%",
             "promoted:", "cleaned up:", "step switch verified"]
    at = [told.find(m) for m in marks]
    assert -1 not in at and at == sorted(at), told
    assert _state(cf) == FINAL
    assert _sides(look, 20) == {"": {"version two"}}
    assert "still live" not in _words(_runbook(tmp_path, "runs").stdout).lower()


def test_a_weighted_phase_that_fails_and_is_left_says_visitors_are_split(tmp_path, small_twin):
    twin, look = small_twin(SITE)
    weighted = ('              - weight: 15%\n                hold: 30s\n                checks:\n'
                '                  - http.get: {url: "https://www.example.org/", contains: '
                'version two}')
    assert weighted in PLAN
    write_plan(tmp_path, PLAN.replace("URL", twin.proxy.url).replace(
        weighted, weighted.replace("version two}", "version three}")))
    stopped = _runbook(tmp_path, "run", "plan.yaml", "--env", "sandbox", "--yes",
                       "--on-failure", "stop")
    said = _words(stopped.stdout + stopped.stderr)
    assert stopped.returncode == 3, said
    assert "phase 2 (15%) failed" in said, said
    assert "stopped and left as it is. Still live from step switch: visitors are split: 15% " \
           "of requests to E1SITE" in said, said
    assert "pulls the traffic back" in said
    assert _state(look.client("cloudfront"))["weighted"]
