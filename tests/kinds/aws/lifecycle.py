"""The life of an action as the executor drives it, with the journal in between:
snapshot, diff, apply, verify, drift guard, then restore by a *fresh* instance from the
JSON of the snapshot and outputs alone (another process rolling back a killed run), and
the rollback proof (``restored``: the world reads back as the snapshot)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runbook.context import RunContext
from runbook.kinds.aws.common import deep_diff
from runbook.kinds.base import Action, Diff

from .conftest import journal

Verify = Callable[[Any, dict[str, Any]], None]


def cycle(ctx: RunContext, action: Action[Any], state: Callable[[], Any],
          check: Verify | None = None) -> tuple[Diff, dict[str, Any]]:
    before = state()
    snap = journal(action.snapshot(ctx))
    assert journal(action.snapshot(ctx)) == snap, "resume compares snapshots: keep them stable"
    diff = action.diff(ctx, snap)
    assert not diff.empty, "the action would change nothing"
    assert all(c.path for c in diff.changes)
    journal(diff.to_json())
    assert state() == before, "snapshot or diff changed the world"
    outputs = journal(action.apply(ctx, snap))
    for name in type(action).outputs:
        assert name in outputs, f"output {name} missing"
    after = state()
    assert after != before, "apply changed nothing"
    if check is not None:
        check(after, outputs)
    assert action.drifted(ctx, outputs) is None
    assert action.diff(ctx, journal(action.snapshot(ctx))).empty, "apply is not idempotent"
    fresh = type(action)(action.params)
    fresh.restore(ctx, snap, outputs)
    restored = state()
    assert deep_diff(before, restored) == [], "restore did not put things back"
    # the rollback proof: the world read back against the snapshot, by a fresh instance
    assert type(action)(action.params).restored(ctx, snap, outputs) is None
    return diff, outputs
