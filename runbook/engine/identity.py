"""Who runs a plan: the local user, host and process, and how the AWS principal is told.

The AWS principal itself is asked of STS by the context provider (``cli/provider.py``)
for a plan whose kinds declare ``uses_aws``, so a report says which role actually made
the changes; the engine only records it.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook.plan.model import Plan


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
    """Whether a check or action of the plan (its verify checks and rollback actions too)
    is of a kind that declares ``uses_aws``."""
    from runbook import kinds
    from runbook.plan.model import CheckSpec

    for _, spec in plan.specs():
        cls = kinds.check(spec.kind) if isinstance(spec, CheckSpec) else kinds.action(spec.kind)
        if cls is not None and cls.uses_aws:
            return True
    return False


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
