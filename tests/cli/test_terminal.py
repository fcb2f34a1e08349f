"""What the operator sees on a terminal: the real CLI in a pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from tests.engine.clihelp import runbook, setup_world
from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def spawn(folder: Path, *args: str, columns: int = 120) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(columns), "LINES": "40",
           "NO_COLOR": "1", "PROMPT_TOOLKIT_NO_CPR": "1"}
    env.pop("RUNBOOK_CRASH_AFTER", None)
    return pexpect.spawn(sys.executable, ["-m", "runbook", *args], cwd=str(folder), env=env,
                         encoding="utf-8", timeout=30, dimensions=(40, columns),
                         preexec_fn=foreground_signals)


def screen(child: pexpect.spawn) -> str:
    """Everything the command printed, until it exits, without terminal control codes."""
    child.expect(pexpect.EOF)
    child.close()
    return ANSI.sub("", str(child.before))


@pytest.mark.parametrize("columns", [80, 120])
def test_runs_and_locks_show_whole_ids_at_any_width(tmp_path: Path, columns: int) -> None:
    setup_world(tmp_path)
    runbook(tmp_path, "run", "files.yaml", "--yes", env={"RUNBOOK_CRASH_AFTER": "applied:alias"})
    run_id = next((tmp_path / ".runbook" / "runs").iterdir()).name
    out = screen(spawn(tmp_path, "runs", columns=columns))
    assert re.search(rf"^{run_id}(\s|$)", out, re.M), out
    assert "…" not in out
    locks = screen(spawn(tmp_path, "locks", columns=columns))
    lock_id = re.search(r'"lock_id": "(\w+)"',
                        runbook(tmp_path, "locks", "-f", "json").stdout)
    assert lock_id is not None
    assert re.search(rf"^{lock_id[1]}(\s|$)", locks, re.M), locks
    assert re.search(rf"\b{run_id}\b", locks), locks
    assert "…" not in locks


MANUAL = """runbook: 1
name: by-hand
stages:
  - name: one
    steps:
      - id: function
        action:
          manual:
            instructions: |
              Add a CloudFront Function named redirect-old-host to the distribution,
              on viewer request, with the code in functions/redirect.js; publish it.
              Then check the function's test tab returns 301 for /index.html.
            undo: Remove the function association and delete the function.
        post:
          - shell: {run: "true"}
"""


def test_a_gate_shows_manual_instructions_whole(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(MANUAL)
    child = spawn(tmp_path, "run", "p.yaml")
    child.expect("what this stage will change")
    child.expect(r"Go on with stage one\?")
    gate = ANSI.sub("", str(child.before))
    for line in ("+ Add a CloudFront Function named redirect-old-host to the distribution,",
                 "+ on viewer request, with the code in functions/redirect.js; publish it.",
                 "+ Then check the function's test tab returns 301 for /index.html."):
        assert line in gate, gate
    assert "..." not in gate
    child.send("y")
    child.expect("Done\\?")
    child.send("y")
    out = screen(child)
    assert "succeeded" in out


def test_show_markdown_has_manual_instructions_whole(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(MANUAL)
    out = runbook(tmp_path, "show", "p.yaml", "--format", "markdown").stdout
    assert ("Instructions:\n\n"
            "> Add a CloudFront Function named redirect-old-host to the distribution,\n"
            "> on viewer request, with the code in functions/redirect.js; publish it.\n"
            "> Then check the function's test tab returns 301 for /index.html.\n") in out
    assert "To undo it:\n\n> Remove the function association and delete the function.\n" \
        in out


def test_a_polling_check_is_one_live_line_then_one_summary(tmp_path: Path) -> None:
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace(
        'run: [sh, -c, "echo 301 > redirect.txt"]',
        'run: [sh, -c, "(sleep 3; echo 301 > redirect.txt) >/dev/null 2>&1 &"]').replace(
        '          - shell: {run: [cat, redirect.txt], contains: "301"}',
        '          - shell: {run: [cat, redirect.txt], contains: "301"}\n'
        "            within: 60s\n            every: 0.5s"))
    child = spawn(tmp_path, "run", "files.yaml", "--yes")
    child.expect(r"attempt \d+, \d+s left - ")  # the live line: attempt, time left, answer
    out = screen(child)
    # the summary line (wrapped at the terminal's width)
    assert re.search(r"ok post: `cat redirect.txt` .* after \d+ tries in\s+\d", out), out
    assert "waiting:" not in out  # the line-per-change form is for logs, not terminals


def test_report_on_a_terminal_reads_as_text(tmp_path: Path) -> None:
    setup_world(tmp_path)
    assert runbook(tmp_path, "run", "files.yaml", "--yes").returncode == 0
    out = screen(spawn(tmp_path, "report", "last", columns=80))
    assert out.startswith("Run 20")
    assert "outcome: succeeded (exit 0): every step applied and verified" in out
    assert "still applied: version (verified), alias (verified)" in out
    assert "Timeline" in out and "Changes" in out
    assert "| --- |" not in out and not re.search(r"^\|", out, re.M) and "**" not in out
    assert re.search(r"^  \d\d:\d\d:\d\d  run finished: succeeded", out, re.M), out


def test_ctrl_c_reaches_a_spawned_child_however_the_suite_was_started() -> None:
    """A suite started with `pytest &` ignores SIGINT, and so would every runbook it spawns
    (tests/terminal.py): the spawn helpers give the child a terminal's Ctrl-C back."""
    import signal

    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job
    try:
        child = pexpect.spawn(sys.executable, ["-c", "import signal, time; "
                                               "print(signal.getsignal(signal.SIGINT)); "
                                               "time.sleep(30)"],
                              encoding="utf-8", timeout=30, preexec_fn=foreground_signals)
    finally:
        signal.signal(signal.SIGINT, old)
    child.expect("default_int_handler")
    child.sendintr()
    child.expect("KeyboardInterrupt")
    child.expect(pexpect.EOF)
