"""CloudFront continuous deployment, as ``cloudfront.staged_update`` drives it: the staging
copy, the continuous deployment policy, promotion and clean-up, and the sampling that
tells which configuration answered (private to ``runbook.kinds.aws.cfstaged``).

AWS pages followed (docs/kinds-aws.md cites them): the developer guide's "Use CloudFront
continuous deployment to safely test CDN configuration changes", "Learn how continuous
deployment works" and "Quotas and other considerations for continuous deployment"; the
API reference's CopyDistribution, CreateContinuousDeploymentPolicy,
UpdateContinuousDeploymentPolicy, DeleteContinuousDeploymentPolicy and
UpdateDistributionWithStagingConfig.
"""

from __future__ import annotations

from typing import Any

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.aws.common import AwsApiError, call, read_distribution

HEADER = "aws-cf-cd-runbook"
MARK = "x-runbook-twin-config"  # the twin's own mark; CloudFront documents none
MAX_WEIGHT = 0.15
HEADER_PREFIX = "aws-cf-cd-"
TTL_RANGE = (300, 3600)
HTTP3 = ("http2and3", "http3")


def cf(ctx: RunContext) -> Any:
    return ctx.client("cloudfront")


def config_of(ctx: RunContext, dist_id: str) -> tuple[dict[str, Any], str]:
    got = call(cf(ctx), "get_distribution_config", f"distribution {dist_id}", Id=dist_id)
    return dict(got["DistributionConfig"]), str(got["ETag"])


def write(ctx: RunContext, dist_id: str, config: dict[str, Any], etag: str) -> None:
    call(cf(ctx), "update_distribution", f"distribution {dist_id}", Id=dist_id, IfMatch=etag,
         DistributionConfig=config)


def wait_deployed(ctx: RunContext, dist_id: str, timeout: float, every: float) -> None:
    def probe() -> tuple[bool, str]:
        dist, _ = read_distribution(ctx, dist_id)
        status = str(dist.get("Status", ""))
        return status.lower() == "deployed", status
    ok, status = ctx.poll(probe, timeout=timeout, every=every,
                          what=f"waiting for distribution {dist_id} to deploy")
    if not ok:
        raise KindError(f"distribution {dist_id} is still {status}: raise `timeout`")


def without_policy(config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    out["ContinuousDeploymentPolicyId"] = ""
    return out


def caller_reference(ctx: RunContext, primary: str) -> str:
    return f"runbook-staged-{primary}-{ctx.run_id}"[:128]


def find_staging(ctx: RunContext, primary: str) -> tuple[str, str] | None:
    """(id, domain) of the staging copy this run made of ``primary``, read from AWS (so a
    resumed or rolled back run finds it whatever its journal holds)."""
    want = caller_reference(ctx, primary)
    for page in cf(ctx).get_paginator("list_distributions").paginate():
        for d in (page.get("DistributionList") or {}).get("Items") or []:
            if d["Id"] == primary:
                continue
            try:
                config, _ = config_of(ctx, d["Id"])
            except AwsApiError:
                continue
            if config.get("Staging") and config.get("CallerReference") == want:
                return str(d["Id"]), str(d["DomainName"])
    return None


def copy_staging(ctx: RunContext, primary: str, etag: str) -> tuple[str, str]:
    found = find_staging(ctx, primary)
    if found is not None:
        return found
    made = call(cf(ctx), "copy_distribution", f"distribution {primary}",
                PrimaryDistributionId=primary, Staging=True, IfMatch=etag,
                CallerReference=caller_reference(ctx, primary), Enabled=True)
    dist = made["Distribution"]
    return str(dist["Id"]), str(dist["DomainName"])


def traffic(*, header: str | None = None, value: str = "", weight: float = 0.0,
            idle: int | None = None, most: int | None = None) -> dict[str, Any]:
    if header is not None:
        return {"Type": "SingleHeader", "SingleHeaderConfig": {"Header": header,
                                                               "Value": value}}
    one: dict[str, Any] = {"Weight": weight}
    if idle is not None:
        one["SessionStickinessConfig"] = {"IdleTTL": idle, "MaximumTTL": most or idle}
    return {"Type": "SingleWeight", "SingleWeightConfig": one}


def policy_config(domain: str, traffic_config: dict[str, Any], enabled: bool = True
                  ) -> dict[str, Any]:
    return {"StagingDistributionDnsNames": {"Quantity": 1, "Items": [domain]},
            "Enabled": enabled, "TrafficConfig": traffic_config}


def find_policy(ctx: RunContext, domain: str) -> tuple[str, dict[str, Any], str] | None:
    """(id, config, ETag) of the policy naming the staging ``domain``."""
    got = call(cf(ctx), "list_continuous_deployment_policies", "continuous deployment "
               "policies")
    for item in (got.get("ContinuousDeploymentPolicyList") or {}).get("Items") or []:
        policy = item["ContinuousDeploymentPolicy"]
        config = policy["ContinuousDeploymentPolicyConfig"]
        if domain.lower() in [n.lower() for n in
                              (config.get("StagingDistributionDnsNames") or {})
                              .get("Items") or []]:
            etag = call(cf(ctx), "get_continuous_deployment_policy", "continuous deployment "
                        f"policy {policy['Id']}", Id=policy["Id"])["ETag"]
            return str(policy["Id"]), dict(config), str(etag)
    return None


def set_policy(ctx: RunContext, domain: str, config: dict[str, Any]) -> str:
    found = find_policy(ctx, domain)
    if found is None:
        made = call(cf(ctx), "create_continuous_deployment_policy", "a continuous deployment "
                    "policy", ContinuousDeploymentPolicyConfig=config)
        return str(made["ContinuousDeploymentPolicy"]["Id"])
    policy_id, _, etag = found
    call(cf(ctx), "update_continuous_deployment_policy", f"continuous deployment policy "
         f"{policy_id}", Id=policy_id, IfMatch=etag, ContinuousDeploymentPolicyConfig=config)
    return policy_id


def disable_policy(ctx: RunContext, domain: str) -> bool:
    found = find_policy(ctx, domain)
    if found is None or not found[1].get("Enabled"):
        return False
    policy_id, config, etag = found
    call(cf(ctx), "update_continuous_deployment_policy", f"continuous deployment policy "
         f"{policy_id}", Id=policy_id, IfMatch=etag,
         ContinuousDeploymentPolicyConfig={**config, "Enabled": False})
    return True


def delete_policy(ctx: RunContext, domain: str) -> None:
    found = find_policy(ctx, domain)
    if found is not None:
        call(cf(ctx), "delete_continuous_deployment_policy", f"continuous deployment policy "
             f"{found[0]}", Id=found[0], IfMatch=found[2])


def delete_staging(ctx: RunContext, staging: str, timeout: float, every: float) -> None:
    """Disable, wait, delete: AWS deletes only a disabled, deployed distribution."""
    try:
        config, etag = config_of(ctx, staging)
    except AwsApiError as exc:
        if exc.code == "NoSuchDistribution":
            return
        raise
    if config.get("Enabled"):
        write(ctx, staging, {**config, "Enabled": False}, etag)
    wait_deployed(ctx, staging, timeout, every)
    etag = read_distribution(ctx, staging)[1]
    call(cf(ctx), "delete_distribution", f"distribution {staging}", Id=staging, IfMatch=etag)


def promote(ctx: RunContext, primary: str, staging: str) -> None:
    etags = [read_distribution(ctx, d)[1] for d in (primary, staging)]
    call(cf(ctx), "update_distribution_with_staging_config", f"distribution {primary}",
         Id=primary, StagingDistributionId=staging, IfMatch=", ".join(etags))
