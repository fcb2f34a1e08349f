"""The AWS kinds against a moto server on loopback, reset before every test.

One server for the session (starting one takes a second); ``POST /moto-api/reset``
empties it between tests. Retries are off (max_attempts=1: one attempt in all) so that
a call moto does not implement fails at once instead of backing off.
Waits run on a fake clock.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest

from runbook.cli.operator import ScriptedOperator
from runbook.context import AwsSettings, RunContext

from .world import World


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Nothing of the developer's own AWS set-up may leak into a test."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def settings(endpoint: str) -> AwsSettings:
    return AwsSettings(endpoint_url=endpoint, region="us-east-1", access_key_id="testing",
                       secret_access_key="testing", max_attempts=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def operator() -> ScriptedOperator:
    return ScriptedOperator()


@pytest.fixture(scope="session")
def _shared_clients(moto_endpoint: str) -> dict[str, Any]:
    """boto3 clients take ~50 ms each to make: every test's context shares them."""
    return {"session": RunContext(aws=settings(moto_endpoint)).boto_session(), "clients": {}}


@pytest.fixture
def ctx(moto_endpoint: str, clock: FakeClock, operator: ScriptedOperator,
        _shared_clients: dict[str, Any]) -> RunContext:
    req = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10):
        pass
    return RunContext(aws=settings(moto_endpoint), operator=operator, clock=clock,
                      sleep=clock.sleep, run_id="run-42",
                      _session=_shared_clients["session"], _clients=_shared_clients["clients"])


@pytest.fixture
def world(ctx: RunContext) -> World:
    return World(ctx)


def journal(value: Any) -> Any:
    """What survives the journal: JSON only (fails the test if it is not JSON-able)."""
    return json.loads(json.dumps(value))


@contextmanager
def through_the_twin(ctx: RunContext, moto_endpoint: str,
                     wait: float = 0.0) -> Iterator[RunContext]:
    """``ctx`` talking to the moto server through the sandbox's AWS proxy, which answers
    what moto lacks (AssociateAlias, ListConflictingAliases) and refuses what AWS refuses
    (docs/moto-gaps.md). ``wait``: AWS's waits (deployments, invalidations, Route53
    changes), in real seconds; at nought, deployed and INSYNC at once."""
    from runbook.sandbox import cfalias, s3rules
    from runbook.sandbox.cfrules import CloudFrontRules
    from runbook.sandbox.kit import Kit, moto_clients
    from runbook.sandbox.proxy import AwsProxy, Ids
    from runbook.sandbox.r53rules import Route53Rules

    acm = ctx.client("acm", region="us-east-1")
    kit = Kit(AwsProxy(moto_endpoint, Ids()), moto_clients(moto_endpoint, "us-east-1"))
    proxy = kit.proxy
    rules = CloudFrontRules(ctx.client("cloudfront"), acm, wait, wait)
    rules.install(kit)
    Route53Rules(ctx.client("route53"), wait).install(kit)
    s3rules.install(kit)
    cfalias.install(kit, rules)
    proxy.start()
    try:
        yield replace(ctx, aws=settings(proxy.url), _session=None, _clients={})
    finally:
        proxy.stop()


@pytest.fixture
def strict(ctx: RunContext, moto_endpoint: str) -> Iterator[RunContext]:
    """``ctx`` through the twin's proxy (``through_the_twin``), AWS's waits at nought."""
    with through_the_twin(ctx, moto_endpoint) as made:
        yield made
