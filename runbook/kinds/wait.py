"""``wait``: pause for a while (let caches expire, let a TTL run out)."""

from __future__ import annotations

from pydantic import Field

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.kinds import register
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot


class WaitParams(Params):
    duration: Duration = Field(alias="for", description="how long to wait")
    reason: str | None = Field(None, description="why: shown while waiting")


@register
class Wait(Action[WaitParams]):
    kind = "wait"
    Params = WaitParams
    summary = "wait for a duration"
    reversible = False
    read_only = True
    irreversible_reason = "waiting changes nothing"

    def describe(self) -> str:
        text = f"wait {format_duration(self.params.duration)}"
        return text + (f" ({self.params.reason})" if self.params.reason else "")

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        return Diff((Change("wait", None, format_duration(self.params.duration)),),
                    "changes nothing")

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        ctx.poll(lambda: (False, self.params.reason or "waiting"),
                 timeout=self.params.duration, every=1.0, what=self.describe())
        return {}
