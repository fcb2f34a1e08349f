"""Baselines: what a check reads when its stage starts, to compare with later.

A check kind that overrides ``Check.baseline`` (``cloudfront.metrics`` with
``max_rise``: the error rate in the same window before the change) is asked once, when
its stage starts, before the gate and any step. The answer is journaled (event
``baseline``) and kept on the run's state under the check's key; the executor hands it
back as ``check.before`` on every run of that check in the stage (post checks, their
``within`` polling, the soak), and a resumed run reads it back from the journal rather
than taking a new one after the change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from runbook.context import RunContext
from runbook.engine.journal import Journal, RunState
from runbook.errors import RunbookError
from runbook.kinds.base import Check
from runbook.plan.describe import build
from runbook.plan.model import CheckSpec, Stage


class _Walker(Protocol):
    ctx: RunContext
    journal: Journal
    state: RunState

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]: ...


def key(spec: CheckSpec) -> str:
    """The check's identity in the plan: where it is written and what it asks. A post
    check and the same check in the soak share it; two uses of a library step with other
    parameters do not."""
    text = json.dumps([str(spec.source), spec.kind, spec.params], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def specs_of(stage: Stage) -> list[CheckSpec]:
    return [*stage.checks, *(c for step in stage.steps for c in (*step.pre, *step.post))]


def take(walker: _Walker, stage: Stage) -> None:
    """Ask every check of ``stage`` that keeps a baseline, once; journal the answers."""
    for spec in specs_of(stage):
        k = key(spec)
        if k in walker.state.baselines:
            continue  # resumed: the baseline taken before the change stands
        try:
            check = build(spec, walker.resolve(spec.params))
        except Exception:  # run_check reports a check that cannot be built
            continue
        if not isinstance(check, Check) or type(check).baseline is Check.baseline:
            continue
        try:
            data = check.baseline(walker.ctx) or {}
        except RunbookError as exc:
            data = {"error": str(exc)}
        walker.journal.write("baseline", stage=stage.name, key=k, kind=spec.kind,
                             source=str(spec.source), data=data)
        walker.state.baselines[k] = data


def hand_back(walker: _Walker, spec: CheckSpec, check: Check[Any]) -> None:
    """Give ``check`` the baseline its stage took (None when it took none)."""
    check.before = walker.state.baselines.get(key(spec))
