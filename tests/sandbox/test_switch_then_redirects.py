"""A plan that switches a distribution's origin and then puts a redirect function on the
same distribution rolls back both: the function's rollback leaves the behaviour with no
function associations ({Quantity: 0}), which is what the configuration held before (the
field absent), not a change someone made to the switched distribution (a newcomer's plan
could not be rolled back at all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.conftest import write_plan

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
certificates:
  - {ref: site, domains: [new.example.org]}
buckets:
  - name: site
    objects: {v1/index.html: "<title>Site</title> v1", v2/index.html: "<title>Site</title> v2"}
    grant: [E1SITE]
distributions:
  - id: E1SITE
    aliases: [new.example.org]
    origin: {bucket: site, path: /v1}
    certificate: site
zones:
  - name: example.org
    records:
      - {name: new.example.org, type: A, alias: E1SITE}
"""

PLAN = """\
runbook: 1
name: switch-then-redirects
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: switch
    steps:
      - id: switch
        action:
          cloudfront.update: {id: E1SITE, origin: {path: /v2}, invalidate: ["/*"]}
        post:
          - http.get: {url: "https://new.example.org/", contains: v2}
        rollback: auto
  - name: redirects
    steps:
      - id: redirects
        action:
          cloudfront.redirects:
            id: E1SITE
            map: {"https://new.example.org/old": "https://new.example.org/"}
            status: 302
        post:
          - http.redirect: {from: "https://new.example.org/old",
                            to: "https://new.example.org/", status: 302}
        rollback: auto
  - name: after   # fails: the whole plan is rolled back
    checks:
      - http.get: {url: "https://new.example.org/", contains: "never there"}
"""


def test_both_steps_roll_back_and_are_verified(cli, tmp_path: Path) -> None:
    (tmp_path / "world.yaml").write_text(WORLD)
    plan = write_plan(tmp_path, PLAN)
    run = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    assert run.code == 1, run.stdout + run.stderr
    assert "2 step(s) rolled back and verified" in run.stdout
    assert "step switch rolled back and verified" in run.stdout
    assert "drifted" not in run.stdout and "changed since this run" not in run.stdout
