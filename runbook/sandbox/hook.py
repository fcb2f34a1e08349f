"""How a run reaches the twin. An environment's ``sandbox:`` is either

* a world file (``sandbox: FILE`` or ``{world: FILE}``, relative to the plan's folder): a
  fresh twin seeded from it, started once per process and stopped when the process ends,
  so its runs cannot be resumed or rolled back by another process; or
* a served twin (``{serve: URL}``): one started with ``runbook sandbox serve WORLD``, which
  outlives runs (and, with ``--state DIR``, itself), so a run can be interrupted, resumed
  and rolled back across processes as against AWS.

``time_scale`` (default: the world's ``timing.scale``) is how many real seconds a plan
second lasts: ``within``, ``every`` and ``soak`` pass that much faster, as do the twin's
deployments, so a wait too short for AWS is too short in the twin too.
"""

from __future__ import annotations

import atexit
import json
from pathlib import Path

from runbook.context import RunContext
from runbook.plan.model import Plan, Sandbox
from runbook.sandbox.twin import Endpoints, SandboxError, Twin, wire_to
from runbook.sandbox.world import load_world

_twins: dict[Path, Twin] = {}
_served: dict[str, Endpoints] = {}


def world_path(plan: Plan, plan_dir: Path) -> Path | None:
    sandbox = plan.environment.sandbox
    if sandbox is None or not sandbox.world:
        return None
    return (plan_dir / sandbox.world).resolve()


def has_twin(plan: Plan, plan_dir: Path) -> bool:
    """Whether this run's twin is still there: a served one that answers (SandboxError
    when it does not), or the world twin of this very process."""
    sandbox = plan.environment.sandbox
    if sandbox is not None and sandbox.serve:
        served(sandbox.serve, plan, fresh=True)
        return True
    path = world_path(plan, plan_dir)
    return path is not None and path in _twins


def twin_for(path: Path) -> Twin:
    twin = _twins.get(path)
    if twin is None:
        twin = _twins[path] = Twin.start(load_world(path))
        atexit.register(twin.stop)
    return twin


def served(url: str, plan: Plan | None = None, *, fresh: bool = False) -> Endpoints:
    """The endpoints of the twin serving its AWS API at ``url``, as it tells them."""
    import urllib.error
    import urllib.request

    base = url.rstrip("/")
    if not fresh and base in _served:
        return _served[base]
    try:
        with urllib.request.urlopen(f"{base}/runbook-twin", timeout=5) as resp:
            ep = Endpoints.from_json(json.loads(resp.read()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = ""
        if plan is not None and plan.environment.source is not None:
            where = f" ({plan.environment.source})"
        raise SandboxError(
            f"environment {plan.environment.name if plan else '?'} runs against the twin "
            f"served at {url}{where}, but nothing there answers as a twin ({exc}). Start "
            "it with `runbook sandbox serve WORLD --state DIR --port PORT` (the same DIR "
            "brings back what earlier runs changed) and try again") from exc
    _served[base] = ep
    return ep


def wire(plan: Plan, ctx: RunContext) -> RunContext:
    """``ctx`` pointed at the twin of the plan's environment (unchanged without one)."""
    sandbox: Sandbox | None = plan.environment.sandbox
    if sandbox is None:
        return ctx
    if sandbox.serve:
        # asked afresh for every run: a twin restarted on its port has new DNS/edge ports
        return wire_to(ctx, served(sandbox.serve, plan, fresh=True), sandbox.time_scale)
    path = world_path(plan, ctx.plan_dir)
    assert path is not None
    return twin_for(path).wire(ctx, sandbox.time_scale)
