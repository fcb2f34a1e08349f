"""The checks of one traffic phase of ``cloudfront.staged_update``, and which configuration
answered each request.

CloudFront documents no response header naming the configuration that answered. The twin
adds ``x-runbook-twin-config: staging|primary`` (the twin only); against AWS a phase names
a ``marker``: text only the staging configuration's answer contains (within the first 500
characters of the body a check records), or ``header: NAME`` for a response header only
the staging configuration sends (one its response headers policy adds). Without either,
which configuration answered is not known, and a weighted phase fails rather than guess.

In a header phase every HTTP check sends the phase's header, and an answer marked as the
primary's fails (the header did not reach the staging configuration). In a weighted phase
each ``http.get`` is asked until both configurations have answered (at least 10 requests,
at most ``samples``; five at a time); it is judged on the staging configuration's
answers, and a phase in which no request reached the staging configuration fails:
CloudFront may send every request to the primary at peak times, and that proves nothing
about the change.
"""

from __future__ import annotations

from typing import Any

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.base import CheckResult

MARK = "x-runbook-twin-config"
MIN_SAMPLES = 10
BATCH = 5  # requests in flight at once while sampling: a few viewers, not a load test


def check_of(spec: dict[str, Any], headers: dict[str, str]) -> Any:
    from runbook import kinds

    if len(spec) != 1:
        raise KindError(f"a phase check is one kind and its parameters, got {sorted(spec)}")
    (name, params), = spec.items()
    cls = kinds.check(name)
    if cls is None:
        raise KindError(f"unknown check kind {name!r} in a traffic phase")
    params = dict(params or {})
    if name.startswith("http.") and headers:
        params["request_headers"] = {**(params.get("request_headers") or {}), **headers}
    return cls(cls.Params.model_validate(params))


def side_of(result: CheckResult, marker: str | None) -> str:
    headers = {str(k).lower(): v for k, v in (result.observed.get("headers") or {}).items()}
    if MARK in headers:
        return str(headers[MARK])
    if marker:
        if marker.startswith("header:"):
            return "staging" if marker[7:].strip().lower() in headers else "primary"
        return "staging" if marker in str(result.observed.get("body") or "") else "primary"
    return "unknown"


def run_phase_checks(ctx: RunContext, phase: Any, headers: dict[str, str]) -> dict[str, Any]:
    counts = {"staging": 0, "primary": 0, "unknown": 0}
    problems: list[str] = []
    for spec in phase.checks:
        name = next(iter(spec))
        check = check_of(spec, headers)
        if phase.header or name != "http.get":
            result = check.run(ctx)
            side = side_of(result, phase.marker)
            counts[side] += 1
            if not result.ok:
                problems.append(result.summary)
            elif phase.header and side == "primary":
                problems.append(f"{check.describe()}: answered by the primary's configuration "
                                "although the request carried the phase's header")
            continue
        problems += _sample(ctx, check, phase, counts)
    total = sum(counts.values())
    shown = f"{counts['staging']} of {total} request(s) answered by the staging config"
    if counts["unknown"]:
        shown += f", {counts['unknown']} by a config not known (no mark, no marker)"
    if problems:
        return {"ok": False, "summary": "; ".join(problems[:3]) + f" ({shown})", **counts}
    return {"ok": True, "summary": f"checks passed; {shown}", **counts}


def _sample(ctx: RunContext, check: Any, phase: Any, counts: dict[str, int]) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    mine = {"staging": 0, "primary": 0, "unknown": 0}
    failed: list[str] = []
    asked = 0
    with ThreadPoolExecutor(BATCH) as pool:
        while asked < phase.samples:
            size = min(BATCH, phase.samples - asked)
            results = list(pool.map(lambda _: check.run(ctx), range(size)))
            asked += size
            for result in results:
                side = side_of(result, phase.marker)
                mine[side] += 1
                if side == "staging" and not result.ok and not failed:
                    failed.append(f"staging config: {result.summary}")
            if mine["unknown"]:
                return [f"{check.describe()}: which configuration answered is not known (the "
                        "twin marks it; against AWS give the phase a `marker`)"]
            if failed or (mine["staging"] and mine["primary"]
                          and asked >= min(MIN_SAMPLES, phase.samples)):
                break
    for k, v in mine.items():
        counts[k] += v
    if failed:
        return failed
    if not mine["staging"]:
        return [f"no request of {sum(mine.values())} reached the staging configuration "
                f"({check.describe()}): not a pass; CloudFront may send every request to "
                "the primary at peak times"]
    return []
