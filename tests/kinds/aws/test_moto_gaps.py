"""Where moto does not behave like AWS, pinned, one test per gap of docs/moto-gaps.md.

When a moto upgrade closes a gap its test here fails: update docs/moto-gaps.md, and let
the kind's own tests use moto for that path instead of the Stubber.
"""

from __future__ import annotations

import json

from runbook.context import RunContext

from .world import World

GAPS = "docs/moto-gaps.md"


def _update(ctx: RunContext, dist_id: str, etag: str, **change: object) -> dict[str, object]:
    cf = ctx.client("cloudfront")
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    return dict(cf.update_distribution(Id=dist_id, IfMatch=etag,
                                       DistributionConfig={**config, **change}))


def test_if_match_value_is_ignored(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    _update(ctx, d["Id"], "NOT-THE-ETAG", Comment="x")  # AWS: PreconditionFailed
    assert world.config(d["Id"])["Comment"] == "x", GAPS


def test_etag_does_not_change_on_update(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    before = ctx.client("cloudfront").get_distribution_config(Id=d["Id"])["ETag"]
    after = _update(ctx, d["Id"], before, Comment="x")["ETag"]
    assert after == before, GAPS


def test_cname_already_exists_is_never_raised(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    world.distribution("site-blue", aliases=["trainee.tis.nhs.uk"])
    other = world.distribution("site-blue")
    etag = ctx.client("cloudfront").get_distribution_config(Id=other["Id"])["ETag"]
    _update(ctx, other["Id"], etag, Aliases={"Quantity": 1, "Items": ["trainee.tis.nhs.uk"]})


def test_origin_access_settings_are_dropped_on_read(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    cf = ctx.client("cloudfront")
    oac = cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": "site", "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    d = world.distribution("site-blue")
    etag = cf.get_distribution_config(Id=d["Id"])["ETag"]
    origin = world.config(d["Id"])["Origins"]["Items"][0]
    origin = {**origin, "OriginAccessControlId": oac,
              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    _update(ctx, d["Id"], etag, Origins={"Quantity": 1, "Items": [origin]})
    read = world.config(d["Id"])["Origins"]["Items"][0]
    assert "OriginAccessControlId" not in read and "S3OriginConfig" not in read, GAPS


def test_distributions_are_deployed_at_once(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    status = ctx.client("cloudfront").get_distribution(Id=d["Id"])["Distribution"]["Status"]
    assert status == "Deployed", GAPS


def test_invalidations_complete_at_once_and_caller_reference_is_not_idempotent(
        ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    cf = ctx.client("cloudfront")
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "same"}
    one = cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch=batch)["Invalidation"]
    two = cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch=batch)["Invalidation"]
    assert one["Status"] == "COMPLETED" and one["Id"] != two["Id"], GAPS


def test_route53_changes_are_insync_at_once(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    r53 = ctx.client("route53")
    got = r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": "a.example.com", "Type": "A",
                                                   "TTL": 60,
                                                   "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    assert got["ChangeInfo"]["Status"] == "INSYNC", GAPS


def test_route53_delete_of_an_alias_need_not_match_it(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    r53 = ctx.client("route53")

    def change(action: str, target: str) -> None:
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": action, "ResourceRecordSet": {
                "Name": "a.example.com", "Type": "A", "AliasTarget": {
                    "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": target,
                    "EvaluateTargetHealth": False}}}]})

    change("UPSERT", "d111.cloudfront.net")
    change("DELETE", "d999.cloudfront.net")  # AWS: InvalidChangeBatch, values do not match
    assert world.records(zone) == [], GAPS


def test_route53_alias_names_keep_no_trailing_dot(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    ctx.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "a.example.com", "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111.cloudfront.net",
                "EvaluateTargetHealth": False}}}]})
    assert world.records(zone)[0]["AliasTarget"]["DNSName"] == "d111.cloudfront.net", GAPS


def test_s3_accepts_public_policies_behind_a_public_access_block(
        ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    world.s3.put_public_access_block(Bucket="site-blue", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    public = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::site-blue/*"}]}
    world.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps(public))  # AWS: 403
    assert world.policy("site-blue") == public, GAPS


def test_s3_does_not_validate_policy_principals(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site-blue/*",
        "Principal": {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "
                             "NO-SUCH-OAI"}}]}
    world.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps(policy))  # AWS: 400
    assert world.policy("site-blue") == policy, GAPS


def test_list_conflicting_aliases_is_not_implemented(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue", aliases=["a.example.com"])
    try:
        ctx.client("cloudfront").list_conflicting_aliases(DistributionId=d["Id"],
                                                          Alias="a.example.com")
    except ctx.client("cloudfront").exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "404", GAPS
    else:
        raise AssertionError(f"moto implements ListConflictingAliases now: update {GAPS}")


def test_requested_certificates_wait_a_minute_not_for_validation(ctx: RunContext) -> None:
    acm = ctx.client("acm")
    arn = acm.request_certificate(DomainName="new.example.com",
                                  ValidationMethod="DNS")["CertificateArn"]
    got = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert got["Status"] == "PENDING_VALIDATION", GAPS  # ISSUED after 60 s, records or not
