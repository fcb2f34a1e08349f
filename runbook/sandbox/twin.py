"""The local twin: moto behind a proxy for the AWS API, a DNS server answering from the
twin's Route53 zones as they are now, and an edge serving its distributions.

    with Twin.start(load_world(path)) as twin:
        ctx = twin.wire(ctx)        # AWS, DNS, HTTP(S) and the CA all point at the twin

The engine only ever sees endpoints: nothing outside this package knows it is a twin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from runbook.context import AwsSettings, NetworkSettings, RunContext
from runbook.errors import RunbookError
from runbook.kinds.aws.policy import oac_statement
from runbook.sandbox.dnsserver import DNSServer, Record, Zone
from runbook.sandbox.edge import Edge, EdgeState
from runbook.sandbox.proxy import AwsProxy, Ids
from runbook.sandbox.world import World

CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
EDGE_IP = "127.0.0.1"
KEYS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
# The twin deploys in moments, not minutes: a poll waits at most this long between tries
# (deadlines such as `within: 25m` still count real time).
POLL_CAP = 0.5


def _short_sleep(seconds: float) -> None:
    time.sleep(min(seconds, POLL_CAP))


class SandboxError(RunbookError):
    exit_code = 2


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise SandboxError(
            f"the sandbox needs the Python package {exc.name!r}, which is not installed: "
            "pip install 'runbook-cutover[sandbox]' (or '.[dev]' in a checkout)") from exc


@dataclass
class Twin:
    world: World
    moto: Any
    moto_url: str
    proxy: AwsProxy
    dns: DNSServer
    edge: Edge
    ca_path: str
    ids: Ids
    timings: dict[str, float] = field(default_factory=dict)
    _tmp: Any = None

    # ---- start and stop --------------------------------------------------------------

    @classmethod
    def start(cls, world: World) -> Twin:
        t0 = time.perf_counter()
        trustme = _need("trustme")
        server_mod = _need("moto.server")
        import logging

        import boto3

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request
        moto = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        moto_url = f"http://{host}:{port}"
        # moto keeps its state in the process, not the server: start from an empty world.
        # (So one process runs one twin at a time.)
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset",
                                                      method="POST"), timeout=10).close()
        t_moto = time.perf_counter()

        def client(service: str, region: str | None = None) -> Any:
            return boto3.client(service, endpoint_url=moto_url,  # type: ignore[call-overload]
                                region_name=region or world.region, **KEYS)

        tmp = tempfile.TemporaryDirectory(prefix="runbook-sandbox-")
        ca = trustme.CA(organization_name="runbook sandbox CA")
        ca_path = str(Path(tmp.name) / "sandbox-ca.pem")
        ca.cert_pem.write_to_path(ca_path)
        default = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("*.cloudfront.net", "cloudfront.net").configure_cert(default)
        ids = Ids()
        state = EdgeState(s3=client("s3"), cloudfront=client("cloudfront", "us-east-1"),
                          account=world.account, to_world=lambda: ids.to_world,
                          default_context=default)
        cert_domains: dict[str, list[str]] = {}
        proxy = AwsProxy(moto_url, ids, client("cloudfront", "us-east-1"),
                         lambda arn: cert_domains.get(arn)).start()
        state.functions = proxy.functions  # the edge runs the functions the proxy holds
        zones = _ZoneSource(client("route53", "us-east-1"), state.cloudfront, client)
        dns_server = DNSServer(zones).start()
        edge = Edge(state).start()
        twin = cls(world, moto, moto_url, proxy, dns_server, edge, ca_path, ids, _tmp=tmp)
        try:
            _seed(world, client, ca, ids, state, cert_domains)
        except Exception:
            twin.stop()
            raise
        twin.timings = {"moto": t_moto - t0, "total": time.perf_counter() - t0}
        return twin

    def stop(self) -> None:
        # stopping what is half started must not hide why it stopped
        for part in (self.edge, self.dns, self.proxy, self.moto):
            with contextlib.suppress(Exception):
                part.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- wiring ----------------------------------------------------------------------

    @property
    def aws(self) -> AwsSettings:
        return AwsSettings(endpoint_url=self.proxy.url, region=self.world.region,
                           access_key_id=KEYS["aws_access_key_id"],
                           secret_access_key=KEYS["aws_secret_access_key"], max_attempts=2)

    @property
    def network(self) -> NetworkSettings:
        return NetworkSettings(resolvers=(self.dns.resolver,), resolve_via_dns=True,
                               port_map={443: self.edge.https.port, 80: self.edge.http.port},
                               ca_bundle=self.ca_path)

    def wire(self, ctx: RunContext) -> RunContext:
        """``ctx`` with AWS, DNS, HTTP(S) and trust pointed at this twin."""
        return replace(ctx, aws=self.aws, network=self.network, sleep=_short_sleep,
                       _session=None, _clients={}, _lock=threading.Lock())

    def instructions(self) -> str:
        dns_host, dns_port = self.dns.address
        return "\n".join([
            f"AWS API (moto, behind runbook's proxy): {self.proxy.url}",
            f"  export AWS_ENDPOINT_URL={self.proxy.url} AWS_ACCESS_KEY_ID=sandbox "
            f"AWS_SECRET_ACCESS_KEY=sandbox AWS_DEFAULT_REGION={self.world.region}",
            "  aws cloudfront list-distributions",
            f"DNS: dig @{dns_host} -p {dns_port} <name>",
            f"edge: https on {EDGE_IP}:{self.edge.https.port}, http on "
            f"{EDGE_IP}:{self.edge.http.port}",
            f"  curl --cacert {self.ca_path} --resolve <host>:{self.edge.https.port}:{EDGE_IP} "
            f"https://<host>:{self.edge.https.port}/",
        ])


# ---- seeding -----------------------------------------------------------------------------


def _seed(world: World, client: Any, ca: Any, ids: Ids, state: EdgeState,
          cert_domains: dict[str, list[str]]) -> None:
    arns: dict[str, str] = {}
    now = dt.datetime.now(dt.UTC)
    for cert in world.certificates:
        not_after = now + dt.timedelta(days=cert.days)
        leaf = ca.issue_cert(*cert.domains, not_before=min(now, not_after) - dt.timedelta(
            days=1), not_after=not_after)
        got = client("acm", cert.region).import_certificate(
            Certificate=leaf.cert_chain_pems[0].bytes(),
            PrivateKey=leaf.private_key_pem.bytes(), CertificateChain=ca.cert_pem.bytes())
        arn = got["CertificateArn"]
        arns[cert.ref] = arn
        if cert.arn:  # a captured certificate: plans name its real ARN
            ids.to_moto[cert.arn] = arn
        cert_domains[arn] = list(cert.domains)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        state.certificates[arn] = (list(cert.domains), context)
    s3 = client("s3")
    regions: dict[str, str] = {}
    for b in world.buckets:
        region = b.region or world.region
        regions[b.name] = region
        kw: dict[str, Any] = {"Bucket": b.name}
        if region != "us-east-1":
            kw["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kw)
        s3.put_bucket_ownership_controls(Bucket=b.name, OwnershipControls={
            "Rules": [{"ObjectOwnership": b.ownership}]})
        if b.block_public_access:
            s3.put_public_access_block(Bucket=b.name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True,
                "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        for key, body in b.objects.items():
            meta = b.listing.get(key)
            s3.put_object(Bucket=b.name, Key=key, Body=body.encode(),
                          ContentType=meta.content_type if meta else
                          "text/html" if key.endswith(".html") else "text/plain")
        for key, meta in b.listing.items():
            if key not in b.objects:  # captured without its body: one of the same size
                s3.put_object(Bucket=b.name, Key=key, Body=synthesised(key, meta.size),
                              ContentType=meta.content_type,
                              Metadata={"runbook-synthesised": "true",
                                        "runbook-size": str(meta.size)})
        if b.versioning:
            s3.put_bucket_versioning(Bucket=b.name,
                                     VersioningConfiguration={"Status": "Enabled"})
        if b.website_redirect:
            s3.put_bucket_website(Bucket=b.name, WebsiteConfiguration={
                "RedirectAllRequestsTo": {"HostName": b.website_redirect.to,
                                          "Protocol": b.website_redirect.protocol}})
    cf = client("cloudfront", "us-east-1")
    domains: dict[str, str] = {}
    for d in world.distributions:
        made = cf.create_distribution(DistributionConfig=_dist_config(d, arns, regions,
                                                                      world.region))
        ids.to_moto[d.id] = made["Distribution"]["Id"]
        domains[d.id] = made["Distribution"]["DomainName"]
    for b in world.buckets:
        if b.policy is not None:  # a captured bucket: its policy as it was read
            s3.put_bucket_policy(Bucket=b.name, Policy=json.dumps(b.policy))
        elif b.grant:
            statements = [oac_statement(b.name, g, f"arn:aws:cloudfront::{world.account}:"
                                                   f"distribution/{g}") for g in b.grant]
            s3.put_bucket_policy(Bucket=b.name, Policy=json.dumps(
                {"Version": "2012-10-17", "Statement": statements}))
    r53 = client("route53", "us-east-1")
    for z in world.zones:
        zone_id = r53.create_hosted_zone(Name=z.name, CallerReference=f"world-{z.name}")[
            "HostedZone"]["Id"]
        if z.id:  # a captured zone: plans name its real id
            ids.to_moto[z.id] = zone_id.rsplit("/", 1)[-1]
        changes = []
        for r in z.records:
            rrset: dict[str, Any] = {"Name": r.name, "Type": r.type}
            if r.alias:
                rrset["AliasTarget"] = {"HostedZoneId": CLOUDFRONT_ZONE,
                                        "DNSName": domains[r.alias],
                                        "EvaluateTargetHealth": False}
            else:
                rrset["TTL"] = r.ttl
                rrset["ResourceRecords"] = [{"Value": v} for v in r.values]
            changes.append({"Action": "CREATE", "ResourceRecordSet": rrset})
        if changes:
            r53.change_resource_record_sets(HostedZoneId=zone_id,
                                            ChangeBatch={"Changes": changes})


SYNTH_CAP = 1 << 20  # bytes: a synthesised body stops here; its real size is in metadata


def synthesised(key: str, size: int) -> bytes:
    """A body of ``size`` bytes (at most SYNTH_CAP) that says it is not the real one."""
    line = (f"runbook sandbox: synthesised body of {key}; the capture copied its size, "
            "type and ETag, not its content\n").encode()
    size = min(size, SYNTH_CAP)
    return (line * (size // len(line) + 1))[:size]


def _dist_config(d: Any, arns: dict[str, str], regions: dict[str, str],
                 default_region: str) -> dict[str, Any]:
    if d.origin.bucket:
        region = regions.get(d.origin.bucket, default_region)
        origin: dict[str, Any] = {
            "Id": "site", "DomainName": f"{d.origin.bucket}.s3.{region}.amazonaws.com",
            "OriginPath": d.origin.path, "S3OriginConfig": {"OriginAccessIdentity": ""},
            "OriginAccessControlId": f"OAC{d.id}"}
    else:
        origin = {"Id": "site", "DomainName": d.origin.domain, "OriginPath": d.origin.path,
                  "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                         "OriginProtocolPolicy": "http-only"}}
    viewer: dict[str, Any] = {"CloudFrontDefaultCertificate": True}
    if d.certificate:
        viewer = {"ACMCertificateArn": arns[d.certificate], "SSLSupportMethod": "sni-only",
                  "MinimumProtocolVersion": "TLSv1.2_2021"}
    return {
        "CallerReference": f"world-{d.id}", "Comment": d.comment or d.id,
        "Enabled": d.enabled, "DefaultRootObject": d.default_root_object,
        "Aliases": {"Quantity": len(d.aliases), "Items": d.aliases},
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
            "MinTTL": 0, "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        "ViewerCertificate": viewer,
    }


# ---- DNS from Route53, as it is now -----------------------------------------------------


class _ZoneSource:
    """The zones the twin's DNS serves: its Route53 hosted zones (alias records to
    CloudFront or S3 websites answer with the edge's address), cloudfront.net and S3
    website names, and the hosts of the zones' name servers (all on this server)."""

    TTL = 0.25  # seconds a reading of Route53 is reused: a plan's polls see changes at once

    def __init__(self, route53: Any, cloudfront: Any, client: Any) -> None:
        self.r53 = route53
        self.cf = cloudfront
        self.client = client
        self._cache: tuple[float, list[Zone]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[Zone]:
        with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < self.TTL:
                return self._cache[1]
            zones = self._read()
            self._cache = (time.monotonic(), zones)
            return zones

    def _read(self) -> list[Zone]:
        zones: list[Zone] = []
        ns_hosts: set[str] = set()
        for page in self.r53.get_paginator("list_hosted_zones").paginate():
            for hz in page["HostedZones"]:
                records: list[Record] = []
                for rpage in self.r53.get_paginator("list_resource_record_sets").paginate(
                        HostedZoneId=hz["Id"]):
                    for rr in rpage["ResourceRecordSets"]:
                        records.extend(self._records(rr, ns_hosts))
                zones.append(Zone(hz["Name"], tuple(records)))
        edge_names = [Record(d["DomainName"], "A", EDGE_IP, 60)
                      for page in self.cf.get_paginator("list_distributions").paginate()
                      for d in page.get("DistributionList", {}).get("Items", []) or []]
        zones.append(Zone("cloudfront.net", tuple(edge_names)))
        zones.append(Zone("amazonaws.com", tuple(self._website_names())))
        for host in ns_hosts:
            zones.append(Zone(host, (Record(host, "A", EDGE_IP, 3600),)))
        return zones

    def _website_names(self) -> list[Record]:
        """Both spellings of every bucket's S3 website endpoint, answered by the edge."""
        s3 = self.client("s3")
        out = []
        for b in s3.list_buckets().get("Buckets", []):
            region = s3.get_bucket_location(Bucket=b["Name"]).get("LocationConstraint") \
                or "us-east-1"
            for host in (f"{b['Name']}.s3-website-{region}.amazonaws.com",
                         f"{b['Name']}.s3-website.{region}.amazonaws.com"):
                out.append(Record(host, "A", EDGE_IP, 60))
        return out

    @staticmethod
    def _records(rr: dict[str, Any], ns_hosts: set[str]) -> list[Record]:
        name, rtype = rr["Name"], rr["Type"]
        alias = rr.get("AliasTarget")
        if alias:
            # an alias to CloudFront or an S3 website: the edge answers for both
            return [Record(name, rtype, EDGE_IP if rtype == "A" else "::1", 60)]
        out = [Record(name, rtype, v["Value"], int(rr.get("TTL", 300)))
               for v in rr.get("ResourceRecords", [])]
        if rtype == "NS":
            ns_hosts.update(v["Value"].rstrip(".").lower() for v in rr.get("ResourceRecords",
                                                                            []))
        return out
