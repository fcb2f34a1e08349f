"""`aws.account` (and `aws.role`): STS must name the environment's account before any
other AWS call, or the run stops with exit 2 and nothing changed. Through the CLI,
against the moto server (whose credentials are account 123456789012)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PLAN = """\
runbook: 1
name: account-check
title: Make a bucket in the right account
environments:
  stage:
    aws: {{endpoint_url: "{endpoint}", region: us-east-1{extra}}}
stages:
  - name: make
    title: Make it
    steps:
      - id: bucket
        action:
          s3.bucket: {{bucket: {bucket}}}
        post:
          - s3.object: {{bucket: {bucket}, key: index.html, absent: true}}
        rollback: auto
"""


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _plan(tmp_path: Path, endpoint: str, bucket: str, extra: str) -> str:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(endpoint=endpoint, bucket=bucket, extra=extra))
    return str(plan)


def _buckets(world: Any) -> list[str]:
    return world.buckets()  # type: ignore[no-any-return]


def test_the_wrong_account_stops_the_run_before_anything(cli: Any, tmp_path: Path, keys: None,
                                                         moto_endpoint: str, world: Any) -> None:
    plan = _plan(tmp_path, moto_endpoint, "site-wrong", ', account: "999999999999"')
    r = cli("run", plan, "--env", "stage", "--yes", "--state-dir", str(tmp_path / "state"))
    assert r.code == 2, r.stdout + r.stderr
    assert ("environment stage is AWS account 999999999999 (`aws.account`), but the default "
            "credentials belong to account 123456789012") in r.stderr
    assert "Nothing was changed" in r.stderr
    assert "site-wrong" not in _buckets(world)
    assert not (tmp_path / "state" / "runs").exists() or \
        list((tmp_path / "state" / "runs").iterdir()) == []
    dry = cli("plan", plan, "--env", "stage")
    assert dry.code == 2 and "belong to account 123456789012" in dry.stderr


def test_the_right_account_runs(cli: Any, tmp_path: Path, keys: None, moto_endpoint: str,
                                world: Any) -> None:
    plan = _plan(tmp_path, moto_endpoint, "site-right", ', account: "123456789012"')
    r = cli("run", plan, "--env", "stage", "--yes", "--state-dir", str(tmp_path / "state"))
    assert r.code == 0, r.stdout + r.stderr
    assert "site-right" in _buckets(world)


def test_a_role_of_another_account_is_refused(cli: Any, tmp_path: Path, keys: None,
                                              moto_endpoint: str, world: Any) -> None:
    role = "arn:aws:iam::111111111111:role/deployer"
    plan = _plan(tmp_path, moto_endpoint, "site-role",
                 f', account: "123456789012", role: "{role}"')
    r = cli("run", plan, "--env", "stage", "--yes", "--state-dir", str(tmp_path / "state"))
    assert r.code == 2, r.stdout + r.stderr
    assert f"but role {role} belong to account 111111111111" in r.stderr
    assert "site-role" not in _buckets(world)


@pytest.mark.parametrize("cause", ["no credentials", "missing profile", "unreachable"])
def test_settings_that_cannot_reach_aws_are_bad_input_with_or_without_account(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str,
        cause: str) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                 "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    endpoint, extra = moto_endpoint, ""
    if cause == "missing profile":
        extra = ", profile: nowhere"
    if cause == "unreachable":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        endpoint = "http://127.0.0.1:9"  # discard: nothing listens
    said = []
    for account in ("", ', account: "123456789012"'):
        plan = _plan(tmp_path, endpoint, "site-bad", extra + account)
        r = cli("run", plan, "--env", "stage", "--yes", "--state-dir",
                str(tmp_path / "state"))
        assert r.code == 2, r.stdout + r.stderr
        assert "environment stage cannot use AWS, so nothing was done" in r.stderr
        assert f"{plan}, line 6" in r.stderr  # the environment's settings
        said.append(r.stderr.replace(account, ""))
    assert said[0] == said[1]  # the same paragraph either way
