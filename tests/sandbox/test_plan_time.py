"""Against a twin, plan time runs faster than real time: the report and the final line
label plan seconds as such, with the real time beside them."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.conftest import write_plan
from tests.sandbox.test_served import WORLD

pytestmark = pytest.mark.slow

PLAN = """\
runbook: 1
name: slow
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
      - id: pause
        action:
          wait: {for: 5m}
        post:
          - http.get: {url: "https://www.example.org/", status: 200, contains: v2}
            within: 10m
            every: 30s
"""


def test_plan_seconds_are_labelled_in_the_report_and_the_final_line(cli, tmp_path,
                                                                    small_twin):
    small_twin(WORLD)
    plan = write_plan(tmp_path, PLAN)
    state = str(tmp_path / "state")
    r = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", state)
    assert r.code == 1, r.stdout + r.stderr  # v2 never appears: the post check fails
    said = " ".join(r.stdout.split())
    assert "plan time: `within`, `every`, `soak`" in said
    assert "the sandbox runs plan time 100x faster" in said
    report = " ".join(cli("report", "last", "--state-dir", state).stdout.split())
    # minutes of waiting took seconds here: both are said, and which is which
    waited = report.split("time spent waiting: ")[1]
    assert re.match(r"\d+m\d*s? of plan time \(\d+s real: ", waited), waited[:80]
    assert "real: the sandbox runs plan time 100x faster)" in report
    assert "of plan time" in report.split("checks spent")[1].split("failing in total")[0]
    assert "s of plan time (" in report.split("failing for")[1]
