"""The TIS Self-Service outage, replayed against moto through the library step
``cloudfront-switch-origin``: its pre checks must stop both causes before anything
changes, and pass (then apply and verify) when the new bucket is ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook import kinds
from runbook.context import RunContext
from runbook.kinds.aws.s3site import S3BucketPolicy
from runbook.kinds.base import CheckResult
from runbook.plan import loader

from .conftest import journal
from .world import World

PLAN = """\
runbook: 1
name: tss-switch
title: Serve the new version from the new bucket
environments:
  stage: {}
stages:
  - name: switch
    title: Switch
    steps:
      - id: switch
        use: cloudfront-switch-origin
        with: {distribution: "${distribution}", bucket: tis-trainee-ui-green,
               version: v1.43.0, site: stage.trainee.tis.nhs.uk}
"""


def _step(tmp_path: Path, distribution: str) -> Any:
    file = tmp_path / "plan.yaml"
    file.write_text(PLAN)
    plan = loader.load(file, env="stage", variables={"distribution": distribution}).plan
    return plan.stages[0].steps[0]


def _checks(ctx: RunContext, specs: Any) -> list[CheckResult]:
    out = []
    for spec in specs:
        cls = kinds.check(spec.kind)
        assert cls is not None
        out.append(cls(cls.Params(**spec.params)).run(ctx))
    return out


def _failures(results: list[CheckResult]) -> list[str]:
    return [r.summary for r in results if not r.ok]


def test_the_outage_is_stopped_before_anything_changes(ctx: RunContext, world: World,
                                                       tmp_path: Path) -> None:
    world.bucket("tis-trainee-ui-blue", {"v1.42.0/index.html": "old"})
    world.bucket("tis-trainee-ui-green", {"v1.42.0/index.html": "old"})  # made by hand
    d = world.distribution("tis-trainee-ui-blue", "/v1.42.0")
    step = _step(tmp_path, d["Id"])
    assert _failures(_checks(ctx, step.pre)) == [
        "no object at s3://tis-trainee-ui-green/v1.43.0/index.html",
        "bucket tis-trainee-ui-green has no bucket policy, so nothing lets CloudFront read "
        f"it; grant it with s3.bucket_policy allow_cloudfront: {d['Id']}"]


def test_a_ready_bucket_passes_switches_and_verifies(ctx: RunContext, world: World,
                                                     tmp_path: Path) -> None:
    world.bucket("tis-trainee-ui-blue", {"v1.42.0/index.html": "old"})
    world.bucket("tis-trainee-ui-green", {"v1.43.0/index.html": "new"})
    d = world.distribution("tis-trainee-ui-blue", "/v1.42.0")
    grant = S3BucketPolicy(S3BucketPolicy.Params(bucket="tis-trainee-ui-green",
                                                 allow_cloudfront=d["Id"]))
    grant.apply(ctx, grant.snapshot(ctx))
    step = _step(tmp_path, d["Id"])
    assert _failures(_checks(ctx, step.pre)) == []
    cls = kinds.action(step.action.kind)
    assert cls is not None
    action = cls(cls.Params(**step.action.params))
    out = journal(action.apply(ctx, journal(action.snapshot(ctx))))
    post = [s for s in step.post if s.kind != "http.get"]  # no edge behind moto
    assert _failures(_checks(ctx, post)) == []
    assert out["domain_name"] == d["DomainName"]
