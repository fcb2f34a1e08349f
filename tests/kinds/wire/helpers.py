"""Helpers of the wire-check tests: run contexts pointed at loopback servers, and
running a check as a plan would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook.context import NetworkSettings, RunContext
from runbook.kinds import check
from runbook.kinds.base import CheckResult

SILENCE = 0.4  # seconds: a test that waits for "no answer" passes this, to keep the suite fast
PATIENCE = 5.0  # seconds: every other test, so a busy machine (CI, two workers) is not "no answer"


def network(*, resolvers: tuple[str, ...] = (), ca_bundle: str | None = None,
            resolve_via_dns: bool = False, port_map: dict[int, int] | None = None,
            timeout: float = PATIENCE) -> NetworkSettings:
    return NetworkSettings(resolvers=resolvers, resolve_via_dns=resolve_via_dns,
                           port_map=port_map or {}, ca_bundle=ca_bundle, timeout=timeout)


def run_check(kind: str, params: dict[str, Any], net: NetworkSettings,
              plan_dir: Path | None = None) -> CheckResult:
    """Validate ``params`` as a plan would, then run the check once."""
    cls = check(kind)
    assert cls is not None, kind
    ctx = RunContext(network=net)
    if plan_dir is not None:
        ctx.plan_dir = plan_dir
    return cls(cls.Params.model_validate(params)).run(ctx)


def describe(kind: str, params: dict[str, Any]) -> str:
    cls = check(kind)
    assert cls is not None, kind
    return cls(cls.Params.model_validate(params)).describe()
