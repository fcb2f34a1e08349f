"""A long change or a long list of expected failures is said once: a diff shown whole at
the gate is not printed again at its step, and a dry run's "not yet" check is one line."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import PLANS, fresh_twin, write_plan
from tests.sandbox.test_served import WORLD

pytestmark = pytest.mark.slow

MAP = """\
runbook: 1
name: mapdiff
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: redirects
    steps:
      - id: map
        action:
          cloudfront.redirects:
            id: E1SITE
            map:
ENTRIES
        post:
          - http.redirects: {map: {"https://www.example.org/a1": "https://www.example.org/b1"}}
        rollback: auto
"""


def test_a_long_diff_is_shown_at_the_gate_and_not_again_at_its_step(cli, tmp_path,
                                                                    small_twin):
    small_twin(WORLD)
    entries = "\n".join(f'              "https://www.example.org/a{i}": '
                        f'"https://www.example.org/b{i}"' for i in range(1, 21))
    plan = write_plan(tmp_path, MAP.replace("ENTRIES", entries))
    r = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "st"))
    assert r.code == 0, r.stdout[-3000:] + r.stderr
    assert r.stdout.count("redirect /a7:") == 1  # at the gate only
    assert "the change shown at the gate above" in r.stdout


def test_a_dry_run_says_a_failing_map_check_in_one_line(cli):
    with fresh_twin(PLANS / "sandbox" / "help-before.yaml"):
        r = cli("plan", str(PLANS / "docs-to-help.yaml"), "--env", "sandbox")
    assert r.code == 0, r.stdout + r.stderr
    said = " ".join(r.stdout.split())
    assert ("the redirects in help-redirects.csv work with 301 or 308 - 20 of 20 redirects "
            "failed (20 wrong status) (details in `--format json`) (may pass once earlier "
            "steps have run)") in said
    assert "articles/7 answered 403" not in r.stdout  # the 20 are one fact here
