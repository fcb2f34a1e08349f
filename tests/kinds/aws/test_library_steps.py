"""The library steps of the AWS kinds load, validate and resolve like a plan's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.plan import loader

PLAN = """\
runbook: 1
name: library-steps
title: Every AWS library step, once
environments:
  stage:
    vars:
      distribution: E2STAGEEXAMPLE
stages:
  - name: all
    title: All of them
    steps:
      - id: bucket
        use: s3-site-bucket
        with: {bucket: tis-trainee-ui-green, distribution: "${distribution}"}
      - id: switch
        use: cloudfront-switch-origin
        with: {distribution: "${distribution}", bucket: tis-trainee-ui-green,
               version: v1.42.0, site: stage.trainee.tis.nhs.uk, contains: TIS}
      - id: staged
        use: cloudfront-staged-switch-origin
        with: {distribution: "${distribution}", bucket: tis-trainee-ui-green,
               version: v1.42.0, site: stage.trainee.tis.nhs.uk, marker: v1.42.0}
      - id: alias
        use: cloudfront-add-alias
        with: {distribution: "${distribution}", alias: stage.trainee.tis.nhs.uk}
      - id: dns
        use: route53-alias
        with: {zone: tis.nhs.uk, name: stage.trainee.tis.nhs.uk,
               distribution: "${distribution}"}
      - id: ttl
        use: route53-lower-ttl
        with: {zone: tis.nhs.uk, name: trainee.tis.nhs.uk, type: CNAME}
      - id: redirect
        use: old-domain-redirect
        with: {bucket: tis-selfservice-old, to: trainee.tis.nhs.uk,
               distribution: "${distribution}"}
"""


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    file = tmp_path / "plan.yaml"
    file.write_text(PLAN)
    return file


def test_every_library_step_validates(plan: Path) -> None:
    problems = loader.validate(plan)
    assert [str(p) for p in problems] == []


def test_library_steps_resolve_their_own_outputs(plan: Path) -> None:
    steps = {s.id: s for stage in loader.load(plan, env="stage").plan.stages
             for s in stage.steps}
    http = steps["alias"].post[1]
    assert http.kind == "http.get"
    assert http.params["connect_to"] == "${steps.alias.domain_name}"
    assert http.params["url"] == "https://stage.trainee.tis.nhs.uk/"
    switch = steps["switch"].action
    assert switch.params["origin"] == {"bucket": "tis-trainee-ui-green", "path": "/v1.42.0"}
    staged = steps["staged"].action.params
    assert [p.get("weight") for p in staged["traffic"]] == [None, "5%", "15%"]
    assert steps["redirect"].post[0].params["from"] == "http://${steps.redirect.website_domain}/"
