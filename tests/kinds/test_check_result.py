"""CheckResult's constructors keep what a check saw whatever its keys are called."""

from __future__ import annotations

from runbook.kinds.base import CheckResult


def test_observed_data_may_be_called_summary_or_outcome() -> None:
    seen = {"summary": "the server's own summary", "outcome": "deployed", "status": 200}
    r = CheckResult.failed("expected 204, got 200", "mismatch", **seen)
    assert (r.ok, r.summary, r.outcome) == (False, "expected 204, got 200", "mismatch")
    assert r.observed == seen
    r = CheckResult.passed("200 from https://x/", **seen)
    assert (r.ok, r.summary, r.outcome) == (True, "200 from https://x/", "ok")
    assert r.observed == seen


def test_failed_defaults_to_mismatch() -> None:
    r = CheckResult.failed("no", url="https://x/")
    assert r.outcome == "mismatch" and r.observed == {"url": "https://x/"}
