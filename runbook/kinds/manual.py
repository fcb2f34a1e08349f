"""``manual``: a step a person does by hand, confirmed as done at the prompt.

The instructions are shown, and the run goes on only after the operator says the work
is done. Rollback shows ``undo`` instructions and waits for the same confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot


class ManualParams(Params):
    instructions: str = Field(description="what the operator must do, Markdown")
    undo: str | None = Field(None, description="what the operator must do to roll it back")


def _ask(ctx: RunContext, what: str, instructions: str) -> None:
    op = ctx.operator
    if op is None or not op.interactive:
        raise KindError(f"{what} needs a person at the keyboard: {instructions.strip()}")
    if not op.confirm(f"{instructions.strip()}\n  Done?", default=False):
        raise KindError(f"the operator did not confirm that {what} was done")


@register
class Manual(Action[ManualParams]):
    kind = "manual"
    Params = ManualParams
    summary = "instructions a person carries out and confirms as done"
    outputs: ClassVar[dict[str, str]] = {}

    @classmethod
    def auto_rollback_gap(cls, params: Mapping[str, Any]) -> str | None:
        if params.get("undo") is None:
            return "the manual step has no `undo` instructions, so nothing would be restored"
        return None

    def describe(self) -> str:
        first = self.params.instructions.strip().splitlines()[0] if \
            self.params.instructions.strip() else "(no instructions)"
        return f"by hand: {first}"

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {}

    def provable(self) -> bool:
        return False  # runbook cannot see what a person did by hand

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        return Diff((Change("by hand", None, self.params.instructions.strip()),),
                    "a person does this; runbook only records that they confirmed it")

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        _ask(ctx, "this manual step", self.params.instructions)
        return {}

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """None: a manual step has no outputs (what a person did is not read back)."""
        return {}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        if self.params.undo is None:
            raise KindError("this manual step has no `undo` instructions: put it back by "
                            "hand and give the step a rollback next time")
        _ask(ctx, "undoing this manual step", self.params.undo)
