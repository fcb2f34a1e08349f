"""Which of moto's gaps (docs/moto-gaps.md) are still open in the moto installed here.

    python -m tests.motogaps

starts a moto server on loopback, probes each gap against bare moto (not the twin) and
prints one line per gap: ``open`` (moto still differs from AWS as the page says),
``closed`` (moto now does what AWS does: update the page, and let the kinds' tests use
moto for that path), or ``unknown`` (the probe itself failed; its error is shown). It is
a report, never a verdict: it exits 0 whatever it finds, so a moto release that closes
a gap breaks nothing. The suite's own tests of AWS's behaviour run through the twin,
which answers as AWS does whether moto has the gap or not
(tests/kinds/aws/test_moto_gaps.py).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from runbook.context import AwsSettings, RunContext

from .kinds.aws.world import World

# A probe answers True when moto still has the gap, False when it behaves as AWS does;
# what it saw goes into the line.
Probe = Callable[[World], tuple[bool, str]]
PROBES: dict[str, tuple[str, Probe]] = {}


def probe(number: str, title: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        PROBES[number] = (title, fn)
        return fn
    return register


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(exc).__name__)


def _update(w: World, dist_id: str, etag: str, **change: Any) -> dict[str, Any]:
    config = w.config(dist_id)
    return dict(w.cf.update_distribution(Id=dist_id, IfMatch=etag,
                                         DistributionConfig={**config, **change}))


def _etag(w: World, dist_id: str) -> str:
    return str(w.cf.get_distribution_config(Id=dist_id)["ETag"])


@probe("1", "a stale If-Match on UpdateDistribution is accepted")
def _stale_if_match(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    try:
        _update(w, d["Id"], "NOT-THE-ETAG", Comment="x")
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "accepted"


@probe("2", "a distribution's ETag does not change on update")
def _etag_kept(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    before = _etag(w, d["Id"])
    after = _update(w, d["Id"], before, Comment="x")["ETag"]
    return after == before, f"before {before}, after {after}"


@probe("3", "CNAMEAlreadyExists is never raised")
def _cname_shared(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    cert = w.cert(["a.example.com"])
    w.distribution("site-blue", aliases=["a.example.com"], cert=cert)
    other = w.distribution("site-blue", cert=cert)
    try:
        _update(w, other["Id"], _etag(w, other["Id"]),
                Aliases={"Quantity": 1, "Items": ["a.example.com"]})
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "two distributions share a.example.com"


@probe("4", "an origin's OriginAccessControlId and OAI are dropped when read back")
def _origin_access(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    oac = w.distribution("site-blue", access="oac")
    oai = w.distribution("site-blue", access="oai")
    got_oac = w.config(oac["Id"])["Origins"]["Items"][0].get("OriginAccessControlId")
    got_oai = ((w.config(oai["Id"])["Origins"]["Items"][0].get("S3OriginConfig") or {})
               .get("OriginAccessIdentity"))
    return (not got_oac or not got_oai,
            f"OriginAccessControlId read back {got_oac!r}, OriginAccessIdentity {got_oai!r}")


@probe("5", "every distribution is Deployed at once")
def _deployed(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    status = w.cf.get_distribution(Id=d["Id"])["Distribution"]["Status"]
    return status == "Deployed", f"status right after creation: {status}"


@probe("6", "invalidations complete at once; the same CallerReference makes a new one")
def _invalidations(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "same"}
    one = w.cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch=batch)
    two = w.cf.create_invalidation(DistributionId=d["Id"], InvalidationBatch=batch)
    status = one["Invalidation"]["Status"]
    new = one["Invalidation"]["Id"] != two["Invalidation"]["Id"]
    at_once = status.lower() == "completed"
    return at_once or new, (f"status right after creation: {status}; the same reference "
                            f"{'made a second' if new else 'returned the first'} invalidation")


@probe("7", "Route53 changes are INSYNC at once")
def _insync(w: World) -> tuple[bool, str]:
    zone = w.zone("example.com")
    got = w.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "a.example.com", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    status = got["ChangeInfo"]["Status"]
    return status == "INSYNC", f"status right after the change: {status}"


def _alias(w: World, zone: str, action: str, target: str) -> None:
    w.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": action, "ResourceRecordSet": {
            "Name": "a.example.com", "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": target,
                "EvaluateTargetHealth": False}}}]})


@probe("8", "a DELETE of an alias record need not match it")
def _loose_delete(w: World) -> tuple[bool, str]:
    zone = w.zone("example.com")
    _alias(w, zone, "UPSERT", "d111.cloudfront.net")
    try:
        _alias(w, zone, "DELETE", "d999.cloudfront.net")
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "deleted although the target differs"


@probe("9", "alias target names keep no trailing dot")
def _trailing_dot(w: World) -> tuple[bool, str]:
    zone = w.zone("example.com")
    _alias(w, zone, "UPSERT", "d111.cloudfront.net")
    name = w.records(zone)[0]["AliasTarget"]["DNSName"]
    return not name.endswith("."), f"read back {name!r}"


PUBLIC = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site-blue/*"}]}


@probe("10", "a public policy is stored behind BlockPublicPolicy")
def _block_public_policy(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    w.s3.put_public_access_block(Bucket="site-blue", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    try:
        w.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps(PUBLIC))
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "stored"


@probe("11", "any principal is accepted in a bucket policy")
def _principals(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site-blue/*",
        "Principal": {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "
                             "NO-SUCH-OAI"}}]}
    try:
        w.s3.put_bucket_policy(Bucket="site-blue", Policy=json.dumps(policy))
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "stored"


@probe("12", "ListConflictingAliases is not implemented")
def _conflicting(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue", aliases=["a.example.com"])
    try:
        w.cf.list_conflicting_aliases(DistributionId=d["Id"], Alias="a.example.com")
    except Exception as exc:
        return True, f"error {_code(exc)}"
    return False, "answered"


@probe("13", "a requested certificate is issued after 60 s, validated or not")
def _acm(w: World) -> tuple[bool, str]:
    acm = w.ctx.client("acm")
    arn = acm.request_certificate(DomainName="new.example.com",
                                  ValidationMethod="DNS")["CertificateArn"]
    status = acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
    # the 60 s are not waited for: PENDING_VALIDATION at first is what both do
    return status == "PENDING_VALIDATION", (f"status right after the request: {status} "
                                            "(the issue after 60 s is not probed)")


@probe("14", "a DistributionConfig is not validated")
def _config_validation(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    config = w.config(d["Id"])
    behaviour = {**config["DefaultCacheBehavior"], "ForwardedValues": {
        "QueryString": False, "Cookies": {"Forward": "none"}}}
    try:
        _update(w, d["Id"], _etag(w, d["Id"]), DefaultCacheBehavior=behaviour)
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "accepted ForwardedValues beside CachePolicyId"


@probe("16", "no UpdateFunction, PublishFunction or KeyValueStore data plane")
def _functions(w: World) -> tuple[bool, str]:
    code = b"function handler(event) { return event.request; }"
    made = w.cf.create_function(Name="f", FunctionCode=code, FunctionConfig={
        "Comment": "", "Runtime": "cloudfront-js-2.0"})
    try:
        w.cf.publish_function(Name="f", IfMatch=made["ETag"])
    except Exception as exc:
        return True, f"PublishFunction: {_code(exc)}"
    return False, "PublishFunction answered"


@probe("17", "a Route53 CREATE of a record set that exists, or a record beside a CNAME, "
              "is accepted")
def _create_twice(w: World) -> tuple[bool, str]:
    zone = w.zone("example.com")

    def change(action: str, name: str, rtype: str, value: str) -> str:
        try:
            w.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
                "Action": action, "ResourceRecordSet": {
                    "Name": name, "Type": rtype, "TTL": 60,
                    "ResourceRecords": [{"Value": value}]}}]})
        except Exception as exc:
            return f"refused ({_code(exc)})"
        return "accepted"

    change("CREATE", "a.example.com", "A", "192.0.2.1")
    twice = change("CREATE", "a.example.com", "A", "192.0.2.1")
    change("CREATE", "c.example.com", "CNAME", "elsewhere.example.org")
    beside = change("CREATE", "c.example.com", "TXT", '"x"')
    return ("accepted" in (twice, beside),
            f"a second CREATE {twice}; a TXT beside a CNAME {beside}")


@probe("18", "a bucket whose LocationConstraint is another region is created")
def _location(w: World) -> tuple[bool, str]:
    try:
        w.s3.create_bucket(Bucket="site-paris", CreateBucketConfiguration={
            "LocationConstraint": "eu-west-3"})
    except Exception as exc:
        return False, f"refused: {_code(exc)}"
    return True, "created through a us-east-1 client"


@probe("19", "a zone's SOA value is wrapped in {'Value': ...}")
def _soa(w: World) -> tuple[bool, str]:
    zone = w.zone("example.com")
    got = w.r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    soa = next(r for r in got if r["Type"] == "SOA")["ResourceRecords"][0]["Value"]
    return "Value" in soa, f"SOA value {soa[:60]!r}"


@probe("20", "s3control is sent to ACCOUNT.HOST, which loopback does not have")
def _s3control(w: World) -> tuple[bool, str]:
    try:
        w.ctx.client("s3control").get_public_access_block(AccountId="123456789012")
    except Exception as exc:
        code = _code(exc)
        return code != "NoSuchPublicAccessBlockConfiguration", f"error {code}"
    return False, "answered"


@probe("21", "AssociateAlias is not implemented")
def _associate(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    try:
        w.cf.associate_alias(TargetDistributionId=d["Id"], Alias="a.example.com")
    except Exception as exc:
        return True, f"error {_code(exc)}"
    return False, "answered"


@probe("22", "an origin naming an origin access control that does not exist is accepted")
def _unknown_oac(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    config = w.config(d["Id"])
    config["Origins"]["Items"][0]["OriginAccessControlId"] = "E2NOSUCHOAC"
    try:
        w.cf.update_distribution(Id=d["Id"], IfMatch=_etag(w, d["Id"]),
                                 DistributionConfig=config)
    except Exception as exc:
        return False, f"error {_code(exc)}"
    return True, "updated"


@probe("S2", "any request is accepted whatever its keys (no IAM)")
def _no_iam(w: World) -> tuple[bool, str]:
    w.bucket("site-blue")
    return True, "created a bucket with the keys 'testing'"


@probe("S3", "STS answers every caller with one fixed principal")
def _sts(w: World) -> tuple[bool, str]:
    arn = w.ctx.client("sts").get_caller_identity()["Arn"]
    return arn == "arn:aws:sts::123456789012:user/moto", f"GetCallerIdentity: {arn}"


@dataclass(frozen=True)
class Finding:
    gap: str
    title: str
    state: str  # "open", "closed" or "unknown"
    seen: str

    def line(self) -> str:
        return f"{self.gap:>3}  {self.state:<7}  {self.title}: {self.seen}"


def _settings(endpoint: str) -> AwsSettings:
    return AwsSettings(endpoint_url=endpoint, region="us-east-1", access_key_id="testing",
                       secret_access_key="testing", max_attempts=1)


def _reset(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10):
        pass


def findings(endpoint: str) -> Iterator[Finding]:
    """Each gap probed against the moto server at ``endpoint``, reset before each."""
    ctx = RunContext(aws=_settings(endpoint))
    for gap, (title, fn) in PROBES.items():
        _reset(endpoint)
        try:
            is_open, seen = fn(World(ctx))
        except Exception as exc:  # a probe that breaks says so; the report goes on
            yield Finding(gap, title, "unknown", f"the probe failed: {_code(exc)}: {exc}")
            continue
        yield Finding(gap, title, "open" if is_open else "closed", seen)
    _reset(endpoint)


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def main() -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    print(f"moto {version('moto')}, boto3 {version('boto3')}: gaps of docs/moto-gaps.md")
    with moto_server() as endpoint:
        found = list(findings(endpoint))
    for f in found:
        print(f.line())
    page = page_states()
    moved = [f"{f.gap} ({page[f.gap]} -> {f.state})" for f in found
             if f.state != "unknown" and f.gap in page and page[f.gap] != f.state]
    if moved:
        print(f"differs from docs/moto-gaps.md's last checked release: {', '.join(moved)}: "
              "update the page")
    else:
        print("as docs/moto-gaps.md says for its last checked release")
    return 0


def page_states() -> dict[str, str]:
    """Each gap's state in docs/moto-gaps.md for the newest release it was checked with
    (the last "open" or "closed" of its "moto A / B" column)."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "moto-gaps.md"
    out: dict[str, str] = {}
    for row in re.findall(r"^\| (S?\d+) \|(.*)$", doc.read_text(), flags=re.M):
        cells = row[1].split(" | ")
        states = re.findall(r"\b(open|closed)\b", cells[2]) if len(cells) > 2 else []
        if states:
            out[row[0]] = states[-1]
    return out


if __name__ == "__main__":
    sys.exit(main())
