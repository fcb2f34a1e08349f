"""A twin of the TSS world per test module, and helpers to look at it as a user would:
DNS through the twin's DNS server, HTTPS through its edge, AWS through its API."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook.sandbox import hook
from runbook.sandbox.twin import Twin

PLANS = Path(__file__).resolve().parents[2] / "plans"
WORLD = PLANS / "sandbox" / "tss-before.yaml"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@contextlib.contextmanager
def fresh_twin(world: Path) -> Iterator[Twin]:
    """A fresh twin of ``world``, registered so that runs in this process use it (never
    one that an earlier test, such as the in-process demo, left behind)."""
    path = world.resolve()
    old = hook._twins.pop(path, None)
    if old is not None:
        old.stop()
    made = hook.twin_for(path)
    try:
        yield made
    finally:
        hook._twins.pop(path, None)
        made.stop()


@pytest.fixture
def twin() -> Iterator[Twin]:
    with fresh_twin(WORLD) as made:
        yield made


def wait_for(condition: Any, limit: float = 60.0) -> bool:
    """Whether ``condition()`` comes true before ``limit`` real seconds (twin times are
    scaled to a few seconds; the limit only stops a broken twin hanging the suite)."""
    import time

    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return False


class Look:
    """What a user sees of the twin."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin

    def a(self, name: str) -> list[str]:
        import dns.resolver

        r = dns.resolver.Resolver(configure=False)
        host, port = self.twin.dns.address
        r.nameservers, r.port = [host], port
        try:
            return sorted(rr.to_text() for rr in r.resolve(name, "A"))
        except dns.resolver.NXDOMAIN:
            return []

    def get(self, host: str, path: str = "/", *, https: bool = True,
            headers: dict[str, str] | None = None) -> Any:
        import httpx

        port = self.twin.edge.https.port if https else self.twin.edge.http.port
        ctx = ssl.create_default_context(cafile=self.twin.ca_path)
        with httpx.Client(verify=ctx) as client:
            return client.get(f"{'https' if https else 'http'}://127.0.0.1:{port}{path}",
                              headers={"Host": host, **(headers or {})},
                              extensions={"sni_hostname": host})

    def client(self, service: str, region: str = "us-east-1") -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.twin.proxy.url, region_name=region,
                            aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


@pytest.fixture
def look(twin: Twin) -> Look:
    return Look(twin)


@pytest.fixture
def small_twin(tmp_path: Path) -> Iterator[Any]:
    """``small_twin(WORLD_YAML)``: a twin of that world, written to tmp_path/world.yaml and
    registered so that CLI runs of plans in tmp_path (``sandbox: world.yaml``) use it; with
    a :class:`Look` at it."""
    import textwrap

    from runbook.sandbox.world import load_world

    made: list[Twin] = []
    path = (tmp_path / "world.yaml").resolve()

    def start(world: str) -> tuple[Twin, Look]:
        path.write_text(textwrap.dedent(world))
        old = hook._twins.pop(path, None)
        if old is not None:
            old.stop()
        twin = Twin.start(load_world(path))
        hook._twins[path] = twin
        made.append(twin)
        return twin, Look(twin)

    yield start
    hook._twins.pop(path, None)
    for twin in made:
        twin.stop()


def write_plan(tmp_path: Path, text: str, name: str = "plan.yaml") -> str:
    import textwrap

    (tmp_path / name).write_text(textwrap.dedent(text))
    return str(tmp_path / name)
