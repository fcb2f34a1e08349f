"""`cloudfront.metrics`: CloudFront's CloudWatch metrics judged during a run. Through the
CLI, against the moto server, whose CloudWatch holds what the test publishes with
put_metric_data (in us-east-1, dimensions DistributionId and Region=Global, as
CloudFront publishes them)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from runbook.context import RunContext

PLAN = """\
runbook: 1
name: metrics
environments:
  stage:
    aws: {{endpoint_url: "{endpoint}", region: eu-west-2}}
stages:
  - name: change
{stage_checks}    steps:
      - id: bucket
        action:
          s3.bucket: {{bucket: {bucket}}}
        post:
{post}
        rollback: auto
{more}"""

BREAK = """\
      - id: break
        action:
          shell: {{run: [{python}, {script}], undo: [{python}, -c, "0"]}}
        rollback: auto
    soak: 1s
"""

PUBLISH = """\
import datetime as dt, boto3
cw = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url="{endpoint}")
cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=[{{
    "MetricName": "5xxErrorRate", "Unit": "Percent",
    "Dimensions": [{{"Name": "DistributionId", "Value": "E2BROKEN"}},
                   {{"Name": "Region", "Value": "Global"}}],
    "StatisticValues": {{"SampleCount": 1000, "Sum": 30000, "Minimum": 0, "Maximum": 100}},
    "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)}}])
"""


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def publish(ctx: RunContext, dist: str, metric: str, *, samples: int, total: float,
            ago: float = 60.0) -> None:
    """One aggregated datapoint, as CloudFront sends them: ``total / samples`` is the
    average (a rate in percent for the error rates)."""
    ctx.client("cloudwatch", region="us-east-1").put_metric_data(
        Namespace="AWS/CloudFront", MetricData=[{
            "MetricName": metric, "Unit": "Percent" if "Rate" in metric else "None",
            "Dimensions": [{"Name": "DistributionId", "Value": dist},
                           {"Name": "Region", "Value": "Global"}],
            "StatisticValues": {"SampleCount": samples, "Sum": total, "Minimum": 0,
                                "Maximum": 100},
            "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=ago)}])


def _plan(tmp_path: Path, endpoint: str, bucket: str, post: str, *, more: str = "",
          stage_checks: str = "") -> str:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(endpoint=endpoint, bucket=bucket, post=post, more=more,
                                stage_checks=stage_checks))
    return str(plan)


def _run(cli: Any, plan: str, tmp_path: Path) -> Any:
    return cli("run", plan, "--env", "stage", "--yes", "--state-dir", str(tmp_path / "state"))


def _events(tmp_path: Path) -> list[dict[str, Any]]:
    runs = list((tmp_path / "state" / "runs").iterdir())
    events = sorted((runs[0] / "events").glob("*.json")) if (runs[0] / "events").exists() \
        else []
    if events:
        return [json.loads(e.read_text()) for e in events]
    lines = (runs[0] / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_low_error_rate_passes_as_a_post_check(cli: Any, tmp_path: Path, ctx: RunContext,
                                                 moto_endpoint: str, world: Any) -> None:
    publish(ctx, "E1OK", "5xxErrorRate", samples=1000, total=500)  # 0.5 %
    publish(ctx, "E1OK", "Requests", samples=1, total=1000)
    post = ("          - cloudfront.metrics: {distribution: E1OK, metric: 5xxErrorRate, "
            "window: 5m, max: 1}\n"
            "          - cloudfront.metrics: {distribution: E1OK, metric: Requests, "
            "window: 5m, min: 100}")
    r = _run(cli, _plan(tmp_path, moto_endpoint, "metrics-ok", post), tmp_path)
    assert r.code == 0, r.stdout + r.stderr
    assert "Average 5xxErrorRate of distribution E1OK over the last 5m is 0.5" in r.stdout
    assert "Sum Requests of distribution E1OK over the last 5m is 1,000" in r.stdout
    assert "metrics-ok" in world.buckets()


def test_a_high_error_rate_fails_the_post_check_and_rolls_back(
        cli: Any, tmp_path: Path, ctx: RunContext, moto_endpoint: str, world: Any) -> None:
    publish(ctx, "E1BAD", "5xxErrorRate", samples=100, total=700)  # 7 %
    post = ("          - cloudfront.metrics: {distribution: E1BAD, metric: 5xxErrorRate, "
            "window: 2m, max: 1}")
    r = _run(cli, _plan(tmp_path, moto_endpoint, "metrics-bad", post), tmp_path)
    assert r.code == 1, r.stdout + r.stderr
    assert "5xxErrorRate of distribution E1BAD over the last 2m is 7: above the most " \
           "allowed, 1" in r.stdout
    assert "metrics-bad" not in world.buckets()


@pytest.mark.parametrize(("no_data", "code", "said"), [
    ("fail", 1, "no_data: fail counts that as failed (no data proves nothing)"),
    ("pass", 0, "no_data: pass counts that as passed")])
def test_no_data_is_said_and_means_what_the_plan_chose(
        cli: Any, tmp_path: Path, ctx: RunContext, moto_endpoint: str, world: Any,
        no_data: str, code: int, said: str) -> None:
    publish(ctx, "E1OTHER", "5xxErrorRate", samples=10, total=0)  # another distribution
    post = ("          - cloudfront.metrics: {distribution: E1NEW, metric: 5xxErrorRate, "
            f"max: 1, no_data: {no_data}}}")
    r = _run(cli, _plan(tmp_path, moto_endpoint, f"metrics-{no_data}", post), tmp_path)
    assert r.code == code, r.stdout + r.stderr
    assert ("CloudWatch has no 5xxErrorRate of distribution E1NEW in the last 5m (a new "
            "distribution, or no traffic in the window)") in r.stdout
    assert said in r.stdout


def test_an_additional_metric_without_data_says_it_must_be_turned_on(
        cli: Any, tmp_path: Path, ctx: RunContext, moto_endpoint: str, world: Any) -> None:
    post = ("          - cloudfront.metrics: {distribution: E1NEW, metric: 404ErrorRate, "
            "max: 1}")
    r = _run(cli, _plan(tmp_path, moto_endpoint, "metrics-extra", post), tmp_path)
    assert r.code == 1, r.stdout + r.stderr
    assert "only while the distribution's additional metrics are on" in r.stdout


def test_a_soak_that_sees_the_rate_jump_over_its_baseline_rolls_back(
        cli: Any, tmp_path: Path, ctx: RunContext, moto_endpoint: str, world: Any) -> None:
    """The baseline (0.5 %) is read when the stage starts and journaled; the post check
    passes; then a step breaks the site (30 % of 1,000 requests fail) and the soak's
    first round sees 15 % in the window, far over 0.5 + 2: the stage fails and every
    applied step is rolled back."""
    publish(ctx, "E2BROKEN", "5xxErrorRate", samples=1000, total=500, ago=90)
    script = tmp_path / "break.py"
    script.write_text(PUBLISH.format(endpoint=moto_endpoint))
    post = ("          - cloudfront.metrics: {distribution: E2BROKEN, metric: 5xxErrorRate, "
            "window: 5m, max_rise: 2}")
    more = BREAK.format(python=json.dumps(sys.executable), script=json.dumps(str(script)))
    r = _run(cli, _plan(tmp_path, moto_endpoint, "metrics-soak", post, more=more), tmp_path)
    assert r.code == 1, r.stdout + r.stderr
    assert "is 0.5 (before the stage: 0.5)" in r.stdout  # the post check
    assert "is 15.2 (before the stage: 0.5): more than 2 above it" in r.stdout
    assert "while soaking stage change (round 1)" in r.stdout + r.stderr
    assert "metrics-soak" not in world.buckets()
    baselines = [e for e in _events(tmp_path) if e["type"] == "baseline"]
    assert len(baselines) == 1 and baselines[0]["data"]["value"] == 0.5


def test_a_comparison_and_a_threshold_together_are_refused(cli: Any, tmp_path: Path,
                                                           moto_endpoint: str) -> None:
    post = ("          - cloudfront.metrics: {distribution: E1, metric: 5xxErrorRate, "
            "max: 1, max_rise: 2}")
    r = cli("validate", _plan(tmp_path, moto_endpoint, "x", post))
    assert r.code == 2
    assert "give either a threshold (`max`, `min`) or a comparison" in r.stderr
    assert "plan.yaml, line" in r.stderr
