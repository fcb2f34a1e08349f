"""Capture a live environment into a world file, so a plan can rehearse against a copy of
prod itself.

``wanted(plan)`` reads the resolved plan for the resources it names: distributions,
buckets (and the prefixes its checks and actions read), hosted zones and the record
names it touches, certificates. ``capture(plan, ctx)`` reads each of them from AWS with
Describe/Get/List/Head calls only, and returns world-file data that keeps the real ids,
so the plan runs unchanged against the twin. Values a run fills in later (``${steps..}``,
``${env:..}``) are never resolved here, so no secret reaches the file.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from runbook.context import RunContext
from runbook.kinds.aws.common import (
    AwsApiError,
    account_of,
    bucket_of,
    call,
    call_or_none,
    default_origin,
    fqdn,
    is_website_domain,
    items,
    pages,
    region_of_arn,
)
from runbook.kinds.aws.policy import oac_grantees
from runbook.kinds.aws.policy import parse as parse_policy
from runbook.kinds.aws.s3common import region_if_exists
from runbook.plan.model import Plan
from runbook.sandbox import captureedge

BODY_CAP = 64 * 1024  # bytes: a text object at most this large is copied whole
MAX_BODIES = 50  # text objects copied whole, in all
MAX_OBJECTS = 1000  # objects listed under one prefix
MAX_HEADS = 200  # objects whose content type is read with HeadObject (the rest: by name)
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
              "image/svg+xml")

_DIST_KEYS = {"distribution", "allow_cloudfront"}
_BUCKET_KEYS = {"bucket", "source_bucket"}
_CERT_KEYS = {"arn", "certificate"}


@dataclass
class Wanted:
    """What a plan names, for one environment."""

    distributions: set[str] = field(default_factory=set)
    buckets: dict[str, set[str]] = field(default_factory=dict)  # bucket -> prefixes
    zones: set[str] = field(default_factory=set)  # names or ids
    names: set[str] = field(default_factory=set)  # host and record names (fqdn)
    certificates: set[str] = field(default_factory=set)
    roles: dict[str, str] = field(default_factory=dict)  # "where: param" -> resource

    def bucket(self, name: str, prefix: str | None = None) -> None:
        prefixes = self.buckets.setdefault(name, set())
        if prefix is not None:
            prefixes.add(prefix)


def _fixed(value: Any) -> bool:
    """A value known before the run (not a template a run fills in)."""
    return isinstance(value, str) and bool(value) and "${" not in value


def _specs(plan: Plan) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, kind, params) of every check and action the plan holds."""
    return ((where, spec.kind, spec.params) for where, spec in plan.specs())


def _walk(params: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, str, Any]]:
    for key, value in params.items():
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping):
            yield from _walk(value, where)
        else:
            yield where, str(key), value


def wanted(plan: Plan) -> Wanted:
    w = Wanted()
    for where, kind, params in _specs(plan):
        family = kind.split(".", 1)[0]
        for path, key, value in _walk(params):
            values = value if isinstance(value, list) else [value]
            for v in values:
                if not _fixed(v):
                    continue
                role = f"{where}: {path}"
                if key in _DIST_KEYS or (family == "cloudfront" and key == "id"):
                    w.distributions.add(v)
                    w.roles[role] = f"distribution {v}"
                elif key in _BUCKET_KEYS:
                    w.bucket(v)
                    w.roles[role] = f"bucket {v}"
                elif key in _CERT_KEYS and v.startswith("arn:aws:acm:"):
                    w.certificates.add(v)
                    w.roles[role] = f"certificate {v}"
                elif key == "zone" and family == "route53":
                    w.zones.add(v)
                    w.roles[role] = f"zone {v}"
                elif key == "name" and family in ("route53", "dns"):
                    w.names.add(fqdn(v))
                    w.roles[role] = f"record {fqdn(v)}"
                elif key in ("alias", "aliases", "add", "remove", "set", "covers", "contains",
                             "exactly") and family in ("cloudfront", "acm") and "." in v:
                    w.names.add(fqdn(v))
                elif key in ("url", "from", "to") and "://" in v:
                    host = urlsplit(v).hostname
                    if host:
                        w.names.add(fqdn(host))
        _prefixes(w, kind, params)
    return w


def _prefixes(w: Wanted, kind: str, p: Mapping[str, Any]) -> None:
    """The object prefixes a check or action reads under the buckets it names."""
    def text(value: Any) -> str | None:
        return value if _fixed(value) else None

    def folder(key: str) -> str:
        return key.rsplit("/", 1)[0] + "/" if "/" in key else ""

    bucket = text(p.get("bucket"))
    if kind == "s3.object" and bucket:
        for k in ("key", "prefix"):
            value = text(p.get(k))
            if value is not None:
                w.bucket(bucket, folder(value))
    elif kind == "s3.copy":
        source, source_prefix = text(p.get("source_bucket")), text(p.get("source_prefix"))
        if source and source_prefix:
            w.bucket(source, source_prefix)
        target = text(p.get("prefix")) or source_prefix
        if bucket and target:
            w.bucket(bucket, target)
    origin = p.get("origin")
    origin_bucket = text(origin.get("bucket")) if isinstance(origin, Mapping) else None
    if kind.startswith("cloudfront.") and isinstance(origin, Mapping) and origin_bucket:
        path = text(origin.get("path"))
        w.bucket(origin_bucket, path.strip("/") + "/" if path else None)


# ---- reading AWS ---------------------------------------------------------------------------


@dataclass
class Captured:
    world: dict[str, Any]
    notes: list[str]  # what was not copied, and why


def capture(plan: Plan, ctx: RunContext, *, body_cap: int = BODY_CAP,
            now: dt.datetime | None = None, logs_hours: float = 0.0,
            logs_cap: int = 1000) -> Captured:
    """World-file data for ``plan``'s environment, read from AWS (reads only)."""
    w = wanted(plan)
    now = now or dt.datetime.now(dt.UTC)
    notes: list[str] = []
    account = account_of(ctx)
    dists = _distributions(ctx, w, notes)
    certs = _certificates(ctx, w, now, notes)
    buckets = _buckets(ctx, w, body_cap, notes)
    zones = _zones(ctx, w, dists, notes)
    refs = {c["arn"]: c["ref"] for c in certs}
    world: dict[str, Any] = {
        "sandbox": 1,
        "account": account,
        "region": ctx.aws.region or "us-east-1",
        "captured": {"plan": plan.name, "env": plan.environment.name,
                     "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "account": account,
                     "roles": dict(sorted(w.roles.items()))},
        "certificates": certs,
        "buckets": buckets,
        "distributions": [_world_distribution(d, refs) for d in dists],
        "zones": zones,
    }
    world.update(captureedge.edge_parts(ctx, dists, notes))  # what the edge needs of them
    if logs_hours > 0:  # the last hours of access logs as traffic (capturelogs.py)
        from runbook.sandbox.capturelogs import add_logs

        add_logs(ctx, world, hours=logs_hours, cap=logs_cap, now=now, notes=notes)
    return Captured(world, notes)


def _distributions(ctx: RunContext, w: Wanted, notes: list[str]) -> list[dict[str, Any]]:
    cf = ctx.client("cloudfront")
    found: dict[str, dict[str, Any]] = {}
    for dist_id in sorted(w.distributions):
        got = call_or_none(cf, "get_distribution", f"distribution {dist_id}",
                           missing={"NoSuchDistribution"}, Id=dist_id)
        if got is None:
            notes.append(f"distribution {dist_id} does not exist")
            continue
        found[dist_id] = dict(got["Distribution"])
    # A name the plan moves may be held by a distribution the plan does not name.
    names = set(w.names)
    for summary in pages(cf, "list_distributions", "DistributionList.Items", "distributions"):
        held = {fqdn(a) for a in items(summary.get("Aliases"))}
        if summary["Id"] not in found and held & names:
            got = call(cf, "get_distribution", f"distribution {summary['Id']}",
                       Id=summary["Id"])
            found[summary["Id"]] = dict(got["Distribution"])
    for dist in found.values():
        config = dist["DistributionConfig"]
        w.names.update(fqdn(a) for a in items(config.get("Aliases")))
        arn = config.get("ViewerCertificate", {}).get("ACMCertificateArn")
        if arn:
            w.certificates.add(arn)
        for origin in items(config.get("Origins")):
            bucket = bucket_of(origin.get("DomainName", ""))
            if bucket:
                path = str(origin.get("OriginPath") or "").strip("/")
                w.bucket(bucket, path + "/" if path else None)
    return [found[k] for k in sorted(found)]


def _world_distribution(dist: Mapping[str, Any], refs: Mapping[str, str]) -> dict[str, Any]:
    config = dist["DistributionConfig"]
    origin = default_origin(config)
    domain = str(origin.get("DomainName", ""))
    bucket = bucket_of(domain)
    spec: dict[str, Any] = {"path": str(origin.get("OriginPath") or "")}
    if bucket and not is_website_domain(domain):
        spec["bucket"] = bucket
    else:
        spec["domain"] = domain
    arn = config.get("ViewerCertificate", {}).get("ACMCertificateArn")
    out: dict[str, Any] = {
        "id": dist["Id"], "comment": str(config.get("Comment") or ""),
        "aliases": [str(a) for a in items(config.get("Aliases"))], "origin": spec,
        "default_root_object": str(config.get("DefaultRootObject") or ""),
        "enabled": bool(config.get("Enabled", True)),
        # the whole configuration as AWS answered: behaviours, OAC/OAI, functions, ...
        "config": config,
    }
    if arn:
        out["certificate"] = refs.get(arn, arn)
    return out


def _certificates(ctx: RunContext, w: Wanted, now: dt.datetime,
                  notes: list[str]) -> list[dict[str, Any]]:
    out = []
    for arn in sorted(w.certificates):
        region = region_of_arn(arn) or "us-east-1"
        got = call_or_none(ctx.client("acm", region), "describe_certificate",
                           f"certificate {arn}", missing={"ResourceNotFoundException"},
                           CertificateArn=arn)
        if got is None:
            notes.append(f"certificate {arn} does not exist")
            continue
        c = got["Certificate"]
        domains = [str(c["DomainName"])] + [d for d in c.get("SubjectAlternativeNames", [])
                                            if d != c["DomainName"]]
        days = 365
        if c.get("NotAfter"):
            not_after = dt.datetime.fromisoformat(str(c["NotAfter"]).replace("Z", "+00:00"))
            days = (not_after - now).days
        out.append({"ref": arn.rsplit("/", 1)[-1], "arn": arn, "domains": domains,
                    "region": region, "days": days, "status": str(c.get("Status", "ISSUED"))})
    return out


def _buckets(ctx: RunContext, w: Wanted, body_cap: int, notes: list[str]) -> list[dict[str, Any]]:
    out = []
    bodies = 0
    for name in sorted(w.buckets):
        region = region_if_exists(ctx, name)
        if region is None:
            notes.append(f"bucket {name} does not exist")
            continue
        s3 = ctx.client("s3", region)
        bucket: dict[str, Any] = {"name": name, "region": region}
        policy = call_or_none(s3, "get_bucket_policy", f"bucket {name}",
                              missing={"NoSuchBucketPolicy"}, Bucket=name)
        doc = parse_policy(policy.get("Policy")) if policy else None
        bucket["grant"] = oac_grantees(doc)
        if doc is not None:
            bucket["policy"] = doc
        own = call_or_none(s3, "get_bucket_ownership_controls", f"bucket {name}",
                           missing={"OwnershipControlsNotFoundError"}, Bucket=name)
        rules = (own or {}).get("OwnershipControls", {}).get("Rules", [])
        bucket["ownership"] = rules[0]["ObjectOwnership"] if rules else "ObjectWriter"
        pab = call_or_none(s3, "get_public_access_block", f"bucket {name}",
                           missing={"NoSuchPublicAccessBlockConfiguration"}, Bucket=name)
        cfg = (pab or {}).get("PublicAccessBlockConfiguration", {})
        bucket["block_public_access"] = bool(cfg) and all(cfg.values())
        site = call_or_none(s3, "get_bucket_website", f"bucket {name}",
                            missing={"NoSuchWebsiteConfiguration"}, Bucket=name)
        if captureedge.website(site):
            bucket["website"] = captureedge.website(site)
        redirect = (site or {}).get("RedirectAllRequestsTo")
        if redirect:
            bucket["website_redirect"] = {"to": redirect["HostName"],
                                          "protocol": redirect.get("Protocol", "http")}
        versioning = call(s3, "get_bucket_versioning", f"bucket {name}", Bucket=name)
        bucket["versioning"] = versioning.get("Status") == "Enabled"
        objects: dict[str, str] = {}
        listing: dict[str, dict[str, Any]] = {}
        heads = 0
        for prefix in sorted(w.buckets[name]) or [""]:
            for count, obj in enumerate(pages(s3, "list_objects_v2", "Contents",
                                              f"bucket {name}", Bucket=name, Prefix=prefix)):
                if count >= MAX_OBJECTS:
                    notes.append(f"bucket {name}: more than {MAX_OBJECTS} objects under "
                                 f"{prefix or '/'}; the first {MAX_OBJECTS} were copied")
                    break
                key = str(obj["Key"])
                guessed = mimetypes.guess_type(key)[0] or "application/octet-stream"
                ctype = guessed
                if heads < MAX_HEADS:
                    heads += 1
                    got = call(s3, "head_object", f"s3://{name}/{key}", Bucket=name, Key=key)
                    ctype = str(got.get("ContentType") or ctype)
                size = int(obj.get("Size", 0))
                listing[key] = {"size": size, "etag": str(obj.get("ETag", "")).strip('"'),
                                "content_type": ctype}
                # an upload without a type is stored as binary/octet-stream: judge by name
                text = ctype.startswith(TEXT_TYPES) or (
                    ctype.endswith("/octet-stream") and guessed.startswith(TEXT_TYPES))
                if size <= body_cap and bodies < MAX_BODIES and text:
                    body = ctx.client("s3", region).get_object(Bucket=name, Key=key)
                    try:
                        objects[key] = body["Body"].read().decode()
                        bodies += 1
                    except UnicodeDecodeError:
                        pass
        bucket["objects"] = objects
        bucket["listing"] = listing
        out.append(bucket)
    return out


def _zones(ctx: RunContext, w: Wanted, dists: list[dict[str, Any]],
           notes: list[str]) -> list[dict[str, Any]]:
    r53 = ctx.client("route53")
    hosted = list(pages(r53, "list_hosted_zones", "HostedZones", "hosted zones"))
    by_domain = {d["DomainName"].rstrip(".").lower(): d["Id"] for d in dists}
    chosen: dict[str, dict[str, Any]] = {}
    for want in sorted(w.zones):
        zone = next((z for z in hosted if z["Id"].rsplit("/", 1)[-1] == want.rsplit("/", 1)[-1]
                     or z["Name"].rstrip(".").lower() == want.rstrip(".").lower()), None)
        if zone is None:
            notes.append(f"hosted zone {want} does not exist")
        else:
            chosen[zone["Id"]] = zone
    for name in w.names:  # the most specific public zone holding each name
        holders = [z for z in hosted if name == z["Name"].lower()
                   or name.endswith("." + z["Name"].lower())]
        if holders:
            best = max(holders, key=lambda z: len(z["Name"]))
            chosen.setdefault(best["Id"], best)
    out = []
    for zone_id, zone in sorted(chosen.items(), key=lambda kv: kv[1]["Name"]):
        records: list[dict[str, Any]] = []
        zname = zone["Name"].lower()
        for name in sorted(n for n in w.names if n == zname or n.endswith("." + zname)):
            for rr in pages(r53, "list_resource_record_sets", "ResourceRecordSets",
                            f"zone {zone['Name']}", HostedZoneId=zone_id,
                            StartRecordName=name, PaginationConfig={"MaxItems": 20}):
                if rr["Name"].lower() != name:
                    break
                if rr["Type"] in ("NS", "SOA"):
                    continue
                rec = _record(rr, by_domain)
                if rec is None:
                    notes.append(f"record {rr['Name']} {rr['Type']} is an alias to "
                                 f"{rr['AliasTarget']['DNSName']}, which is not a captured "
                                 "distribution: not copied")
                else:
                    records.append(rec)
        out.append({"name": zone["Name"].rstrip("."), "id": zone_id.rsplit("/", 1)[-1],
                    "records": records})
    return out


def _record(rr: Mapping[str, Any], by_domain: Mapping[str, str]) -> dict[str, Any] | None:
    rec: dict[str, Any] = {"name": str(rr["Name"]).rstrip("."), "type": rr["Type"]}
    alias = rr.get("AliasTarget")
    if alias:
        dist = by_domain.get(str(alias["DNSName"]).rstrip(".").lower())
        if dist is None:
            return None
        rec["alias"] = dist
        return rec
    rec["ttl"] = int(rr.get("TTL", 300))
    rec["values"] = [str(v["Value"]) for v in rr.get("ResourceRecords", [])]
    return rec


def describe(captured: Captured) -> list[str]:
    """One line per kind of resource copied, then what was not copied."""
    w = captured.world
    objects = sum(len(b.get("listing", {})) for b in w["buckets"])
    bodies = sum(len(b.get("objects", {})) for b in w["buckets"])
    records = sum(len(z["records"]) for z in w["zones"])
    lines = [
        f"{len(w['distributions'])} distribution(s), {len(w['buckets'])} bucket(s) "
        f"({objects} object(s), {bodies} copied whole), {len(w['zones'])} zone(s) "
        f"({records} record set(s)), {len(w['certificates'])} certificate(s)",
        *captureedge.describe(w),
        f"account {w['account']}, captured at {w['captured']['at']}",
    ]
    lines += [f"not copied: {n}" for n in captured.notes]
    return lines


__all__ = ["AwsApiError", "Captured", "Wanted", "capture", "describe", "wanted"]
