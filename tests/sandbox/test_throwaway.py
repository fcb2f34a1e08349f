"""A run against a world-file twin (a throwaway one, gone with the process) interrupted
with Ctrl-C: its final line and its report say what is true, not a command that refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sandbox.test_served import PLAN, WORLD, finish, spawn

pytestmark = pytest.mark.slow


def test_ctrl_c_against_a_throwaway_twin_says_it_is_gone(tmp_path: Path) -> None:
    (tmp_path / "world.yaml").write_text(WORLD)
    (tmp_path / "plan.yaml").write_text(textwrap.dedent(PLAN).replace(
        'sandbox: {serve: "http://127.0.0.1:PORT"}', "sandbox: world.yaml"))
    child = spawn(tmp_path, "run", "plan.yaml", "--env", "twin", "--yes")
    child.expect("attempt")  # the post check polls: v2 is not in the bucket
    child.sendintr()
    # the Ctrl-C lands in the action's wait for its deployment, or in the post check's
    child.expect(r"Interrupted( while step bump was under way \(between its intent and its "
                 r"outcome\))?\. What now\?")
    child.sendintr()  # a second Ctrl-C: leave things as they are
    # the final line wraps where its words fall: any space may be a line break
    child.expect(r"this\s+twin\s+\(of\s+world.yaml\)\s+lived\s+in\s+this\s+process\s+and\s+is"
                 r"\s+gone\s+with\s+it")
    child.expect(r"To\s+rehearse\s+resume\s+and\s+rollback,\s+serve\s+the\s+twin")
    assert finish(child) == 130
    said = child.before or ""
    assert "`runbook resume` goes on" not in said
    report = run_cli("report", "last", cwd=tmp_path)
    assert report.code == 0, report.stderr
    text = " ".join(report.stdout.split())
    assert "is gone with it" in text
    assert "runbook rollback" not in text and "runbook resume" not in text
    resume = run_cli("resume", "last", "--yes", cwd=tmp_path)  # and indeed it cannot
    assert resume.code != 0 and "lived only as long as the process" in resume.stderr


BLIND = """\
runbook: 1
name: blind
environments:
  twin:
    sandbox: world.yaml
stages:
  - name: one
    confirm: false
    steps:
      - id: blind
        action: {shell: {run: [sh, -c, "exit 1"], undo: ["true"]}}
        post: [{shell: {run: ["true"]}}]
"""


def test_a_step_nobody_can_tell_about_in_a_throwaway_twin_names_no_later_command(
        tmp_path: Path) -> None:
    """Its apply failed, its kind keeps no snapshot: whether it ran is undecided. No later
    `rollback` (in a terminal or with --assume) can answer for a twin that is gone."""
    (tmp_path / "world.yaml").write_text(WORLD)
    (tmp_path / "plan.yaml").write_text(BLIND)
    r = run_cli("run", "plan.yaml", "--env", "twin", "--yes", cwd=tmp_path)
    assert r.code == 3, r.stdout + r.stderr
    said = " ".join(r.stdout.split())
    assert "runbook cannot tell whether step blind ran. Still applied: blind; this twin (of " \
           "world.yaml) lived in this process and is gone with it" in said, said
    assert "--assume" not in said and "Did it run?" not in said
