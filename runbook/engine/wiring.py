"""What the engine is handed to reach a plan's environment: a context provider.

The engine knows neither AWS nor the sandbox. Where an environment lives (AWS accounts,
a local twin), how its credentials are proved and who the run acts as are the business
of the provider the caller passes in (the CLI's is ``cli/provider.py``). The engine only
builds the part of a ``RunContext`` that the plan's environment states plainly
(``base_context``) and asks the provider for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runbook.context import AwsSettings, NetworkSettings, Operator, RunContext
from runbook.plan.model import Plan


@dataclass(frozen=True)
class Wired:
    """A run's context, ready: wired to where its environment lives and checked."""

    ctx: RunContext
    principal: dict[str, Any]  # who the run acts as (Identity.to_json's "aws"), or why none
    world: dict[str, Any] | None = None  # what a rehearsal ran against (a twin's world)


class ContextProvider(Protocol):
    """Gives the engine a run's context. ``continuing`` is "resume" or "rollback" when the
    run exists already: the provider refuses (StateError) when what it ran against is
    gone. Refusals come before anything is locked, written or changed."""

    def wire(self, plan: Plan, run_id: str, plan_dir: Path, operator: Operator | None,
             progress: Callable[[str], None], *, continuing: str | None = None) -> Wired: ...


def base_context(plan: Plan, run_id: str, operator: Operator | None,
                 progress: Callable[[str], None], plan_dir: Path) -> RunContext:
    """The context the plan's environment states: AWS settings, network, secrets."""
    env = plan.environment
    secrets: set[str] = set()
    proxy = env.proxy
    if proxy and "${" in proxy:  # ${env:NAME}: a proxy password never stored in the plan
        from runbook.plan.template import resolve_runtime

        proxy = str(resolve_runtime(proxy, outputs={}, run_id=run_id, secrets=secrets))
    return RunContext(
        environment=env.name, run_id=run_id, plan_dir=plan_dir,
        aws=AwsSettings(profile=env.aws.profile, region=env.aws.region,
                        endpoint_url=env.aws.endpoint_url),
        network=NetworkSettings(
            resolvers=env.resolvers, proxy=proxy,
            client_cert=str(plan_dir / env.client_cert) if env.client_cert else None,
            client_key=str(plan_dir / env.client_key) if env.client_key else None),
        operator=operator, progress=progress, secrets=secrets,
    )
