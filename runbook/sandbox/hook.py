"""How a run reaches the twin: an environment with ``sandbox: WORLD`` runs against a fresh
twin seeded from that world file (a path relative to the plan's folder), started once per
process and stopped when the process ends.

A twin lives only as long as the process that started it, so a sandbox run cannot be
resumed by another process: its world is gone. ``runbook demo`` runs in one process.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from runbook.context import RunContext
from runbook.plan.model import Plan
from runbook.sandbox.twin import Twin
from runbook.sandbox.world import load_world

_twins: dict[Path, Twin] = {}


def world_path(plan: Plan, plan_dir: Path) -> Path | None:
    if not plan.environment.sandbox:
        return None
    return (plan_dir / plan.environment.sandbox).resolve()


def has_twin(plan: Plan, plan_dir: Path) -> bool:
    """Whether this process already runs the twin of the plan's environment."""
    path = world_path(plan, plan_dir)
    return path is not None and path in _twins


def twin_for(path: Path) -> Twin:
    twin = _twins.get(path)
    if twin is None:
        twin = _twins[path] = Twin.start(load_world(path))
        atexit.register(twin.stop)
    return twin


def wire(plan: Plan, ctx: RunContext) -> RunContext:
    """``ctx`` pointed at the twin of the plan's environment (unchanged without one)."""
    path = world_path(plan, ctx.plan_dir)
    if path is None:
        return ctx
    return twin_for(path).wire(ctx)
