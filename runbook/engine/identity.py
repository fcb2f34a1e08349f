"""Who runs a plan: the local user, host and process, and the AWS principal.

The AWS principal comes from STS GetCallerIdentity with the environment's own
credentials, so a report says which role actually made the changes. A plan that uses no
AWS kinds does not ask; for one that does, AWS settings that do not work stop the command
before it changes anything (exit 2).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbook.source import Source

if TYPE_CHECKING:
    from runbook.context import RunContext
    from runbook.plan.model import Plan

# Kind families that talk to AWS; a plan without any of them never asks STS.
AWS_FAMILIES = frozenset({"s3", "cloudfront", "route53", "acm", "sts", "iam"})


@dataclass(frozen=True)
class Identity:
    user: str
    host: str
    pid: int

    @classmethod
    def here(cls) -> Identity:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = os.environ.get("USER", "unknown")
        return cls(user, socket.gethostname(), os.getpid())

    def to_json(self, principal: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.user, "host": self.host, "pid": self.pid}
        if principal is not None:
            out["aws"] = principal
        return out


def uses_aws(plan: Plan) -> bool:
    kinds = [c.kind for stage in plan.stages for c in stage.checks]
    for step in plan.steps():
        kinds += [c.kind for c in (*step.pre, *step.post)]
        kinds += [step.action.kind, *(a.kind for a in step.rollback.actions)]
    return any(k.split(".", 1)[0] in AWS_FAMILIES for k in kinds)


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


def describe_principal(principal: dict[str, Any] | None) -> str:
    """"arn:aws:sts::1234:assumed-role/x (account 1234)", or why there is none."""
    if not principal:
        return "not recorded"
    if principal.get("arn"):
        return f"{principal['arn']} (account {principal.get('account', '?')})"
    return str(principal.get("status", "not recorded"))


def short_principal(principal: dict[str, Any] | None) -> str:
    """"assumed-role/Deployer/alice @123456789012" for a listing; "-" when unknown."""
    if not principal or not principal.get("arn"):
        return "-"
    arn = str(principal["arn"])
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else arn
    return f"{resource} @{principal.get('account', '?')}"
