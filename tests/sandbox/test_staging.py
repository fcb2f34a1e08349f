"""CloudFront continuous deployment in the twin, through boto3 as a user's script would
drive it: a staging copy, a policy, the edge routing by header and by weight, promotion,
and what AWS refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import Look, wait_for

pytestmark = pytest.mark.slow
LIVE = "trainee.tis-selfservice.nhs.uk"
HEADER = "aws-cf-cd-runbook"


def _deployed(cf: Any, dist_id: str) -> bool:
    return bool(cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed")


def _stage(cf: Any, primary: str = "E1PRODEXAMPLE") -> tuple[str, str]:
    """A staging copy of ``primary`` serving v1.42.0 from the new bucket: (id, domain)."""
    etag = cf.get_distribution(Id=primary)["ETag"]
    made = cf.copy_distribution(PrimaryDistributionId=primary, Staging=True, IfMatch=etag,
                                CallerReference="staging-test")["Distribution"]
    got = cf.get_distribution_config(Id=made["Id"])
    config = got["DistributionConfig"]
    assert config["Staging"] is True and config["Aliases"]["Quantity"] == 0
    origin = config["Origins"]["Items"][0]
    origin["DomainName"] = "tis-trainee-ui-prod-new.s3.eu-west-2.amazonaws.com"
    origin["OriginPath"] = "/v1.42.0"
    cf.update_distribution(Id=made["Id"], IfMatch=got["ETag"], DistributionConfig=config)
    return made["Id"], made["DomainName"]


def _grant(look: Look, bucket: str, dist_ids: list[str]) -> None:
    arns = [f"arn:aws:cloudfront::123456789012:distribution/{d}" for d in dist_ids]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowCloudFront", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": arns}}}]}
    look.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _policy(cf: Any, domain: str, traffic: dict[str, Any]) -> tuple[str, str]:
    made = cf.create_continuous_deployment_policy(ContinuousDeploymentPolicyConfig={
        "StagingDistributionDnsNames": {"Quantity": 1, "Items": [domain]},
        "Enabled": True, "TrafficConfig": traffic})
    return made["ContinuousDeploymentPolicy"]["Id"], made["ETag"]


def _attach(cf: Any, primary: str, policy_id: str | None) -> None:
    got = cf.get_distribution_config(Id=primary)
    config = got["DistributionConfig"]
    if policy_id is None:
        config.pop("ContinuousDeploymentPolicyId", None)
        config["ContinuousDeploymentPolicyId"] = ""
    else:
        config["ContinuousDeploymentPolicyId"] = policy_id
    cf.update_distribution(Id=primary, IfMatch=got["ETag"], DistributionConfig=config)


def _header_traffic(value: str = "run-1") -> dict[str, Any]:
    return {"Type": "SingleHeader",
            "SingleHeaderConfig": {"Header": HEADER, "Value": value}}


def test_a_request_with_the_header_is_served_by_the_staging_config(twin, look):
    cf = look.client("cloudfront")
    staging, domain = _stage(cf)
    policy_id, _ = _policy(cf, domain, _header_traffic())
    _attach(cf, "E1PRODEXAMPLE", policy_id)
    assert wait_for(lambda: _deployed(cf, "E1PRODEXAMPLE") and _deployed(cf, staging))
    assert cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"][
        "ContinuousDeploymentPolicyId"] == policy_id

    # the primary's bucket policy names only the primary: the staging copy reads nothing
    # from a bucket granted to the primary alone (the developer guide's note on OAC)
    with_header = look.get(LIVE, "/", headers={HEADER: "run-1"})
    assert with_header.status_code == 403
    assert with_header.headers["x-runbook-twin-config"] == "staging"
    _grant(look, "tis-trainee-ui-prod-new", ["E1PRODEXAMPLE", staging])
    # the 403 is cached for CloudFront's error caching minimum TTL (10 s, scaled)
    assert wait_for(lambda: look.get(LIVE, "/", headers={HEADER: "run-1"}).status_code == 200)
    with_header = look.get(LIVE, "/", headers={HEADER: "run-1"})
    assert (with_header.status_code, with_header.headers["x-runbook-twin-config"]) == (
        200, "staging")
    assert "live v1.42.0" in with_header.text
    plain = look.get(LIVE, "/")
    assert "live v1.41.0" in plain.text
    assert plain.headers["x-runbook-twin-config"] == "primary"
    wrong_value = look.get(LIVE, "/", headers={HEADER: "run-2"})
    assert "live v1.41.0" in wrong_value.text
    # viewers cannot address the staging distribution by its own name
    assert look.get(domain, "/").status_code == 403


def test_a_weighted_policy_splits_requests_and_stickiness_holds_a_viewer(twin, look):
    cf = look.client("cloudfront")
    staging, domain = _stage(cf)
    _grant(look, "tis-trainee-ui-prod-new", [staging])
    policy_id, _ = _policy(cf, domain, {
        "Type": "SingleWeight", "SingleWeightConfig": {
            "Weight": 0.15, "SessionStickinessConfig": {"IdleTTL": 300, "MaximumTTL": 600}}})
    _attach(cf, "E1PRODEXAMPLE", policy_id)
    assert wait_for(lambda: _deployed(cf, "E1PRODEXAMPLE") and _deployed(cf, staging))
    assert twin.router is not None
    twin.router.rng.seed(7)
    seen = [look.get(LIVE, "/") for _ in range(60)]
    sides = [r.headers["x-runbook-twin-config"] for r in seen]
    assert 0 < sides.count("staging") < sides.count("primary")
    assert all(("v1.42.0" in r.text) == (s == "staging") for r, s in zip(seen, sides, strict=True))
    cookie = next(r.headers["set-cookie"] for r in seen
                  if r.headers["x-runbook-twin-config"] == "staging").split(";")[0]
    again = [look.get(LIVE, "/", headers={"Cookie": cookie}) for _ in range(10)]
    assert {r.headers["x-runbook-twin-config"] for r in again} == {"staging"}
    # at CloudFront's peak times every request goes to the primary
    twin.router.all_to_primary = True
    assert {look.get(LIVE, "/").headers["x-runbook-twin-config"] for _ in range(20)} == {
        "primary"}


def test_promotion_copies_the_staging_config_and_disables_the_policy(twin, look):
    cf = look.client("cloudfront")
    staging, domain = _stage(cf)
    _grant(look, "tis-trainee-ui-prod-new", ["E1PRODEXAMPLE", staging])
    policy_id, _ = _policy(cf, domain, _header_traffic())
    _attach(cf, "E1PRODEXAMPLE", policy_id)
    assert wait_for(lambda: _deployed(cf, "E1PRODEXAMPLE") and _deployed(cf, staging))
    with pytest.raises(ClientError, match="PreconditionFailed"):
        cf.update_distribution_with_staging_config(Id="E1PRODEXAMPLE",
                                                   StagingDistributionId=staging,
                                                   IfMatch="stale, stale")
    etags = [cf.get_distribution(Id=d)["ETag"] for d in ("E1PRODEXAMPLE", staging)]
    promoted = cf.update_distribution_with_staging_config(
        Id="E1PRODEXAMPLE", StagingDistributionId=staging, IfMatch=", ".join(etags))
    dist = promoted["Distribution"]
    assert dist["Status"] == "InProgress"  # an update of the primary: deployment time
    config = dist["DistributionConfig"]
    assert config["Aliases"]["Items"] == [LIVE]
    assert config["ContinuousDeploymentPolicyId"] == policy_id
    assert config["Origins"]["Items"][0]["OriginPath"] == "/v1.42.0"
    assert config["Staging"] is False
    policy = cf.get_continuous_deployment_policy(Id=policy_id)["ContinuousDeploymentPolicy"]
    assert policy["ContinuousDeploymentPolicyConfig"]["Enabled"] is False
    assert wait_for(lambda: _deployed(cf, "E1PRODEXAMPLE"))
    assert "live v1.42.0" in look.get(LIVE, "/").text

    # clean-up: a policy attached cannot be deleted; detached, it can; then the staging
    with pytest.raises(ClientError, match="ContinuousDeploymentPolicyInUse"):
        cf.delete_continuous_deployment_policy(
            Id=policy_id, IfMatch=cf.get_continuous_deployment_policy(Id=policy_id)["ETag"])
    with pytest.raises(ClientError, match="StagingDistributionInUse"):
        cf.delete_distribution(Id=staging, IfMatch=cf.get_distribution(Id=staging)["ETag"])
    _attach(cf, "E1PRODEXAMPLE", None)
    cf.delete_continuous_deployment_policy(
        Id=policy_id, IfMatch=cf.get_continuous_deployment_policy(Id=policy_id)["ETag"])
    cf.delete_distribution(Id=staging, IfMatch=cf.get_distribution(Id=staging)["ETag"])
    assert cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"][
        "Quantity"] == 0


def _refused(call: Any, code: str, words: str) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code
    assert words in caught.value.response["Error"]["Message"]


def test_the_twin_refuses_what_aws_refuses(twin, look):
    cf = look.client("cloudfront")
    staging, domain = _stage(cf)
    etag = cf.get_distribution(Id="E1PRODEXAMPLE")["ETag"]
    _refused(lambda: cf.copy_distribution(PrimaryDistributionId="E1PRODEXAMPLE", Staging=True,
                                          IfMatch=etag, CallerReference="second"),
             "InvalidArgument", "one staging distribution per primary")

    def policy(traffic: dict[str, Any]) -> Any:
        return lambda: _policy(cf, domain, traffic)
    weight = {"Type": "SingleWeight", "SingleWeightConfig": {"Weight": 0.2}}
    _refused(policy(weight), "InvalidArgument", "between 0 and 0.15")
    _refused(policy(_header_traffic() | {"SingleHeaderConfig": {"Header": "x-canary",
                                                                "Value": "1"}}),
             "InvalidArgument", "starts with aws-cf-cd-")
    sticky = {"Type": "SingleWeight", "SingleWeightConfig": {
        "Weight": 0.05, "SessionStickinessConfig": {"IdleTTL": 60, "MaximumTTL": 600}}}
    _refused(policy(sticky), "InvalidArgument", "300-3600 seconds")
    _policy(cf, domain, _header_traffic())
    _refused(policy(_header_traffic()), "StagingDistributionInUse", "already named")

    # a staging distribution takes no aliases
    got = cf.get_distribution_config(Id=staging)
    config = got["DistributionConfig"]
    config["Aliases"] = {"Quantity": 1, "Items": ["canary.trainee.tis.nhs.uk"]}
    _refused(lambda: cf.update_distribution(Id=staging, IfMatch=got["ETag"],
                                            DistributionConfig=config),
             "InvalidArgument", "cannot have alternate domain names")

    # no continuous deployment with HTTP/3
    got = cf.get_distribution_config(Id="E2STAGEEXAMPLE")
    config = got["DistributionConfig"]
    config["HttpVersion"] = "http2and3"
    cf.update_distribution(Id="E2STAGEEXAMPLE", IfMatch=got["ETag"], DistributionConfig=config)
    etag = cf.get_distribution(Id="E2STAGEEXAMPLE")["ETag"]
    _refused(lambda: cf.copy_distribution(PrimaryDistributionId="E2STAGEEXAMPLE",
                                          Staging=True, IfMatch=etag, CallerReference="h3"),
             "InvalidArgument", "HTTP/3")


def test_at_most_twenty_policies_and_twenty_staging_distributions(twin, look):
    cf = look.client("cloudfront")
    made = []
    for n in range(20):
        created = cf.create_distribution(DistributionConfig=_bare_config(f"p{n}"))
        primary = created["Distribution"]["Id"]
        copied = cf.copy_distribution(PrimaryDistributionId=primary, Staging=True,
                                      IfMatch=created["ETag"], CallerReference=f"s{n}")
        made.append(copied["Distribution"]["DomainName"])
    extra = cf.create_distribution(DistributionConfig=_bare_config("p20"))
    _refused(lambda: cf.copy_distribution(PrimaryDistributionId=extra["Distribution"]["Id"],
                                          Staging=True, IfMatch=extra["ETag"],
                                          CallerReference="s20"),
             "TooManyDistributions", "20 staging distributions")
    for domain in made:
        _policy(cf, domain, _header_traffic())
    _refused(lambda: _policy(cf, made[0], _header_traffic()),
             "TooManyContinuousDeploymentPolicies", "20 continuous deployment policies")


def _bare_config(ref: str) -> dict[str, Any]:
    return {"CallerReference": ref, "Comment": ref, "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{
                "Id": "o", "DomainName": "tis-trainee-ui-prod.s3.eu-west-2.amazonaws.com",
                "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o",
                                     "ViewerProtocolPolicy": "redirect-to-https",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
