"""The operator's AWS principal: looked up only for plans that use AWS, quickly; AWS
settings that do not work stop a command before it changes anything (exit 2), with the
translated paragraph (tests/kinds/aws/test_errors.py drives that through the CLI)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runbook.cli.provider import aws_principal
from runbook.context import AwsSettings, RunContext
from runbook.engine.identity import describe_principal, short_principal, uses_aws
from runbook.errors import RefusedError
from runbook.plan.loader import load

from .conftest import PLANS


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_principal_comes_from_sts_with_the_environments_credentials(
        moto_endpoint: str) -> None:
    plan = load(PLANS / "site.yaml").plan
    assert uses_aws(plan)
    ctx = RunContext(aws=AwsSettings(endpoint_url=moto_endpoint, region="us-east-1",
                                     access_key_id="testing", secret_access_key="testing"))
    got = aws_principal(plan, ctx)
    assert got == {"account": "123456789012", "arn": "arn:aws:sts::123456789012:user/moto",
                   "user_id": got["user_id"]}
    assert describe_principal(got) == ("arn:aws:sts::123456789012:user/moto "
                                       "(account 123456789012)")
    assert short_principal(got) == "user/moto @123456789012"


def test_no_credentials_refuse_plainly_and_quickly(moto_endpoint: str) -> None:
    plan = load(PLANS / "site.yaml").plan
    ctx = RunContext(aws=AwsSettings(endpoint_url=moto_endpoint, region="us-east-1"))
    import boto3  # noqa: F401  # importing it takes seconds on a loaded machine: not timed
    ctx.boto_session().client("sts", endpoint_url=moto_endpoint)
    began = time.monotonic()
    with pytest.raises(RefusedError) as err:
        aws_principal(plan, ctx)
    assert time.monotonic() - began < 3
    assert err.value.exit_code == 2
    assert str(err.value).startswith("environment default cannot use AWS, so nothing was "
                                      "done: no AWS credentials were found for "
                                      "sts:GetCallerIdentity")


def test_an_unreachable_sts_refuses() -> None:
    plan = load(PLANS / "site.yaml").plan
    ctx = RunContext(aws=AwsSettings(endpoint_url="http://127.0.0.1:9", region="us-east-1",
                                     access_key_id="t", secret_access_key="t"))
    with pytest.raises(RefusedError) as err:
        aws_principal(plan, ctx)
    assert "could not reach http://127.0.0.1:9/ for sts:GetCallerIdentity" in str(err.value)


def test_a_plan_without_aws_kinds_does_not_ask() -> None:
    plan = load(PLANS / "team.yaml", env="qa").plan
    assert not uses_aws(plan)
    got = aws_principal(plan, RunContext())
    assert got == {"status": "not looked up: the plan uses no AWS kinds"}
    assert describe_principal(got) == "not looked up: the plan uses no AWS kinds"
    assert describe_principal(None) == "not recorded"


def test_an_aws_kind_anywhere_in_the_plan_counts_its_verify_checks_too(tmp_path: Path) -> None:
    """The AWS kinds declare `uses_aws`; the plan's walk (Plan.specs) includes `verify:`."""
    (tmp_path / "p.yaml").write_text("""\
runbook: 1
name: verify-only
stages:
  - name: one
    steps:
      - id: switch
        action: {shell: {run: [sh, -c, "echo new > alias.txt"], state: [cat, alias.txt]}}
        post: [{shell: {run: [cat, alias.txt], contains: new}}]
        verify: [{s3.object: {bucket: acme-docs, key: index.html}}]
""")
    plan = load(tmp_path / "p.yaml").plan
    assert [where for where, _ in plan.specs()] == ["switch post 1", "switch verify 1",
                                                    "switch action"]
    assert uses_aws(plan)
    without = load(PLANS / "team.yaml", env="qa").plan
    assert not uses_aws(without)


def test_every_aws_kind_declares_that_it_uses_aws() -> None:
    """A kind of the AWS family that forgot `uses_aws` would let a plan of it start without
    proving its AWS settings or recording who made the changes."""
    from runbook import kinds

    every = {**kinds.checks(), **kinds.actions()}
    forgot = sorted(name for name, cls in every.items()
                    if cls.__module__.startswith("runbook.kinds.aws.") and not cls.uses_aws)
    assert forgot == []
