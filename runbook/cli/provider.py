"""The context provider the CLI hands the engine (``engine/wiring.py``): where a plan's
environment lives and who the run acts as there.

A ``sandbox:`` environment is wired to its twin; ``aws.account``/``aws.role`` are
checked before any other AWS call; an SSO session that would end mid-run is warned
about (on stderr: printing is the CLI's); the AWS principal is asked of STS for a plan
whose kinds declare ``uses_aws``, which also proves the settings work (exit 2 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.engine.identity import uses_aws
from runbook.engine.wiring import Wired, base_context
from runbook.errors import StateError
from runbook.source import Source

if TYPE_CHECKING:
    from runbook.context import Operator, RunContext
    from runbook.plan.model import Plan


class CliProvider:
    """The engine's ``ContextProvider`` for the commands of ``runbook``."""

    def wire(self, plan: Plan, run_id: str, plan_dir: Path, operator: Operator | None,
             progress: Callable[[str], None], *, continuing: str | None = None) -> Wired:
        if continuing is not None:
            _twin_still_there(plan, plan_dir, run_id, continuing)
        ctx = context_for(plan, run_id, operator, progress, plan_dir)
        return Wired(ctx, aws_principal(plan, ctx), _world(plan, plan_dir))


def context_for(plan: Plan, run_id: str, operator: Operator | None,
                progress: Callable[[str], None], plan_dir: Path) -> RunContext:
    """The run's context, wired to its twin (a sandbox environment) and account-checked."""
    env = plan.environment
    ctx = base_context(plan, run_id, operator, progress, plan_dir)
    if env.sandbox:  # the local twin: AWS, DNS, HTTP(S) and trust all point at it
        from runbook.sandbox.hook import wire

        ctx = wire(plan, ctx)
    if env.aws.account or env.aws.role:  # before any other AWS call: the right account?
        from runbook.kinds.aws.account import check_account

        ctx = check_account(ctx, account=env.aws.account, role=env.aws.role,
                            source=_aws_source(plan))
    if env.aws.profile and not env.sandbox:  # an SSO session that ends mid-run
        from runbook.cli.render import error_console
        from runbook.kinds.aws.sso import sso_warning

        warning = sso_warning(ctx, plan)
        if warning:
            error_console().print(warning, markup=False, highlight=False, soft_wrap=True)
    return ctx


def aws_principal(plan: Plan, ctx: RunContext) -> dict[str, Any]:
    """``{"account", "arn", "user_id"}``, or ``{"status": why there is none}`` for a plan
    that uses no AWS kinds.

    This is also the proof, before a run, a resume, a rollback or a dry run touches
    anything, that the environment's AWS settings work: a profile that does not exist, no
    credentials, an expired SSO login or an unreachable endpoint is an AccountError (exit 2)
    saying which and what to do, not a run whose every check fails with botocore's words.
    """
    if not uses_aws(plan):
        return {"status": "not looked up: the plan uses no AWS kinds"}
    from runbook.kinds.aws.account import unusable
    from runbook.kinds.aws.common import AwsApiError, caller_identity

    if ctx.caller is not None:  # already asked (the environment's aws.account check)
        return dict(ctx.caller)
    try:
        return caller_identity(ctx)
    except AwsApiError as exc:
        raise unusable(plan.environment.name, exc, _aws_source(plan)) from exc


def _aws_source(plan: Plan) -> Source | None:
    """Where the environment is written: its settings are what a person fixes."""
    src = plan.environment.source
    return None if src.file == "<journal>" else src


def _world(plan: Plan, plan_dir: Path) -> dict[str, Any] | None:
    """A rehearsal against a twin: which copy of what (the world file's origin)."""
    sandbox = plan.environment.sandbox
    if sandbox is None or not sandbox.world:
        return None
    from runbook.sandbox.world import origin

    return origin((plan_dir / sandbox.world).resolve())


def _twin_still_there(plan: Plan, plan_dir: Path, run_id: str, mode: str) -> None:
    if not plan.environment.sandbox:
        return
    from runbook.sandbox.hook import has_twin

    if not has_twin(plan, plan_dir):
        raise StateError(
            f"run {run_id} ran against a sandbox twin ({plan.environment.sandbox}), "
            f"which lived only as long as the process that ran it: the world it changed "
            f"is gone, so there is nothing to {mode}. Start a new run; a fresh twin is "
            "seeded from the world file. To rehearse resume and rollback, run against a "
            "served twin (`runbook sandbox serve`, `sandbox: {serve: URL}`)")
