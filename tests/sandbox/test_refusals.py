"""What moto accepts and AWS refuses, refused by the twin as AWS does; and what the edge
serves as CloudFront would (wildcard aliases, origin access control)."""

from __future__ import annotations

import re
import sys

import botocore.exceptions
import pytest

from tests.sandbox.conftest import wait_for, write_plan

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
certificates:
  - {ref: site, domains: [example.org, "*.example.org"]}
  - {ref: old, domains: [www.example.org], days: -3}
buckets:
  - name: site
    objects: {index.html: "<title>Site</title> the site"}
    grant: [E1SITE]
  - name: rest
    objects: {index.html: "every other name"}
    grant: [E2REST]
  - name: legacy
    objects: {index.html: "read through an identity"}
    grant_oai: [E3IDENTITY]
distributions:
  - id: E1SITE
    aliases: [www.example.org]
    origin: {bucket: site}
    certificate: site
  - id: E2REST
    aliases: ["*.example.org"]
    origin: {bucket: rest}
    certificate: site
  - id: E3LEGACY
    origin: {bucket: legacy}
    oai: E3IDENTITY
  - id: E4UNSIGNED
    origin: {bucket: site}
    oac: false
zones:
  - name: example.org
    records:
      - {name: www.example.org, type: A, alias: E1SITE}
      - {name: shop.example.org, type: CNAME, values: [shops.example.net]}
"""


def client(look, service):
    return look.client(service)


def zone_id(r53) -> str:
    return str(r53.list_hosted_zones()["HostedZones"][0]["Id"])


def refused(call, code: str) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == code
    return str(err.value.response["Error"]["Message"])


def test_route53_refuses_what_route53_refuses(small_twin):
    _twin, look = small_twin(WORLD)
    r53 = look.client("route53")
    zone = zone_id(r53)

    def change(action, rrset):
        return r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
            "Changes": [{"Action": action, "ResourceRecordSet": rrset}]})

    a_at_cname = refused(lambda: change("UPSERT", {
        "Name": "shop.example.org", "Type": "A", "TTL": 60,
        "ResourceRecords": [{"Value": "192.0.2.1"}]}), "InvalidChangeBatch")
    assert "conflicting RRSet of type CNAME" in a_at_cname
    cname_at_a = refused(lambda: change("CREATE", {
        "Name": "www.example.org", "Type": "CNAME", "TTL": 60,
        "ResourceRecords": [{"Value": "elsewhere.example.net"}]}), "InvalidChangeBatch")
    assert "conflicting RRSet of type A" in cname_at_a
    domain = look.client("cloudfront").get_distribution(Id="E2REST")["Distribution"][
        "DomainName"]
    health = refused(lambda: change("UPSERT", {
        "Name": "api.example.org", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": domain,
            "EvaluateTargetHealth": True}}), "InvalidChangeBatch")
    assert "EvaluateTargetHealth" in health
    stale = refused(lambda: change("DELETE", {
        "Name": "shop.example.org", "Type": "CNAME", "TTL": 300,
        "ResourceRecords": [{"Value": "not-the-live-value.example.net"}]}),
        "InvalidChangeBatch")
    assert "do not match the current values" in stale
    # nothing was applied: the CNAME is as it was
    names = {(r["Name"], r["Type"]) for r in r53.list_resource_record_sets(
        HostedZoneId=zone)["ResourceRecordSets"]}
    assert ("shop.example.org.", "CNAME") in names and ("api.example.org.", "A") not in names
    # the same change written right: PENDING, then INSYNC
    ok = change("DELETE", {"Name": "shop.example.org", "Type": "CNAME", "TTL": 300,
                           "ResourceRecords": [{"Value": "shops.example.net"}]})["ChangeInfo"]
    assert ok["Status"] == "PENDING"
    assert wait_for(lambda: r53.get_change(Id=ok["Id"])["ChangeInfo"]["Status"] == "INSYNC")


ALIAS_AT_CNAME = """\
runbook: 1
name: shop
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
FIRST
      - id: alias
        action:
          route53.record: {zone: example.org, name: shop.example.org, type: A,
                           alias: {distribution: E2REST}}
"""
DROP_CNAME = """\
      - id: drop-cname
        action:
          route53.record: {zone: example.org, name: shop.example.org, type: CNAME,
                           absent: true}
"""


def test_a_plan_putting_an_alias_next_to_a_cname_is_refused(cli, tmp_path, small_twin):
    _twin, look = small_twin(WORLD)
    plan = write_plan(tmp_path, ALIAS_AT_CNAME.replace("FIRST\n", ""))
    r = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    assert r.code == 1, r.stdout + r.stderr
    # route53.record reads the name's record sets first and stops before Route53 would
    # refuse (the twin refuses it too: test_route53_refuses_what_route53_refuses)
    assert "Route53 refuses a A record beside a CNAME" in r.stdout + r.stderr
    r53 = look.client("route53")
    types = {r["Type"] for r in r53.list_resource_record_sets(HostedZoneId=zone_id(r53))[
        "ResourceRecordSets"] if r["Name"] == "shop.example.org."}
    assert types == {"CNAME"}  # nothing changed
    fixed = write_plan(tmp_path, ALIAS_AT_CNAME.replace("FIRST\n", DROP_CNAME))
    ok = cli("run", fixed, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    assert ok.code == 0, ok.stdout + ok.stderr
    assert look.a("shop.example.org") == ["127.0.0.1"]


def test_certificates_expired_or_not_issued_are_refused(small_twin):
    _twin, look = small_twin(WORLD)
    cf, acm = look.client("cloudfront"), look.client("acm")
    arns = {c["DomainName"]: c["CertificateArn"]
            for c in acm.list_certificates()["CertificateSummaryList"]}
    got = cf.get_distribution_config(Id="E1SITE")
    cfg = got["DistributionConfig"]
    cfg["ViewerCertificate"]["ACMCertificateArn"] = arns["www.example.org"]  # expired
    expired = refused(lambda: cf.update_distribution(Id="E1SITE", IfMatch=got["ETag"],
                                                     DistributionConfig=cfg),
                      "InvalidViewerCertificate")
    assert "expired" in expired
    pending = acm.request_certificate(DomainName="www.example.org",
                                      ValidationMethod="DNS")["CertificateArn"]
    cfg["ViewerCertificate"]["ACMCertificateArn"] = pending
    not_issued = refused(lambda: cf.update_distribution(Id="E1SITE", IfMatch=got["ETag"],
                                                        DistributionConfig=cfg),
                         "InvalidViewerCertificate")
    assert "PENDING_VALIDATION" in not_issued


def test_the_most_specific_alias_wins_across_distributions(small_twin):
    _twin, look = small_twin(WORLD)
    assert "the site" in look.get("www.example.org").text       # exact alias: E1SITE
    assert "every other name" in look.get("blog.example.org").text  # *.example.org: E2REST


def test_the_edge_signs_as_the_origin_is_set_up(small_twin):
    _twin, look = small_twin(WORLD)
    cf = look.client("cloudfront")
    origin = cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]["Origins"][
        "Items"][0]
    # the world's OAC is made first, as AWS needs it before a distribution names it
    oac = cf.get_origin_access_control(Id=origin["OriginAccessControlId"])
    assert oac["OriginAccessControl"]["OriginAccessControlConfig"]["SigningBehavior"] == \
        "always"
    domains = {d["Id"]: d["DomainName"] for d in
               cf.list_distributions()["DistributionList"]["Items"]}
    # granted to an identity, read through that identity: served
    assert look.get(domains["E3LEGACY"]).status_code == 200
    # the bucket grants E1SITE by OAC; E4UNSIGNED reads it without one: AccessDenied
    # (grant E4UNSIGNED the same way and it is still refused: it does not sign)
    s3 = look.client("s3", "eu-west-2")
    import json

    policy = json.loads(s3.get_bucket_policy(Bucket="site")["Policy"])
    grant = dict(policy["Statement"][0])
    grant["Condition"] = {"StringEquals": {
        "AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E4UNSIGNED"}}
    grant["Sid"] = "E4"
    policy["Statement"].append(grant)
    s3.put_bucket_policy(Bucket="site", Policy=json.dumps(policy))
    denied = look.get(domains["E4UNSIGNED"])
    assert denied.status_code == 403 and "AccessDenied" in denied.text
    # and an OAC distribution pointed at the identity-only bucket is refused too
    got = cf.get_distribution_config(Id="E2REST")
    cfg = got["DistributionConfig"]
    cfg["Origins"]["Items"][0]["DomainName"] = "legacy.s3.eu-west-2.amazonaws.com"
    cf.update_distribution(Id="E2REST", IfMatch=got["ETag"], DistributionConfig=cfg)
    assert wait_for(lambda: cf.get_distribution(Id="E2REST")["Distribution"]["Status"] ==
                    "Deployed")
    assert look.get("new.example.org").status_code == 403


LIST_IDS = ("import boto3; cf = boto3.client('cloudfront'); "
            "print(sorted(d['Id'] for d in cf.list_distributions()['DistributionList']"
            "['Items']))")
SHELL = f"""\
runbook: 1
name: script
environments:
  sandbox: {{sandbox: world.yaml}}
stages:
  - name: s
    checks:
      - shell:
          run: ["{sys.executable}", "-c", "{LIST_IDS}"]
          contains: E1SITE
"""


def test_scripts_of_a_sandbox_environment_reach_the_twin(cli, tmp_path, small_twin):
    small_twin(WORLD)
    r = cli("run", write_plan(tmp_path, SHELL), "--env", "sandbox", "--yes", "--state-dir",
            str(tmp_path / "s"))
    assert r.code == 0, r.stdout + r.stderr


PROOF_THEN_FAIL = """\
runbook: 1
name: proof
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
      - id: proof
        action:
          route53.record: {zone: example.org, name: _docs.example.org, type: TXT,
                           values: ['"d111111abcdef8.cloudfront.net"']}
        post:
          - route53.record: {zone: example.org, name: _docs.example.org, type: TXT,
                             values: ['"not what was written"']}
        rollback: auto
"""


def test_a_record_deleted_by_a_rollback_can_be_created_again(cli, tmp_path, small_twin):
    # moto refuses a CREATE it once journaled; Route53 looks at the zone only
    _twin, look = small_twin(WORLD)
    plan = write_plan(tmp_path, PROOF_THEN_FAIL)
    ids = []
    for _ in range(2):
        r = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir",
                str(tmp_path / "state"))
        out = r.stdout + r.stderr
        assert r.code == 1, out
        assert "already exists" not in out
        assert "step proof rolled back and verified" in out
        ids += re.findall(r"waiting for change (C[A-Z0-9]+)", out)
    r53 = look.client("route53")
    names = [x["Name"] for x in r53.list_resource_record_sets(
        HostedZoneId=zone_id(r53))["ResourceRecordSets"]]
    assert "_docs.example.org." not in names
    assert len(ids) == 4 and len(set(ids)) == 4, ids  # every change its own id, as Route53


def test_an_origin_access_control_that_does_not_exist_is_refused(small_twin):
    """moto takes any OriginAccessControlId; CloudFront refuses one it does not hold."""
    _twin, look = small_twin(WORLD)
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E1SITE")
    config = got["DistributionConfig"]
    config["Origins"]["Items"][0]["OriginAccessControlId"] = "E2NOSUCHOAC"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id="E1SITE", IfMatch=got["ETag"], DistributionConfig=config)
    assert err.value.response["Error"]["Code"] == "InvalidOriginAccessControl"
    assert "E2NOSUCHOAC" in str(err.value)
    after = cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]
    assert after["Origins"]["Items"][0]["OriginAccessControlId"] != "E2NOSUCHOAC"


def test_a_client_that_hangs_up_leaves_no_traceback_on_the_console(small_twin, capfd):
    """A run interrupted mid-call resets its connection to the proxy: `sandbox serve`'s
    console stays clean (the newcomer saw a ConnectionResetError traceback)."""
    import socket
    import struct
    from urllib.parse import urlsplit

    twin, look = small_twin(WORLD)
    capfd.readouterr()
    url = urlsplit(twin.proxy.url)
    for _ in range(3):
        s = socket.create_connection((url.hostname, url.port))
        s.sendall(b"PUT /bucket/key HTTP/1.1\r\nHost: s3.amazonaws.com\r\n"
                  b"Content-Length: 100000\r\n\r\npartial")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # a reset, not a polite close
    assert look.client("s3").list_buckets()["Buckets"]  # the proxy still answers
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err, err
