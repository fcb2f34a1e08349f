"""Builders for the AWS world a test needs: buckets with objects, distributions reading
them, hosted zones, certificates; and readers of the state a test compares.

The world is one AWS could hold, whatever moto lets through (docs/moto-gaps.md): a
bucket is BucketOwnerEnforced, a distribution reading a bucket signs its requests with
an origin access control, and one with aliases carries an ACM certificate (us-east-1)
that covers them. A test about the other case asks for it by name (``ownership=``,
``access="oai"`` or ``"none"``, an explicit ``cert=``). Every test of the AWS kinds, and
of the sandbox when it seeds moto by hand, builds its world here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from functools import cache
from typing import Any, Literal

from runbook.context import RunContext

_refs = itertools.count()

Access = Literal["oac", "oai", "none"]
# an origin access identity, as a distribution's S3OriginConfig names it (moto has no
# OAI API, and CloudFront only checks the id exists)
OAI_ID = "E2TESTOAI0001"


@cache
def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def self_signed(names: list[str], days: int) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


class World:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.s3 = ctx.client("s3")
        self.cf = ctx.client("cloudfront")
        self.r53 = ctx.client("route53")

    # --- S3 ---------------------------------------------------------------------------

    def bucket(self, name: str, objects: dict[str, str] | None = None,
               ownership: str | None = "BucketOwnerEnforced") -> str:
        kw: dict[str, Any] = {"Bucket": name}
        if ownership:
            kw["ObjectOwnership"] = ownership
        self.s3.create_bucket(**kw)
        for key, body in (objects or {}).items():
            self.s3.put_object(Bucket=name, Key=key, Body=body.encode())
        return name

    def keys(self, bucket: str) -> dict[str, str]:
        got = self.s3.list_objects_v2(Bucket=bucket)
        return {o["Key"]: o["ETag"] for o in got.get("Contents", [])}

    def policy(self, bucket: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.s3.get_bucket_policy(Bucket=bucket)["Policy"]))
        except self.s3.exceptions.ClientError:
            return None

    def website(self, bucket: str) -> dict[str, Any] | None:
        try:
            got = self.s3.get_bucket_website(Bucket=bucket)
        except self.s3.exceptions.ClientError:
            return None
        got.pop("ResponseMetadata", None)
        return dict(got)

    def buckets(self) -> list[str]:
        return sorted(b["Name"] for b in self.s3.list_buckets().get("Buckets", []))

    # --- CloudFront -------------------------------------------------------------------

    def distribution(self, bucket: str = "site-blue", path: str = "/v1",
                     aliases: list[str] | None = None, cert: str | None = None,
                     root: str = "index.html", access: Access = "oac") -> dict[str, Any]:
        """A distribution reading ``bucket``'s REST endpoint. ``access``: how it signs its
        requests to the bucket ("oac": an origin access control, as AWS advises; "oai":
        the legacy identity; "none": unsigned, which only a public bucket answers).
        Aliases get a certificate covering them unless ``cert`` is given."""
        aliases = aliases or []
        if aliases and cert is None:
            cert = self.cert(aliases)
        origin: dict[str, Any] = {
            "Id": "site", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "OriginPath": path,
            "S3OriginConfig": {"OriginAccessIdentity": (
                f"origin-access-identity/cloudfront/{OAI_ID}" if access == "oai" else "")}}
        # AWS reads back an empty id for an origin without one; send it as it reads back
        origin["OriginAccessControlId"] = self.oac() if access == "oac" else ""
        config: dict[str, Any] = {
            "CallerReference": f"test-{next(_refs)}",
            "Aliases": {"Quantity": len(aliases), "Items": aliases},
            "DefaultRootObject": root,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {"TargetOriginId": "site",
                                     "ViewerProtocolPolicy": "redirect-to-https",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
            "Comment": "test", "Enabled": True}
        if cert:
            config["ViewerCertificate"] = {"ACMCertificateArn": cert,
                                           "SSLSupportMethod": "sni-only",
                                           "MinimumProtocolVersion": "TLSv1.2_2021"}
        made = self.cf.create_distribution(DistributionConfig=config)["Distribution"]
        return {"Id": made["Id"], "ARN": made["ARN"], "DomainName": made["DomainName"]}

    def oac(self, name: str = "site") -> str:
        """The id of the S3 origin access control ``name`` (made on first use)."""
        listed = self.cf.list_origin_access_controls().get("OriginAccessControlList", {})
        for item in listed.get("Items") or []:
            if item["Name"] == name:
                return str(item["Id"])
        made = self.cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": name, "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})
        return str(made["OriginAccessControl"]["Id"])

    def config(self, dist_id: str) -> dict[str, Any]:
        return dict(self.cf.get_distribution_config(Id=dist_id)["DistributionConfig"])

    # --- Route53 and ACM --------------------------------------------------------------

    def zone(self, name: str = "example.com") -> str:
        got = self.r53.create_hosted_zone(Name=name, CallerReference=f"z-{next(_refs)}")
        return str(got["HostedZone"]["Id"]).rsplit("/", 1)[-1]

    def records(self, zone_id: str) -> list[dict[str, Any]]:
        got = self.r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return sorted((r for r in got if r["Type"] not in ("NS", "SOA")),
                      key=lambda r: (r["Name"], r["Type"]))

    def put_record(self, zone_id: str, name: str, rtype: str, values: list[str],
                   ttl: int = 300) -> None:
        self.r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {
                "Name": name, "Type": rtype, "TTL": ttl,
                "ResourceRecords": [{"Value": v} for v in values]}}]})

    def cert(self, names: list[str], region: str = "us-east-1", days: int = 90) -> str:
        body, key = self_signed(names, days)
        acm = self.ctx.client("acm", region=region)
        return str(acm.import_certificate(Certificate=body, PrivateKey=key)["CertificateArn"])
