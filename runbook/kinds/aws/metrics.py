"""``cloudfront.metrics``: what visitors of a distribution see, read from CloudWatch.

CloudFront publishes its metrics in us-east-1 only, under the namespace AWS/CloudFront
with the dimensions ``DistributionId`` and ``Region=Global``: the check asks there,
whatever the environment's region. One statistic over the last ``window`` is judged
either against a threshold (``max``, ``min``) or against the same window before the
stage started (``max_rise``, ``max_factor``), which the engine reads when the stage
starts (``Check.baseline``) and journals.

No data (a new distribution, no traffic in the window, an additional metric that is not
turned on) proves nothing: ``no_data`` says what it means for the verdict, ``fail`` by
default, and the summary always says that there was none.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import Field, model_validator

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.kinds import register
from runbook.kinds.aws.common import call
from runbook.kinds.base import Check, CheckResult, Params

NAMESPACE = "AWS/CloudFront"
REGION = "us-east-1"  # CloudFront's metrics live there only
STANDARD = ("Requests", "BytesDownloaded", "BytesUploaded", "TotalErrorRate",
            "4xxErrorRate", "5xxErrorRate")
# Published only while the distribution's additional metrics are on (a monitoring
# subscription, at a price).
ADDITIONAL = ("401ErrorRate", "403ErrorRate", "404ErrorRate", "502ErrorRate",
              "503ErrorRate", "504ErrorRate", "OriginLatency", "CacheHitRate")
Metric = Literal["Requests", "BytesDownloaded", "BytesUploaded", "TotalErrorRate",
                 "4xxErrorRate", "5xxErrorRate", "401ErrorRate", "403ErrorRate",
                 "404ErrorRate", "502ErrorRate", "503ErrorRate", "504ErrorRate",
                 "OriginLatency", "CacheHitRate"]
Statistic = Literal["Average", "Sum", "Maximum", "Minimum", "SampleCount"]
_COUNTS = ("Requests", "BytesDownloaded", "BytesUploaded")


class MetricsParams(Params):
    distribution: str = Field(description="distribution id")
    metric: Metric = Field(description="the CloudFront metric, e.g. 5xxErrorRate")
    window: Duration = Field(300.0, description="the last this long is judged (whole "
                             "minutes, at least 1m)")
    statistic: Statistic | None = Field(
        None, description="Average, Sum, Maximum, Minimum or SampleCount (default: Sum "
        "for Requests and bytes, Average for rates and latency)")
    max: float | None = Field(None, description="threshold: the value must be at most this")
    min: float | None = Field(None, description="threshold: the value must be at least this")
    max_rise: float | None = Field(
        None, ge=0, description="comparison: at most this much above the same window "
        "before the stage started (in the metric's unit: percentage points for rates)")
    max_factor: float | None = Field(
        None, gt=0, description="comparison: at most this many times the value before "
        "the stage started")
    no_data: Literal["fail", "pass"] = Field(
        "fail", description="what a window without data means: `fail` (nothing was "
        "proved) or `pass` (no traffic is no error)")

    @model_validator(mode="after")
    def _one_way(self) -> MetricsParams:
        threshold = self.max is not None or self.min is not None
        compare = self.max_rise is not None or self.max_factor is not None
        if threshold == compare:
            raise ValueError("give either a threshold (`max`, `min`) or a comparison with "
                             "the window before the stage (`max_rise`, `max_factor`)")
        if self.window < 60:
            raise ValueError("`window` must be at least 1m: CloudFront publishes a value "
                             "a minute")
        return self

    @property
    def stat(self) -> str:
        return self.statistic or ("Sum" if self.metric in _COUNTS else "Average")

    @property
    def period(self) -> int:
        return math.ceil(self.window / 60.0) * 60


def read(ctx: RunContext, p: MetricsParams, end: dt.datetime) -> tuple[float | None, int]:
    """The statistic over the window ending at ``end``, and how many datapoints gave it
    (0: no data). The window may straddle two of CloudWatch's periods: they are combined
    as the statistic requires (an average weighted by its samples)."""
    start = end - dt.timedelta(seconds=p.period)
    stat = p.stat
    wanted = sorted({stat, "SampleCount", "Sum"} if stat == "Average" else {stat})
    answer = call(ctx.client("cloudwatch", region=REGION), "get_metric_statistics",
                  f"{p.metric} of distribution {p.distribution}",
                  Namespace=NAMESPACE, MetricName=p.metric,
                  Dimensions=[{"Name": "DistributionId", "Value": p.distribution},
                              {"Name": "Region", "Value": "Global"}],
                  StartTime=start, EndTime=end, Period=p.period, Statistics=wanted)
    points = [d for d in answer.get("Datapoints", []) if d.get(stat) is not None]
    if not points:
        return None, 0
    values = [float(d[stat]) for d in points]
    if stat in ("Sum", "SampleCount"):
        return sum(values), len(points)
    if stat == "Maximum":
        return max(values), len(points)
    if stat == "Minimum":
        return min(values), len(points)
    samples = sum(float(d.get("SampleCount") or 0) for d in points)
    total = sum(float(d.get("Sum") or 0) for d in points)
    value = total / samples if samples else sum(values) / len(values)
    return value, len(points)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


@register
class CloudFrontMetrics(Check[MetricsParams]):
    kind = "cloudfront.metrics"
    uses_aws = True
    Params = MetricsParams
    summary = "a distribution's CloudWatch metric (error rate, requests) over a window"

    def describe(self) -> str:
        p = self.params
        what = f"{p.stat} {p.metric} of distribution {p.distribution} over the last " \
               f"{format_duration(p.period)}"
        bounds: list[str] = []
        if p.max is not None:
            bounds.append(f"at most {_num(p.max)}")
        if p.min is not None:
            bounds.append(f"at least {_num(p.min)}")
        if p.max_rise is not None:
            bounds.append(f"at most {_num(p.max_rise)} above the window before the stage")
        if p.max_factor is not None:
            bounds.append(f"at most {_num(p.max_factor)}x the window before the stage")
        return f"{what} is {' and '.join(bounds)}"

    def baseline(self, ctx: RunContext) -> dict[str, Any] | None:
        p = self.params
        if p.max_rise is None and p.max_factor is None:
            return None
        end = _now()
        value, points = read(ctx, p, end)
        return {"value": value, "datapoints": points, "end": end.isoformat(),
                "window": p.period}

    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        end = _now()
        value, points = read(ctx, p, end)
        seen: dict[str, Any] = {"metric": p.metric, "statistic": p.stat,
                                "distribution": p.distribution, "window": p.period,
                                "end": end.isoformat(), "value": value,
                                "datapoints": points}
        where = f"{p.metric} of distribution {p.distribution}"
        if value is None:
            return self._no_data(f"CloudWatch has no {where} in the last "
                                 f"{format_duration(p.period)} ({self._why_none()})", seen)
        shown = f"{p.stat} {where} over the last {format_duration(p.period)} is {_num(value)}"
        bad: list[str] = []
        if p.max is not None and value > p.max:
            bad.append(f"above the most allowed, {_num(p.max)}")
        if p.min is not None and value < p.min:
            bad.append(f"below the least allowed, {_num(p.min)}")
        if p.max_rise is not None or p.max_factor is not None:
            before = self.before or {}
            if before.get("error"):
                return CheckResult.failed(f"{shown}, but the baseline could not be read when "
                                          f"the stage started: {before['error']}", "error",
                                          **seen)
            if not before:
                return CheckResult.failed(f"{shown}, but no baseline was taken when the "
                                          "stage started, so there is nothing to compare "
                                          "with", "error", **seen)
            then = before.get("value")
            seen["baseline"] = then
            if then is None:
                return self._no_data(f"{shown}, but CloudWatch had no {where} in the "
                                     f"{format_duration(p.period)} before the stage started, "
                                     "so there is nothing to compare with", seen)
            shown += f" (before the stage: {_num(float(then))})"
            if p.max_rise is not None and value > float(then) + p.max_rise:
                bad.append(f"more than {_num(p.max_rise)} above it")
            if p.max_factor is not None and value > float(then) * p.max_factor:
                bad.append(f"more than {_num(p.max_factor)}x it")
        if bad:
            return CheckResult.failed(f"{shown}: {' and '.join(bad)}", "mismatch", **seen)
        return CheckResult.passed(shown, **seen)

    def _why_none(self) -> str:
        if self.params.metric in ADDITIONAL:
            return ("an additional metric: CloudFront publishes it only while the "
                    "distribution's additional metrics are on; or no traffic")
        return "a new distribution, or no traffic in the window"

    def _no_data(self, message: str, seen: dict[str, Any]) -> CheckResult:
        if self.params.no_data == "pass":
            return CheckResult(True, f"{message}; no_data: pass counts that as passed",
                               seen, "no_data")
        return CheckResult.failed(f"{message}; no_data: fail counts that as failed (no "
                                  "data proves nothing)", "no_data", **seen)
