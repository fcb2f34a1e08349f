"""`runbook plan` against moto when a step's preview needs what an earlier step creates:
the dry run names that step and marks the preview `not yet`, instead of blaming AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.context import RunContext
from tests.conftest import run_cli

from .world import World

PLAN = """\
runbook: 1
name: docs
environments:
  test:
    aws: {{endpoint_url: "{endpoint}", region: us-east-1}}
stages:
  - name: build
    steps:
      - id: bucket
        action:
          s3.bucket: {{bucket: acme-docs-v2, allow_cloudfront: {dist}}}
        post:
          - s3.cloudfront_can_read: {{bucket: acme-docs-v2, distribution: {dist}}}
      - id: copy
        action:
          s3.copy: {{source_bucket: acme-docs, source_prefix: v1/, bucket: acme-docs-v2}}
        post:
          - s3.object: {{bucket: acme-docs-v2, key: v1/index.html}}
  - name: switch
    steps:
      - id: origin
        action:
          cloudfront.update: {{id: {dist}, origin: {{bucket: acme-docs-v2, path: /v1}}}}
        post:
          - cloudfront.distribution: {{id: {dist}, origin: {{bucket: acme-docs-v2}}}}
{extra}"""


@pytest.fixture
def folder(tmp_path: Path, world: World, ctx: RunContext, moto_endpoint: str,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    world.bucket("acme-docs", {"v1/index.html": "<html>docs v1"})
    dist = world.distribution(bucket="acme-docs", path="/v1")["Id"]
    (tmp_path / "p.yaml").write_text(PLAN.format(endpoint=moto_endpoint, dist=dist, extra=""))
    (tmp_path / "dist").write_text(dist)
    return tmp_path


def _lines(text: str) -> str:
    return " ".join(text.split())


def test_a_preview_that_needs_an_earlier_step_says_so(folder: Path, world: World) -> None:
    result = run_cli("plan", "p.yaml", "--env", "test", cwd=folder)
    assert result.code == 0, result.stdout + result.stderr
    out = _lines(result.stdout)
    assert "cannot preview" not in out and "AWS refused" not in out
    # the step that creates it: its changes, as ever
    assert "step bucket: create private bucket acme-docs-v2" in out
    assert "bucket acme-docs-v2" in out.split("step copy:")[0]
    # both later steps: what they do, and why their changes are not known yet
    assert ("step copy: copy s3://acme-docs/v1/ to s3://acme-docs-v2/v1/ not yet after step "
            "`bucket` creates acme-docs-v2 (this step's preview reads s3://acme-docs-v2/v1/, "
            "which does not exist yet: NoSuchBucket)") in out
    # (the bucket's region comes from HeadBucket, whose "no such bucket" is a bare 404)
    assert ("not yet after step `bucket` creates acme-docs-v2 (this step's preview reads "
            "bucket acme-docs-v2, which does not exist yet: 404)") in out.split(
                "step origin:")[1]
    assert [b["Name"] for b in world.s3.list_buckets()["Buckets"]] == ["acme-docs"]  # unchanged


def test_a_missing_resource_no_step_creates_is_still_an_error(folder: Path) -> None:
    """A bucket that nothing in the plan creates: a typo, or the wrong account. That is
    AWS's answer, shown as it is."""
    plan = folder / "p.yaml"
    plan.write_text(plan.read_text().replace("bucket: acme-docs-v2, path: /v1",
                                             "bucket: acme-dcos-v2, path: /v1"))
    result = run_cli("plan", "p.yaml", "--env", "test", cwd=folder)
    out = _lines(result.stdout)
    assert "cannot preview: AWS refused s3:HeadBucket on bucket acme-dcos-v2" in out
    assert "not yet after step `bucket` creates acme-dcos-v2" not in out


def test_a_bucket_that_exists_already_explains_nothing(folder: Path, world: World) -> None:
    """When the bucket is there, the first step creates nothing and the later previews
    read it: real diffs, no `not yet`."""
    world.bucket("acme-docs-v2")
    result = run_cli("plan", "p.yaml", "--env", "test", cwd=folder)
    out = _lines(result.stdout)
    assert "bucket acme-docs-v2 exists already" in out
    assert "not yet after step" not in out
    assert "s3://acme-docs-v2/v1/index.html" in out  # the copy's diff
    assert "acme-docs-v2.s3.us-east-1.amazonaws.com" in out  # the switch's diff

