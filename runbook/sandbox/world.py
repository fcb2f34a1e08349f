"""World files: the starting state of a sandbox twin, in YAML.

::

    sandbox: 1
    account: "123456789012"
    region: eu-west-2
    certificates:                       # imported into ACM (us-east-1 unless said)
      - ref: tss
        domains: [trainee.tis.nhs.uk, "*.trainee.tis.nhs.uk"]
    buckets:
      - name: tis-trainee-ui-prod
        objects: {v1.41.0/index.html: "<title>TIS Self-Service</title>"}
        grant: [E1PRODEXAMPLE]           # bucket policy lets these distributions read (OAC)
        website_redirect: {to: trainee.tis.nhs.uk, protocol: https}
    distributions:
      - id: E1PRODEXAMPLE                # the id plans use; the twin maps it to moto's
        aliases: [trainee.tis-selfservice.nhs.uk]
        origin: {bucket: tis-trainee-ui-prod, path: /v1.41.0}   # or {domain: ...}
        certificate: tss
        default_root_object: index.html
    timing:                             # how long AWS takes, in AWS seconds (these are
      scale: 0.01                       # the defaults); scale: real seconds per AWS second
      deploy: 180                       # a CloudFront change InProgress before Deployed
      route53: 30                       # a Route53 change PENDING before INSYNC
      invalidation: 60                  # an invalidation InProgress before Completed
    zones:
      - name: tis-selfservice.nhs.uk
        records:
          - {name: trainee.tis-selfservice.nhs.uk, type: A, alias: E1PRODEXAMPLE}
          - {name: www.tis-selfservice.nhs.uk, type: CNAME,
             values: [trainee.tis-selfservice.nhs.uk]}
    origins:                            # custom origins: where the edge reaches them
      - {domain: api.example.test, url: "http://127.0.0.1:8080"}
      - {domain: static.example.test, folder: site/}
    policies:                           # custom CloudFront policies, by the ids behaviours name
      - {kind: cache, id: 4d1c..., config: {Name: api, MinTTL: 0, ...}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from runbook.errors import PlanError, Problem
from runbook.plan.yamlio import load_file
from runbook.words import plural


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Certificate(_M):
    ref: str
    domains: list[str] = Field(min_length=1)
    region: str = "us-east-1"
    days: int = Field(365, description="validity from now; negative: already expired")
    # A captured certificate keeps its real ARN: the twin answers to it, so a plan that
    # names the ARN runs unchanged.
    arn: str | None = None
    status: str = "ISSUED"


class WebsiteRedirect(_M):
    to: str
    protocol: str = "https"


class ObjectMeta(_M):
    """An object as listed: a captured world keeps every key's size, ETag and type, and
    the body only of small text objects; the twin synthesises the other bodies."""

    size: int = Field(ge=0)
    etag: str = ""
    content_type: str = "application/octet-stream"


class Bucket(_M):
    name: str
    region: str | None = None
    objects: dict[str, str] = Field(default_factory=dict)
    listing: dict[str, ObjectMeta] = Field(default_factory=dict)
    cache_control: str | None = Field(None, description="Cache-Control of its objects")
    grant: list[str] = Field(default_factory=list)
    grant_oai: list[str] = Field(default_factory=list,
                                 description="origin access identities the policy lets read")
    # the bucket policy as read (a captured world); when set it is written as it is,
    # instead of the statements `grant` would make
    policy: dict[str, Any] | None = None
    versioning: bool = False
    website_redirect: WebsiteRedirect | None = None
    # the website configuration as S3 takes it (IndexDocument, ErrorDocument,
    # RoutingRules or RedirectAllRequestsTo); a captured bucket keeps its own here
    website: dict[str, Any] | None = None
    # How Terraform makes a site bucket; a bucket made by hand in the console may differ.
    ownership: str = "BucketOwnerEnforced"
    block_public_access: bool = True


class Origin(_M):
    bucket: str | None = None
    domain: str | None = None
    path: str = ""


class Logs(_M):
    """Standard logging (legacy) of a distribution: the edge writes an access log of
    every response into ``bucket`` under ``prefix`` (sandbox/edgelog.py)."""

    bucket: str
    prefix: str = ""
    # path (or whole URL) -> requests: past traffic, written as one log file when seeded
    traffic: dict[str, int] = Field(default_factory=dict)


class Distribution(_M):
    id: str
    comment: str = ""
    aliases: list[str] = Field(default_factory=list)
    origin: Origin
    certificate: str | None = None
    default_root_object: str = "index.html"
    enabled: bool = True
    # the whole DistributionConfig as read (a captured world): kept for `sandbox diff`
    config: dict[str, Any] | None = None
    default_ttl: int = Field(86400, description="seconds the edge keeps an object without "
                                                "Cache-Control (CloudFront's default)")
    oac: bool = Field(True, description="the S3 origin signs with an origin access control")
    oai: str | None = Field(None, description="or reads as this origin access identity")
    logs: Logs | None = Field(None, description="standard logging: the edge's access logs "
                              "go to this bucket")


class CustomOrigin(_M):
    """Where the twin's edge reaches a custom origin (a distribution origin's
    ``DomainName`` that is not S3): a server on loopback, or a folder served as files."""

    domain: str
    url: str | None = Field(None, pattern=r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?",
                            description="a loopback server, e.g. http://127.0.0.1:8080")
    folder: str | None = Field(None, description="a folder (relative to the world file)")

    @model_validator(mode="after")
    def _one_place(self) -> CustomOrigin:
        if (self.url is None) == (self.folder is None):
            raise ValueError("a custom origin is either a `url` or a `folder`")
        return self


class PolicySpec(_M):
    """A custom CloudFront policy, as the API gives it, under its id (a captured one keeps
    the id distributions name)."""

    kind: Literal["cache", "origin_request", "response_headers"]
    id: str
    config: dict[str, Any]


class FunctionSpec(_M):
    """A CloudFront Function as captured (its LIVE stage): the twin creates and publishes
    it, and distributions that name ``arn`` use it."""

    name: str
    arn: str | None = None
    runtime: str = "cloudfront-js-2.0"
    comment: str = ""
    code: str
    key_value_stores: list[str] = Field(default_factory=list, description="store ARNs")


class StoreSpec(_M):
    """A KeyValueStore and its keys; ``arn`` as captured (functions name it)."""

    name: str
    arn: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)


class RecordSpec(_M):
    name: str
    type: str = "A"
    ttl: int = 300
    values: list[str] = Field(default_factory=list)
    alias: str | None = Field(None, description="a distribution id of this world")


class ZoneSpec(_M):
    name: str
    id: str | None = Field(None, description="a captured zone's real id: the twin answers to it")
    records: list[RecordSpec] = Field(default_factory=list)


class Capture(_M):
    """Where a captured world came from."""

    plan: str
    env: str
    at: str
    account: str = ""
    roles: dict[str, str] = Field(default_factory=dict)  # "where: param" -> resource


class Timing(_M):
    scale: float = Field(0.01, gt=0, le=1, description="real seconds per AWS second")
    deploy: float = Field(180, ge=0, description="a CloudFront change InProgress, seconds")
    route53: float = Field(30, ge=0, description="a Route53 change PENDING, seconds")
    invalidation: float = Field(60, ge=0, description="an invalidation InProgress, seconds")


class World(_M):
    sandbox: int = 1
    captured: Capture | None = None
    account: str = "123456789012"
    region: str = "eu-west-2"
    certificates: list[Certificate] = Field(default_factory=list)
    buckets: list[Bucket] = Field(default_factory=list)
    distributions: list[Distribution] = Field(default_factory=list)
    zones: list[ZoneSpec] = Field(default_factory=list)
    origins: list[CustomOrigin] = Field(default_factory=list)
    policies: list[PolicySpec] = Field(default_factory=list)
    functions: list[FunctionSpec] = Field(default_factory=list)
    key_value_stores: list[StoreSpec] = Field(default_factory=list)
    timing: Timing = Field(default_factory=Timing)


def load_world(path: Path) -> World:
    doc = load_file(path, what="sandbox world")
    try:
        world = World.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = doc.key_at(loc) if err["type"] == "extra_forbidden" else doc.at(loc)
            name = ".".join(str(p) for p in loc)
            problems.append(Problem(f"world file: {name}: {err['msg']}", where))
        raise PlanError(problems) from exc
    refs = {c.ref: c for c in world.certificates}
    dists = {d.id for d in world.distributions}
    problems = []
    for i, d in enumerate(world.distributions):
        if d.certificate and d.certificate not in refs:
            problems.append(Problem(f"distribution {d.id} names certificate {d.certificate!r}, "
                                    "which the world does not have",
                                    doc.at(("distributions", i, "certificate"))))
        elif d.aliases:
            problems += viewer_certificate(d, refs.get(d.certificate or ""), i, doc)
    for zi, z in enumerate(world.zones):
        for ri, r in enumerate(z.records):
            if r.alias and r.alias not in dists:
                problems.append(Problem(f"record {r.name} is an alias of {r.alias}, which is not "
                                        "a distribution of the world",
                                        doc.at(("zones", zi, "records", ri, "alias"))))
    if problems:
        raise PlanError(problems)
    if any(o.folder for o in world.origins):  # folders are relative to the world file
        world = world.model_copy(update={"origins": [
            o.model_copy(update={"folder": str((path.parent / o.folder).resolve())})
            if o.folder else o for o in world.origins]})
    return world


def viewer_certificate(d: Distribution, cert: Certificate | None, i: int,
                       doc: Any) -> list[Problem]:
    """What CloudFront says of a distribution with aliases whose certificate cannot serve
    them (it refuses to create or update one): none, one outside us-east-1, or one that
    does not cover an alias. A certificate that expired or was revoked since is not
    refused: AWS holds such distributions."""
    if cert is None:
        return [Problem(
            f"distribution {d.id} has aliases ({', '.join(d.aliases)}) but no certificate: "
            "AWS could not hold it (CloudFront refuses it: InvalidViewerCertificate, to add "
            "an alternate domain name you must attach a trusted certificate that covers "
            "it); give it `certificate:` naming one of the world's certificates",
            doc.at(("distributions", i, "aliases")))]
    where = doc.at(("distributions", i, "certificate"))
    if cert.region != "us-east-1":
        return [Problem(
            f"distribution {d.id} uses certificate {cert.ref!r} of {cert.region}: AWS could "
            "not hold it (CloudFront refuses it: InvalidViewerCertificate, a distribution's "
            "certificate must be in us-east-1)", where)]
    from runbook.certnames import covers

    missing = [a for a in d.aliases if not any(covers(n, a) for n in cert.domains)]
    if not missing:
        return []
    return [Problem(
        f"distribution {d.id}: certificate {cert.ref!r} ({', '.join(cert.domains)}) does "
        f"not cover its {plural(len(missing), 'alias', 'aliases')} {', '.join(missing)}: AWS "
        "could not hold it (CloudFront refuses it: InvalidViewerCertificate, the "
        "certificate doesn't cover the alternate domain name)", where)]



def dump_world(data: dict[str, Any], path: Path, *, header: str = "") -> None:
    """Write world-file data as YAML (block style, keys in the order given)."""
    import io

    from ruamel.yaml import YAML

    World.model_validate(data)  # never write a file that load_world would refuse
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    buf = io.StringIO()
    yaml.dump(data, buf)
    lines = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    path.write_text(lines + buf.getvalue())


def origin(path: Path) -> dict[str, Any]:
    """What a run on this world rehearses against: the file, and the environment and
    time it was captured from (a world written by hand has no capture)."""
    world = load_world(path)
    out: dict[str, Any] = {"file": path.name}
    if world.captured is not None:
        out["captured"] = {"env": world.captured.env, "at": world.captured.at,
                           "account": world.captured.account}
    return out
