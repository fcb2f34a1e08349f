"""On resume, a stage's header comes before the work resume does in it (settling the
step that was interrupted), and only once."""

from __future__ import annotations

import io

import pytest

from tests.engine.test_interactive import _slow_plan, finish, spawn

pytestmark = pytest.mark.slow


def test_the_stage_header_comes_before_the_step_resume_settles(tmp_path):
    _slow_plan(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml", "--yes")
    child.expect("attempt")
    child.sendintr()
    child.expect("Interrupted. What now\\?")
    child.sendintr()  # leave things as they are
    assert finish(child) == 130
    (tmp_path / "redirect.txt").write_text("308\n")
    run_id = next((tmp_path / ".runbook" / "runs").iterdir()).name
    again = spawn(tmp_path, "resume", run_id, "--yes")
    again.logfile_read = seen = io.StringIO()
    assert finish(again) == 0
    said = seen.getvalue()
    header, verified = said.find("== stage three"), said.find("step redirect verified")
    assert -1 < header < verified, said
    assert said.count("== stage three") == 1
