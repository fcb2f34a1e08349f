"""Seeding a twin from its world file: certificates into ACM (and the edge), buckets and
their objects and policies into S3, distributions through the proxy (which keeps their
configuration as sent), zones and records into Route53."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from runbook.kinds.aws.policy import OAI_USER, oac_statement
from runbook.sandbox.edgelog import seed_traffic
from runbook.sandbox.zones import CLOUDFRONT_ZONE


def seed(twin: Any, client: Any, ca: Any) -> None:
    """Fill the just-started ``twin`` (a :class:`runbook.sandbox.twin.Twin`, not imported:
    twin imports this module) from its world; ``ca`` issues the certificates."""
    world, ids = twin.world, twin.ids
    arns: dict[str, str] = {}
    now = dt.datetime.now(dt.UTC)
    for i, cert in enumerate(world.certificates):
        not_after = now + dt.timedelta(days=cert.days)
        # ACM does not import an expired certificate: import one valid for a day and have
        # CloudFront refuse it as expired (the edge never serves it: no alias can use it)
        valid_to = max(not_after, now + dt.timedelta(days=1))
        leaf = ca.issue_cert(*cert.domains, not_before=min(now, not_after) - dt.timedelta(
            days=1), not_after=valid_to)
        got = client("acm", cert.region).import_certificate(
            Certificate=leaf.cert_chain_pems[0].bytes(),
            PrivateKey=leaf.private_key_pem.bytes(), CertificateChain=ca.cert_pem.bytes())
        arn = got["CertificateArn"]
        arns[cert.ref] = arn
        if cert.arn:  # a captured certificate: plans name its real ARN
            ids.everywhere[cert.arn] = arn
        if not_after <= now:
            twin.cloudfront.expired[arn] = not_after.isoformat()
        pem = f"sandbox-cert-{i}.pem"
        leaf.private_key_and_cert_chain_pem.write_to_path(str(twin.folder / pem))
        twin._serve_certificate(arn, list(cert.domains), pem)
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
        extra = {"CacheControl": b.cache_control} if b.cache_control else {}
        for key, body in b.objects.items():
            meta = b.listing.get(key)
            s3.put_object(Bucket=b.name, Key=key, Body=body.encode(),
                          ContentType=meta.content_type if meta else
                          "text/html" if key.endswith(".html") else "text/plain", **extra)
        for key, meta in b.listing.items():
            if key not in b.objects:  # captured without its body: one of the same size
                s3.put_object(Bucket=b.name, Key=key, Body=synthesised(key, meta.size),
                              ContentType=meta.content_type,
                              Metadata={"runbook-synthesised": "true",
                                        "runbook-size": str(meta.size)}, **extra)
        if b.versioning:
            s3.put_bucket_versioning(Bucket=b.name,
                                     VersioningConfiguration={"Status": "Enabled"})
        if b.website is not None:
            s3.put_bucket_website(Bucket=b.name, WebsiteConfiguration=b.website)
        elif b.website_redirect:
            s3.put_bucket_website(Bucket=b.name, WebsiteConfiguration={
                "RedirectAllRequestsTo": {"HostName": b.website_redirect.to,
                                          "Protocol": b.website_redirect.protocol}})
    nouns = {"cache": "CachePolicy", "origin_request": "OriginRequestPolicy",
             "response_headers": "ResponseHeadersPolicy"}
    for pol in world.policies:  # before the distributions that name them
        twin.edge.state.policies.add(nouns[pol.kind], pol.config, pol.id)
    renames = _edge_functions(twin, client)  # captured ARNs -> the twin's
    # through the proxy, which keeps each configuration as sent (moto drops OAC ids, TTLs)
    cf = client("cloudfront", "us-east-1", twin.proxy.url)
    domains: dict[str, str] = {}
    oacs = _origin_access_controls(cf, world)
    for d in world.distributions:
        made = None
        if d.config:  # a captured distribution: its whole configuration, as AWS gave it
            try:
                made = cf.create_distribution(DistributionConfig=_captured_config(
                    d, arns, renames, oacs))
            except Exception:  # a field moto does not take: the world's own fields serve
                made = None
        if made is None:
            made = cf.create_distribution(DistributionConfig=_dist_config(
                d, arns, regions, world.region, oacs.get(d.id, "")))
        ids.to_moto[d.id] = made["Distribution"]["Id"]
        domains[d.id] = made["Distribution"]["DomainName"]
        if d.logs is not None:  # its past traffic, as access logs (sandbox/edgelog.py)
            seed_traffic(s3, d.id, domains[d.id], (d.aliases or [domains[d.id]])[0],
                         d.logs.bucket, d.logs.prefix, d.logs.traffic)
    for b in world.buckets:
        if b.policy is not None:  # a captured bucket: its policy as it was read
            s3.put_bucket_policy(Bucket=b.name, Policy=json.dumps(b.policy))
            continue
        statements = [oac_statement(b.name, g, f"arn:aws:cloudfront::{world.account}:"
                                               f"distribution/{g}") for g in b.grant]
        statements += [{"Sid": f"AllowOAI{o}", "Effect": "Allow",
                        "Principal": {"AWS": f"{OAI_USER}{o}"}, "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{b.name}/*"} for o in b.grant_oai]
        if statements:
            s3.put_bucket_policy(Bucket=b.name, Policy=json.dumps(
                {"Version": "2012-10-17", "Statement": statements}))
    r53 = client("route53", "us-east-1")
    for z in world.zones:
        zone_id = r53.create_hosted_zone(Name=z.name, CallerReference=f"world-{z.name}")[
            "HostedZone"]["Id"]
        if z.id:  # a captured zone: plans name its real id
            ids.everywhere[z.id] = zone_id.rsplit("/", 1)[-1]
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


def _edge_functions(twin: Any, client: Any) -> dict[str, str]:
    """A world's KeyValueStores (with their keys) and functions (published, so the
    distributions can name them); returns the captured ARNs -> the twin's. A function's
    code that names its store by id gets the twin's id of that store."""
    from runbook.sandbox.functions import Store

    world, functions = twin.world, twin.edge.state.functions
    renames: dict[str, str] = {}
    ids: dict[str, str] = {}
    for st in world.key_value_stores:
        made = client("cloudfront", "us-east-1").create_key_value_store(Name=st.name)[
            "KeyValueStore"]
        functions.stores[made["Id"]] = Store(keys=dict(st.keys))
        if st.arn:
            renames[st.arn] = made["ARN"]
            ids[st.arn.rsplit("/", 1)[-1]] = made["Id"]
    cf = client("cloudfront", "us-east-1", twin.proxy.url)
    for fn in world.functions:
        code = fn.code
        for old, new in ids.items():
            code = code.replace(old, new)
        config: dict[str, Any] = {"Comment": fn.comment, "Runtime": fn.runtime}
        stores = [renames.get(a, a) for a in fn.key_value_stores]
        if stores:
            config["KeyValueStoreAssociations"] = {
                "Quantity": len(stores), "Items": [{"KeyValueStoreARN": a} for a in stores]}
        made = cf.create_function(Name=fn.name, FunctionConfig=config,
                                  FunctionCode=code.encode())
        cf.publish_function(Name=fn.name, IfMatch=made["ETag"])
        if fn.arn:
            renames[fn.arn] = made["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    return renames


SYNTH_CAP = 1 << 20  # bytes: a synthesised body stops here; its real size is in metadata


def synthesised(key: str, size: int) -> bytes:
    """A body of ``size`` bytes (at most SYNTH_CAP) that says it is not the real one."""
    line = (f"runbook sandbox: synthesised body of {key}; the capture copied its size, "
            "type and ETag, not its content\n").encode()
    size = min(size, SYNTH_CAP)
    return (line * (size // len(line) + 1))[:size]


def _origin_access_controls(cf: Any, world: Any) -> dict[str, str]:
    """Make the origin access controls the world's distributions sign with, as AWS holds
    them before any distribution may name one (CloudFront refuses an unknown id:
    InvalidOriginAccessControl). Returns distribution id -> the OAC made for it (a world
    written by hand), and captured OAC id -> the twin's (a captured one)."""
    out: dict[str, str] = {}

    def make(name: str) -> str:
        got = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": name[:64], "Description": "made by the sandbox for its world",
            "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})
        return str(got["OriginAccessControl"]["Id"])

    for d in world.distributions:
        if d.config:
            for o in (d.config.get("Origins") or {}).get("Items") or []:
                old = o.get("OriginAccessControlId")
                if old and old not in out:
                    out[old] = make(f"captured-{old}")
        elif d.origin.bucket and d.oac and not d.oai:
            out[d.id] = make(f"{d.id}-site")
    return out


def _captured_config(d: Any, arns: dict[str, str], renames: dict[str, str] | None = None,
                     oacs: dict[str, str] | None = None) -> dict[str, Any]:
    """A captured DistributionConfig, made again: its caller reference ours, its
    certificate the twin's import of the captured one, its functions' ARNs and its
    origin access controls the twin's."""
    text = json.dumps(d.config)
    for old, new in (renames or {}).items():
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    config = json.loads(text)
    for o in (config.get("Origins") or {}).get("Items") or []:
        if o.get("OriginAccessControlId"):
            o["OriginAccessControlId"] = (oacs or {}).get(o["OriginAccessControlId"], "")
    config["CallerReference"] = f"world-{d.id}"
    viewer = config.get("ViewerCertificate") or {}
    if viewer.get("ACMCertificateArn") and d.certificate in arns:
        viewer["ACMCertificateArn"] = arns[d.certificate]
    return dict(config)


def _dist_config(d: Any, arns: dict[str, str], regions: dict[str, str],
                 default_region: str, oac_id: str) -> dict[str, Any]:
    if d.origin.bucket:
        region = regions.get(d.origin.bucket, default_region)
        origin: dict[str, Any] = {
            "Id": "site", "DomainName": f"{d.origin.bucket}.s3.{region}.amazonaws.com",
            "OriginPath": d.origin.path,
            "S3OriginConfig": {"OriginAccessIdentity":
                               f"origin-access-identity/cloudfront/{d.oai}" if d.oai else ""},
            "OriginAccessControlId": oac_id}
    else:
        origin = {"Id": "site", "DomainName": d.origin.domain, "OriginPath": d.origin.path,
                  "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                         "OriginProtocolPolicy": "http-only"}}
    viewer: dict[str, Any] = {"CloudFrontDefaultCertificate": True}
    # the edge asks the origin for the root object at "/": a site bucket's index.html by
    # default; a redirect website has none unless the world says so (it would redirect
    # "/" to "/index.html")
    root = d.default_root_object if d.origin.bucket or \
        "default_root_object" in d.model_fields_set else ""
    if d.certificate:
        viewer = {"ACMCertificateArn": arns[d.certificate], "SSLSupportMethod": "sni-only",
                  "MinimumProtocolVersion": "TLSv1.2_2021"}
    return {
        "CallerReference": f"world-{d.id}", "Comment": d.comment or d.id,
        "Enabled": d.enabled, "DefaultRootObject": root,
        "Aliases": {"Quantity": len(d.aliases), "Items": d.aliases},
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
            "MinTTL": 0, "DefaultTTL": d.default_ttl, "MaxTTL": 31536000,
            "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        "ViewerCertificate": viewer,
        **({"Logging": {"Enabled": True, "IncludeCookies": False,
                        "Bucket": f"{d.logs.bucket}.s3.amazonaws.com",
                        "Prefix": d.logs.prefix}} if d.logs else {}),
    }


