"""A kind with a bug, for the engine's tests: ``test.boom`` writes a file like a careful
action, but raises KeyError in the phase its ``fail`` parameter names. ``preview`` fails
only its first snapshot in a process (the gate's preview).

``python -m tests.engine.boomkind ARGS`` is the runbook CLI with this kind registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from runbook.kinds import register
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot

if TYPE_CHECKING:
    from runbook.context import RunContext


class BoomParams(Params):
    file: str
    to: str
    fail: str = ""


@register
class Boom(Action[BoomParams]):
    kind = "test.boom"
    Params = BoomParams
    summary = "writes a file; raises KeyError in the phase `fail` names (tests only)"
    snapshots: ClassVar[dict[str, int]] = {}  # file -> snapshots taken in this process

    def _bug(self, phase: str) -> None:
        if self.params.fail == phase:
            raise KeyError(f"no {phase}")

    def _path(self, ctx: RunContext) -> Path:
        return ctx.plan_dir / self.params.file

    def describe(self) -> str:
        self._bug("describe")
        return f"write {self.params.to!r} to {self.params.file}"

    def snapshot(self, ctx: RunContext) -> Snapshot:
        Boom.snapshots[self.params.file] = Boom.snapshots.get(self.params.file, 0) + 1
        if Boom.snapshots[self.params.file] == 1:
            self._bug("preview")
        self._bug("snapshot")
        return {"text": self._path(ctx).read_text()}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        self._bug("diff")
        return Diff((Change(self.params.file, snapshot["text"], self.params.to),))

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        self._bug("apply")
        self._path(ctx).write_text(self.params.to)
        return {}

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        self._bug("recover")
        return {}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        self._bug("restore")
        self._path(ctx).write_text(snapshot["text"])

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        self._bug("restored")
        return super().restored(ctx, snapshot, applied)

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        self._bug("drifted")
        return None


def main(argv: list[str] | None = None) -> Any:
    from runbook.cli.app import main as cli

    return cli()


if __name__ == "__main__":
    main()
