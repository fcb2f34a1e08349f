"""How long the environment's AWS SSO session lasts, against how long a plan may take.

An SSO session (``aws sso login``) ends at a fixed time, typically 8-12 hours after
login; when it ends, every AWS call fails until someone logs in again. A plan whose
worst case (its deploy timeouts, ``within`` windows and soaks) outlives the session can
stop half way, with its rollback needing a login first. When the profile uses SSO and
its token is in botocore's cache, the expiry is knowable: the run warns before it starts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.durations import format_duration

if TYPE_CHECKING:
    from runbook.context import RunContext

# The plan (runbook.plan.model.Plan) is read by attribute only: kinds sit below the plan
# model in the layout and do not import it.
Plan = Any


def sso_expiry(ctx: RunContext) -> dt.datetime | None:
    """When the SSO session of the environment's profile ends, if it is knowable."""
    if not ctx.aws.profile:
        return None
    try:
        from botocore.utils import JSONFileCache, SSOTokenLoader

        core = ctx.boto_session()._session
        config: dict[str, Any] = core.full_config.get("profiles", {}).get(ctx.aws.profile, {})
        name = config.get("sso_session")
        start = config.get("sso_start_url") or (
            core.full_config.get("sso_sessions", {}).get(name, {}).get("sso_start_url")
            if name else None)
        if not start:
            return None
        cache = JSONFileCache(str(Path("~/.aws/sso/cache").expanduser()))
        token = SSOTokenLoader(cache=cache)(start, session_name=name)
        text = str(token.get("expiresAt", "")).replace("Z", "+00:00")
        return dt.datetime.fromisoformat(text)
    except Exception:  # not logged in, no cache, a config botocore rejects: not knowable
        return None


def worst_case(plan: Plan) -> float:
    """Seconds a plan may take at most: actions' timeouts, checks' ``within``, soaks."""
    from runbook.kinds import action

    total = 0.0
    for stage in plan.stages:
        total += float(stage.soak or 0)
        total += sum(float(c.within or 0) for c in stage.checks)
        for step in stage.steps:
            total += sum(float(c.within or 0) for c in (*step.pre, *step.post))
            kind = action(step.action.kind)
            if kind is None:  # an unknown kind was reported when the plan was loaded
                continue
            fields = kind.Params.model_fields
            timeout = step.action.params.get("timeout", fields["timeout"].default
                                             if "timeout" in fields else 0)
            if isinstance(timeout, int | float):
                total += float(timeout)
    return total


def sso_warning(ctx: RunContext, plan: Plan,
                now: dt.datetime | None = None) -> str | None:
    """One line when the plan's worst case outlives the SSO session, else None."""
    ends = sso_expiry(ctx)
    if ends is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    left = (ends - now).total_seconds()
    need = worst_case(plan)
    if left >= need:
        return None
    until = ends.astimezone(dt.UTC).strftime("%H:%M UTC")
    if left <= 0:
        return (f"warning: the AWS SSO session of profile {ctx.aws.profile} ended at "
                f"{until}: run `aws sso login --profile {ctx.aws.profile}` first")
    return (f"warning: the AWS SSO session of profile {ctx.aws.profile} ends at {until} (in "
            f"{format_duration(left)}), but this plan may take up to {format_duration(need)} "
            "(its timeouts, `within` windows and soaks): when it ends every AWS call fails, "
            f"a rollback too. Log in again first: `aws sso login --profile {ctx.aws.profile}`")
