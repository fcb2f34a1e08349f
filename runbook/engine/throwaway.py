"""How a run against a throwaway twin ends: say what is true.

A world-file twin (``sandbox: FILE``) lives in the process that ran the plan and dies with
it. A run that stops with steps applied (interrupted, stopped, a rollback that stopped)
against one cannot be resumed or rolled back by a later command: the world it changed is
gone. Its final line and its report say so, and how to rehearse resume and rollback
(against a served twin), instead of naming a command that would refuse.
"""

from __future__ import annotations

from dataclasses import replace

from runbook.engine.outcome import LOOK, Outcome
from runbook.plan.model import Plan


def is_throwaway(plan: Plan) -> bool:
    sandbox = plan.environment.sandbox
    return sandbox is not None and bool(sandbox.world) and not sandbox.serve


def later(plan: Plan, text: str) -> str:
    """``text`` (a clause naming a later command: "`runbook resume` goes on") when a later
    command can come, and nothing against a throwaway twin, which is gone with this
    process. Every sentence that names a later command is built through this, so an
    outcome never promises one that would refuse."""
    return "" if is_throwaway(plan) else text


def ending(plan: Plan, outcome: Outcome, *, applied: bool) -> Outcome:
    """``outcome`` as it is true for ``plan``'s twin: unchanged unless the twin is a
    throwaway one and the run leaves steps applied in it."""
    if not applied or (outcome.exit_code != LOOK and outcome.outcome != "interrupted") \
            or not is_throwaway(plan):
        return outcome
    world = plan.environment.sandbox.world if plan.environment.sandbox else None
    kept = outcome.message.rstrip(" .;")
    said = (f"{kept}; this twin (of {world}) lived in this process and is gone with it, so "
            "no later command can resume or roll back this run: a new run starts from a "
            "fresh twin. To rehearse resume and rollback, serve the twin (`runbook sandbox "
            f"serve {world}`, then `sandbox: {{serve: URL}}` in the environment)")
    return replace(outcome, message=said, next_command=None)
