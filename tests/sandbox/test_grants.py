"""Defect 1 of issue 13: a bucket policy a plan writes must reach the edge, as on AWS.

The world has one distribution reading bucket A; the plan makes bucket B with the library
step, grants the distribution, copies the site and switches the origin. On AWS this works;
the twin once stored the grant under moto's internal distribution id and answered 403."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
certificates:
  - {ref: site, domains: [www.example.org]}
buckets:
  - name: site-old
    objects: {v1/index.html: "<title>Site</title> v1 from the old bucket"}
    grant: [E1SITE]
distributions:
  - id: E1SITE
    aliases: [www.example.org]
    origin: {bucket: site-old, path: /v1}
    certificate: site
zones:
  - name: example.org
    records:
      - {name: www.example.org, type: A, alias: E1SITE}
"""

PLAN = """\
runbook: 1
name: move-bucket
environments:
  sandbox:
    sandbox: world.yaml
stages:
  - name: move
    steps:
      - id: bucket
        use: s3-site-bucket
        with: {bucket: site-new, distribution: E1SITE}
      - id: copy
        action:
          s3.copy: {source_bucket: site-old, source_prefix: v1/, bucket: site-new}
      - id: switch
        use: cloudfront-switch-origin
        with: {distribution: E1SITE, bucket: site-new, version: v1, site: www.example.org,
               contains: v1 from the old bucket}
"""


def write(tmp_path: Path, world: str = WORLD, plan: str = PLAN) -> Path:
    (tmp_path / "world.yaml").write_text(textwrap.dedent(world))
    (tmp_path / "plan.yaml").write_text(textwrap.dedent(plan))
    return tmp_path / "plan.yaml"


def test_a_grant_written_by_the_plan_reaches_the_edge(cli, tmp_path):
    plan = write(tmp_path)
    r = cli("run", str(plan), "--env", "sandbox", "--yes", "--state-dir",
            str(tmp_path / "state"))
    assert r.code == 0, r.stdout + r.stderr
    assert "step switch applied and verified" in r.stdout or "succeeded" in r.stdout
    assert "got 403" not in r.stdout
