"""Fake kinds over a dict-backed world, for engine tests.

``fake.set`` sets WORLD[key] = value (snapshot: the old value; restore puts it back;
drift: the key no longer holds what apply wrote). ``fake.equals`` checks WORLD[key].
``fake.fail`` raises from apply. Behaviour can be scripted per key through FLAKY.
"""

from __future__ import annotations

from typing import Any, ClassVar

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.base import (
    Action,
    Change,
    Check,
    CheckResult,
    Diff,
    Outputs,
    Params,
    Snapshot,
)

WORLD: dict[str, Any] = {}
# key -> number of times a value check of fake.equals must still fail before it may pass
FLAKY: dict[str, int] = {}
CALLS: list[str] = []
MISSING = "<missing>"


class SetParams(Params):
    key: str
    value: Any


class EqualsParams(Params):
    key: str
    value: Any = None
    absent: bool = False


@register
class FakeSet(Action[SetParams]):
    kind = "fake.set"
    Params = SetParams
    summary = "set a key of the fake world"
    outputs: ClassVar[dict[str, str]] = {"written": "the value written", "key": "the key"}

    def describe(self) -> str:
        return f"set {self.params.key} to {self.params.value!r}"

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {"old": WORLD.get(self.params.key, MISSING)}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        return Diff((Change(self.params.key, snapshot["old"], self.params.value),))

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        CALLS.append(f"apply {self.params.key}")
        WORLD[self.params.key] = self.params.value
        return {"written": self.params.value, "key": self.params.key}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        CALLS.append(f"restore {self.params.key}")
        if snapshot["old"] == MISSING:
            WORLD.pop(self.params.key, None)
        else:
            WORLD[self.params.key] = snapshot["old"]

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        now = WORLD.get(self.params.key, MISSING)
        if applied and now != applied.get("written"):
            return f"{self.params.key} is now {now!r}, not {applied.get('written')!r}"
        return None


class FailParams(Params):
    message: str = "boom"


@register
class FakeFail(Action[FailParams]):
    kind = "fake.fail"
    Params = FailParams
    summary = "an action that always fails"

    def describe(self) -> str:
        return "fail on purpose"

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        return Diff()

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        raise KindError(self.params.message)


@register
class FakeEquals(Check[EqualsParams]):
    kind = "fake.equals"
    Params = EqualsParams
    summary = "a key of the fake world has a value"

    def describe(self) -> str:
        if self.params.absent:
            return f"{self.params.key} is not set"
        return f"{self.params.key} is {self.params.value!r}"

    def run(self, ctx: RunContext) -> CheckResult:
        now = WORLD.get(self.params.key, MISSING)
        if not self.params.absent and FLAKY.get(self.params.key, 0) > 0:
            FLAKY[self.params.key] -= 1
            return CheckResult.failed(f"{self.params.key} is flaky", value=now)
        ok = now == MISSING if self.params.absent else now == self.params.value
        return CheckResult(ok, f"{self.params.key} is {now!r}", {"value": now})
