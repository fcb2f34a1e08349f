"""The run warns when the plan's worst case outlives the environment's AWS SSO session
(known from botocore's SSO token cache), before anything else happens."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

START = "https://tis.awsapps.com/start"
PLAN = """\
runbook: 1
name: sso
title: A long plan on an SSO profile
environments:
  stage:
    aws: {{profile: tis-sso, region: us-east-1, endpoint_url: "{endpoint}"}}
stages:
  - name: deploy
    title: Deploy
    steps:
      - id: origin
        action:
          cloudfront.update: {{id: E1, origin: {{path: /v2}}}}
        post:
          - cloudfront.distribution: {{id: E1, status: Deployed}}
            within: 25m
        rollback: auto
"""


@pytest.fixture
def sso_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".aws" / "sso" / "cache").mkdir(parents=True)
    config = home / ".aws" / "config"
    config.write_text(f"[profile tis-sso]\nsso_start_url = {START}\nsso_region = eu-west-2\n"
                      "sso_account_id = 123456789012\nsso_role_name = Deployer\n"
                      "region = us-east-1\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return home


def _token(home: Path, minutes: float) -> None:
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    key = hashlib.sha1(START.encode()).hexdigest()  # botocore's cache key for a start URL
    (home / ".aws" / "sso" / "cache" / f"{key}.json").write_text(json.dumps({
        "startUrl": START, "region": "eu-west-2", "accessToken": "token",
        "expiresAt": ends.strftime("%Y-%m-%dT%H:%M:%SZ")}))


def test_a_plan_that_outlives_the_sso_session_is_warned_about(
        cli: Any, tmp_path: Path, sso_home: Path, moto_endpoint: str) -> None:
    _token(sso_home, 20)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(endpoint=moto_endpoint))
    r = cli("plan", str(plan), "--env", "stage")
    assert "warning: the AWS SSO session of profile tis-sso ends at" in r.stderr
    assert "but this plan may take up to 55m (its timeouts, `within` windows and soaks)" \
        in r.stderr
    assert "aws sso login --profile tis-sso" in r.stderr


def test_a_session_that_lasts_is_not_warned_about(
        cli: Any, tmp_path: Path, sso_home: Path, moto_endpoint: str) -> None:
    _token(sso_home, 600)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(endpoint=moto_endpoint))
    r = cli("plan", str(plan), "--env", "stage")
    # (the token cannot really sign: STS then refuses the run, which is not the warning)
    assert "this plan may take up to" not in r.stderr
