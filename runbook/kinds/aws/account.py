"""Which AWS account a run talks to: ``environments.*.aws.account`` (and ``role``).

Before any other AWS call, STS's GetCallerIdentity must name the environment's account,
or nothing runs (exit 2): the credentials of the wrong profile, a stale
``AWS_PROFILE``, an SSO session logged in to stage while the plan says prod. With
``role``, the run first assumes that role (its credentials are refreshed by assuming it
again before they expire) and the account check applies to the role's credentials.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from runbook.context import RunContext
from runbook.errors import RefusedError
from runbook.kinds.aws.common import AwsApiError, call, caller_identity
from runbook.source import Source


class AccountError(RefusedError):
    """The credentials are not for the environment's account, or cannot reach STS."""

    exit_code = 2


def unusable(environment: str, exc: AwsApiError, source: Source | None) -> AccountError:
    """The environment's AWS settings do not work (no credentials, a profile that does
    not exist, an unreachable endpoint...): bad input, exit 2, naming the environment's
    line. The same paragraph whether or not the environment names its account."""
    return AccountError(f"environment {environment} cannot use AWS, so nothing was done: "
                        f"{exc.message}", source=source)


def _assume(ctx: RunContext, role: str) -> RunContext:
    import boto3
    import botocore.session
    from botocore.credentials import RefreshableCredentials

    sts = ctx.client("sts")
    name = f"runbook-{ctx.run_id}"[:64]

    def fresh() -> dict[str, Any]:
        got = call(sts, "assume_role", f"role {role}", RoleArn=role, RoleSessionName=name)
        c = got["Credentials"]
        return {"access_key": c["AccessKeyId"], "secret_key": c["SecretAccessKey"],
                "token": c["SessionToken"], "expiry_time": str(c["Expiration"])}

    creds = RefreshableCredentials.create_from_metadata(
        metadata=fresh(), refresh_using=fresh, method="sts-assume-role")
    core = botocore.session.get_session()
    # botocore has no public setter for credentials that refresh themselves
    core._credentials = creds  # type: ignore[attr-defined]
    if ctx.aws.region:
        core.set_config_variable("region", ctx.aws.region)
    return replace(ctx, _session=boto3.Session(botocore_session=core), _clients={})


def check_account(ctx: RunContext, *, account: str | None, role: str | None,
                  source: Source | None = None) -> RunContext:
    """``ctx`` (with the role's credentials when ``role`` is given), once STS has said the
    credentials are for ``account``. Raises :class:`AccountError` otherwise, and when the
    settings cannot reach STS at all (see :func:`unusable`); ``source`` is the
    environment's line."""
    try:
        if role:
            ctx = _assume(ctx, role)
        if not account:
            return ctx
        who = caller_identity(ctx)
    except AwsApiError as exc:
        raise unusable(ctx.environment or "?", exc, source) from exc
    ctx = replace(ctx, caller=who)  # the run's principal: STS is asked once
    got = who["account"]
    if got != account.strip():
        via = f"profile {ctx.aws.profile}" if ctx.aws.profile else "the default credentials"
        if role:
            via = f"role {role}"
        raise AccountError(
            f"environment {ctx.environment or '?'} is AWS account {account} (`aws.account`), "
            f"but {via} belong to account {got} ({who['arn']}). Nothing was "
            "changed and nothing was asked of AWS beyond who this is. Log in to the right "
            "account (e.g. `aws sso login --profile NAME`), or fix `aws.profile` / "
            "`aws.account`.", source=source)
    return ctx
