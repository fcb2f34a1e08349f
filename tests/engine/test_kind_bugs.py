"""A kind that raises (a bug, not one of runbook's errors) in any phase: the run still ends
with a journaled outcome naming the step, and the CLI says so with the documented exit
code, never "internal error". The kind is tests/engine/boomkind.py; the CLI runs in a
subprocess with it registered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
runbook: 1
name: boom
stages:
  - name: one
    confirm: false
    steps:
      - id: first
        action: {test.boom: {file: a.txt, to: a2}}
        post: [{shell: {run: [cat, a.txt], contains: a2}}]
  - name: two
    steps:
      - id: boom
        action: {test.boom: {file: b.txt, to: b2, fail: PHASE}}
        post: [{shell: {run: [cat, b.txt], contains: POST}}]
"""


def _cli(folder: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    if crash:
        env["RUNBOOK_CRASH_AFTER"] = crash
    return subprocess.run([sys.executable, "-m", "tests.engine.boomkind", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


def _setup(folder: Path, phase: str, post: str = "b2") -> None:
    (folder / "p.yaml").write_text(PLAN.replace("PHASE", phase).replace("POST", post))
    (folder / "a.txt").write_text("a1")
    (folder / "b.txt").write_text("b1")


def _journal(folder: Path) -> list[dict[str, Any]]:
    [run] = list((folder / ".runbook" / "runs").iterdir())
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def _files(folder: Path) -> tuple[str, str]:
    return (folder / "a.txt").read_text(), (folder / "b.txt").read_text()


def _flat(text: str) -> str:
    return " ".join(text.split())


# phase -> (post check of boom, exit code, outcome, the failing event, what is left)
CASES = {
    "describe": ("b2", 1, "rolled_back", "failed", ("a1", "b1")),
    "snapshot": ("b2", 1, "rolled_back", "failed", ("a1", "b1")),
    "diff": ("b2", 1, "rolled_back", "failed", ("a1", "b1")),
    "apply": ("b2", 1, "rolled_back", "failed", ("a1", "b1")),
    # the post check fails, so the rollback calls the phase
    "drifted": ("zzz", 3, "rollback_failed", "rollback.failed", ("a2", "b2")),
    "restore": ("zzz", 3, "rollback_failed", "rollback.failed", ("a2", "b2")),
    "restored": ("zzz", 3, "rollback_failed", "rollback.failed", ("a2", "b1")),
}


@pytest.mark.parametrize("phase", list(CASES))
def test_a_kind_bug_in_each_phase_is_a_journaled_failure(tmp_path: Path, phase: str) -> None:
    post, code, outcome, event, left = CASES[phase]
    _setup(tmp_path, phase, post)
    r = _cli(tmp_path, "run", "p.yaml", "--yes")
    assert r.returncode == code, r.stdout + r.stderr
    said = f"step boom: test.boom raised KeyError in {phase}: 'no {phase}'"
    assert said in _flat(r.stdout), r.stdout
    assert "internal error" not in r.stdout + r.stderr and "Traceback" not in r.stderr
    events = _journal(tmp_path)
    last = events[-1]
    assert last["type"] == "run.finished" and last["outcome"] == outcome, last
    assert last["exit_code"] == code
    failed = [e for e in events if e["type"] == event and e.get("step") == "boom"]
    assert failed and said in failed[0]["error"], events
    assert "p.yaml, line 13" in failed[0]["error"]  # the plan line of the action
    assert _files(tmp_path) == left


def test_a_kind_bug_in_the_gate_preview_is_shown_and_journaled(tmp_path: Path) -> None:
    """Only the preview fails (the step's first snapshot): the gate shows it and journals
    it; the answer is yes (--yes), and the step's own snapshot and apply work."""
    _setup(tmp_path, "preview")
    r = _cli(tmp_path, "run", "p.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    said = "step boom: test.boom raised KeyError in snapshot: 'no preview'"
    assert said in _flat(r.stdout)
    events = _journal(tmp_path)
    [gate] = [e for e in events if e["type"] == "gate"]
    assert said in gate["errors"]["boom"]
    assert events[-1]["type"] == "run.finished" and events[-1]["outcome"] == "succeeded"
    assert _files(tmp_path) == ("a2", "b2")


@pytest.mark.parametrize("phase", ["snapshot", "diff"])
def test_a_kind_bug_in_the_gate_preview_is_in_the_gate_event(tmp_path: Path,
                                                              phase: str) -> None:
    _setup(tmp_path, phase)
    _cli(tmp_path, "run", "p.yaml", "--yes")
    [gate] = [e for e in _journal(tmp_path) if e["type"] == "gate"]
    assert f"step boom: test.boom raised KeyError in {phase}" in gate["errors"]["boom"]


@pytest.mark.parametrize("phase", ["snapshot", "diff"])
def test_a_kind_bug_in_the_dry_run_is_its_preview_error(tmp_path: Path, phase: str) -> None:
    _setup(tmp_path, phase)
    r = _cli(tmp_path, "plan", "p.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"step boom: test.boom raised KeyError in {phase}: 'no {phase}'" in _flat(r.stdout)
    assert "internal error" not in r.stdout + r.stderr
    assert _files(tmp_path) == ("a1", "b1")


def test_a_kind_bug_in_recover_is_the_steps_failure(tmp_path: Path) -> None:
    _setup(tmp_path, "recover")
    crashed = _cli(tmp_path, "run", "p.yaml", "--yes", crash="intent:boom")
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    (tmp_path / "b.txt").write_text("b2")  # the change had happened when the kill came
    [run_id] = [p.name for p in (tmp_path / ".runbook" / "runs").iterdir()]
    r = _cli(tmp_path, "resume", run_id, "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert ("step boom ran, but what it made cannot be recovered: step boom: test.boom "
            "raised KeyError in recover: 'no recover'") in _flat(r.stdout)
    events = _journal(tmp_path)
    assert events[-1]["type"] == "run.finished" and events[-1]["outcome"] == "rolled_back"
    assert any(e["type"] == "failed" and e.get("phase") == "recover" for e in events)
    assert _files(tmp_path) == ("a1", "b1")  # both undone, each proved
