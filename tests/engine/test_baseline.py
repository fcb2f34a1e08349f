"""Baselines (engine/baseline.py): a check reads one when its stage starts; the journal
keeps it; every later run of the check in the stage, and a resumed run, compares with
that one and never with a value read after the change."""

from __future__ import annotations

from typing import Any

from runbook.context import RunContext
from runbook.kinds import register
from runbook.kinds.base import Check, CheckResult, Params
from tests.engine import fakes


class RiseParams(Params):
    key: str
    most: int


@register
class FakeRise(Check[RiseParams]):
    """WORLD[key] may rise at most ``most`` above what it was when the stage started."""

    kind = "fake.rise"
    Params = RiseParams

    def describe(self) -> str:
        return f"{self.params.key} rises at most {self.params.most}"

    def baseline(self, ctx: RunContext) -> dict[str, Any] | None:
        return {"value": fakes.WORLD.get(self.params.key, 0)}

    def run(self, ctx: RunContext) -> CheckResult:
        now = fakes.WORLD.get(self.params.key, 0)
        before = (self.before or {}).get("value")
        text = f"{self.params.key} is {now}, was {before}"
        if before is None or now > before + self.params.most:
            return CheckResult.failed(text)
        return CheckResult.passed(text)


PLAN = """
runbook: 1
name: rise
stages:
  - name: change
    steps:
      - id: n
        action: {fake.set: {key: n, value: 5}}
        post: [{fake.rise: {key: n, most: 1}}]
"""


def test_the_baseline_is_read_at_stage_start_and_kept_across_a_resume(make_plan, execute,
                                                                        world):
    world["n"] = 0
    plan = make_plan(PLAN)
    first = execute(plan, [True, "stop"])
    assert first.outcome.exit_code == 3
    [taken] = first.of("baseline")
    assert taken["data"] == {"value": 0} and taken["kind"] == "fake.rise"
    assert first.types().index("baseline") < first.types().index("intent")
    assert first.of("check")[0]["summary"] == "n is 5, was 0"
    # resumed after the change: the stage starts again, but its baseline stands (5 would
    # make the change look harmless)
    again = execute(plan, ["stop"], resume=True)
    assert len(again.of("baseline")) == 1
    assert again.of("check")[-1]["summary"] == "n is 5, was 0"


def test_a_check_without_a_baseline_journals_none(make_plan, execute, world):
    world["ready"] = True
    r = execute(make_plan("""
        runbook: 1
        name: plain
        stages:
          - name: s
            steps:
              - id: a
                action: {fake.set: {key: a, value: 1}}
                post: [{fake.equals: {key: a, value: 1}}]
        """), [True])
    assert r.outcome.exit_code == 0 and r.of("baseline") == []
