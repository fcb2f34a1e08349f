"""Who runs a plan: the local user, host and process, and the AWS principal.

The AWS principal comes from STS GetCallerIdentity with the environment's own
credentials, so a report says which role actually made the changes. It is best effort:
a plan that uses no AWS kinds does not ask, and missing or broken credentials are
recorded as such instead of failing the run (the run's own AWS calls will say more).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    """``{"account", "arn", "user_id"}``, or ``{"status": why there is none}``."""
    if not uses_aws(plan):
        return {"status": "not looked up: the plan uses no AWS kinds"}
    try:
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return {"status": "not looked up: boto3 is not installed"}
    # Short timeouts and one attempt: this must never hold a run up for long.
    cfg = Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=5)
    kw: dict[str, Any] = {"config": cfg}
    if ctx.aws.endpoint_url:
        kw["endpoint_url"] = ctx.aws.endpoint_url
    try:
        sts = ctx.boto_session().client("sts", **kw)
        got = sts.get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return {"status": _why(exc)}
    return {"account": str(got.get("Account", "")), "arn": str(got.get("Arn", "")),
            "user_id": str(got.get("UserId", ""))}


def _why(exc: Exception) -> str:
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return "unknown: no AWS credentials were found"
    if isinstance(exc, bx.ProfileNotFound):
        return f"unknown: {exc}"
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        return f"unknown: STS answered {err.get('Code', '?')}: {err.get('Message', '')}".strip()
    return f"unknown: {type(exc).__name__}: {exc}"


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
