"""What `runbook new` knows and writes: the facts it reads (from AWS, or from a sandbox
world file) and the plans it writes from the library steps, one per common migration.

The plans are YAML text written here, not dumped: a reviewer reads them, so they keep the
order and the comments of a plan written by hand. Values go in the environment's
``vars``, so that adding a second environment (stage, prod) is one more block.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.certnames import covers
from runbook.cli import newmove
from runbook.cli.planparts import (
    MOVE_PROOF,
    OLD_DNS,
    REDIRECT_DEPLOYED,
    certificate_covers,
    deployed,
    dns_exists,
    keeps_path,
    move_alias,
)
from runbook.context import RunContext

HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass
class Dist:
    id: str
    comment: str = ""
    aliases: list[str] = field(default_factory=list)
    origin_bucket: str | None = None
    origin_path: str = ""
    origin_domain: str | None = None
    cert_domains: list[str] = field(default_factory=list)

    def label(self) -> str:
        names = ", ".join(self.aliases) or "no aliases"
        return f"{self.id}  {names}" + (f"  ({self.comment})" if self.comment else "")

    def covers(self, host: str) -> bool:
        return any(covers(d, host) for d in self.cert_domains)


@dataclass
class Facts:
    """What the wizard offers as answers; empty when nothing could be read."""

    source: str
    region: str | None = None
    distributions: list[Dist] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    versions_of: Callable[[str], list[str]] = lambda _bucket: []

    def dist(self, dist_id: str) -> Dist | None:
        return next((d for d in self.distributions if d.id == dist_id), None)

    def serving(self, host: str) -> Dist | None:
        return next((d for d in self.distributions if host in d.aliases), None)

    def zones_for(self, host: str) -> list[str]:
        """Zones the host could live in, the closest first."""
        found = [z for z in self.zones if host == z or host.endswith("." + z)]
        return sorted(found, key=len, reverse=True)


def from_world(path: Path) -> Facts:
    from runbook.sandbox.world import load_world

    world = load_world(path)
    certs = {c.ref: list(c.domains) for c in world.certificates}
    objects = {b.name: dict(b.objects) for b in world.buckets}

    def versions(bucket: str) -> list[str]:
        return sorted({k.split("/", 1)[0] for k in objects.get(bucket, {}) if "/" in k},
                      reverse=True)

    dists = [Dist(d.id, d.comment, list(d.aliases), d.origin.bucket,
                  d.origin.path.strip("/"), d.origin.domain,
                  certs.get(d.certificate or "", [])) for d in world.distributions]
    return Facts(f"what the sandbox world {path.name} holds", world.region, dists,
                 [z.name for z in world.zones], [b.name for b in world.buckets], versions)


def from_aws(ctx: RunContext | None = None) -> Facts:
    """Distributions, their certificates, hosted zones and buckets of the account the
    credentials reach (the shell's AWS settings unless ``ctx`` says otherwise), read as
    the AWS kinds read: AwsApiError, one paragraph, when AWS cannot be read; the caller
    says so and goes on with questions alone."""
    from runbook.context import AwsSettings
    from runbook.kinds.aws.common import bucket_of, call, call_or_none, is_website_domain, pages

    # two quick attempts: an unreachable endpoint is reported at once, then typed around
    ctx = ctx or RunContext(aws=AwsSettings(max_attempts=2))
    cf = ctx.client("cloudfront", "us-east-1")
    acm = ctx.client("acm", "us-east-1")  # CloudFront's certificates
    dists: list[Dist] = []
    arns: dict[str, list[str]] = {}
    for d in pages(cf, "list_distributions", "DistributionList.Items", "distributions"):
        target = d["DefaultCacheBehavior"]["TargetOriginId"]
        origin = next((o for o in d["Origins"]["Items"] if o["Id"] == target),
                      d["Origins"]["Items"][0])
        domain = origin["DomainName"]
        bucket = None if is_website_domain(domain) else bucket_of(domain)
        arn = d.get("ViewerCertificate", {}).get("ACMCertificateArn")
        if arn and arn not in arns:
            cert = call(acm, "describe_certificate", f"certificate {arn}",
                        CertificateArn=arn)["Certificate"]
            arns[arn] = list(cert.get("SubjectAlternativeNames") or [cert["DomainName"]])
        dists.append(Dist(d["Id"], d.get("Comment", ""), list(d["Aliases"].get("Items", [])),
                          bucket, origin.get("OriginPath", "").strip("/"),
                          None if bucket else domain, arns.get(arn or "", [])))
    zones = [z["Name"].rstrip(".") for z in pages(ctx.client("route53"), "list_hosted_zones",
                                                  "HostedZones", "hosted zones")]
    session = ctx.boto_session()
    region = session.region_name
    s3 = ctx.client("s3", region or "us-east-1")
    buckets = [b["Name"] for b in call(s3, "list_buckets", "buckets").get("Buckets", [])]

    def versions(bucket: str) -> list[str]:
        from runbook.kinds.aws.common import AwsApiError

        try:
            listed = call_or_none(s3, "list_objects_v2", f"bucket {bucket}",
                                  missing=("NoSuchBucket",), Bucket=bucket, Delimiter="/",
                                  MaxKeys=1000) or {}
        except AwsApiError:  # no access to this one bucket: the version is typed instead
            return []
        return sorted((p["Prefix"].rstrip("/") for p in listed.get("CommonPrefixes", [])),
                      reverse=True)

    return Facts(f"what the AWS account of profile {session.profile_name} holds",
                 region, dists, zones, buckets, versions)


def q(value: Any) -> str:
    """A YAML scalar that reads back as ``value``: bare when safe, else JSON-quoted."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9./][A-Za-z0-9._/-]*", value) \
            and not NUMBER.fullmatch(value) \
            and value.lower() not in ("yes", "no", "on", "off", "true", "false", "null", "~"):
        return value
    return json.dumps(value)


NUMBER = re.compile(r"[-+]?(\.\d+|\d+(\.\d*)?)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+")


@dataclass
class Answers:
    migration: str  # add-host, switch-origin, redirect, move-host
    name: str
    env: str
    vars: dict[str, str]
    sandbox: str | None = None  # the world file, relative to the plan's folder
    region: str | None = None
    source: str = ""


def render(a: Answers) -> str:
    env_lines = [f"  {a.env}:"]
    if a.sandbox:
        env_lines.append(f"    sandbox: {q(a.sandbox)}   # runs against a local twin of it")
    elif a.region:
        env_lines.append(f"    aws: {{region: {q(a.region)}}}")
    env_lines.append("    vars:")
    env_lines += [f"      {k}: {q(v)}" for k, v in a.vars.items()]
    head = [
        "runbook: 1",
        f"name: {a.name}",
        f"title: {q(TITLES[a.migration].format(**a.vars))}",
        "description: |",
        f"  Written by `runbook new` ({a.migration}) from {a.source}.",
        "  Review it, then `runbook validate --strict` it and rehearse it with `runbook plan`.",
        "",
        "environments:",
        *env_lines,
        "",
        "stages:",
    ]
    return "\n".join(head) + "\n" + BODIES[a.migration](a.vars)


TITLES = {
    "add-host": "Serve {host} from distribution {distribution}",
    "switch-origin": "Serve {version} from bucket {bucket} on distribution {distribution}",
    "redirect": "Redirect {old_host} to {new_host}",
    "move-host": newmove.TITLE,
}


def _contains(v: dict[str, str], indent: str) -> str:
    return f"\n{indent}contains: ${{contains}}" if v.get("contains") else ""


def _add_host(v: dict[str, str]) -> str:
    with_contains = ", contains: \"${contains}\"" if v.get("contains") else ""
    return f"""\
  - name: preflight
    title: Prove the starting state; nothing changes here
    checks:
{deployed("${distribution}")}\
      - cloudfront.alias_free:
          alias: ${{host}}
          distribution: ${{distribution}}
{certificate_covers("${distribution}", "${host}")}\

  - name: new-address
    title: Serve ${{host}}
    confirm: Add ${{host}} to ${{distribution}} and point DNS at it?
    steps:
      - id: alias
        use: cloudfront-add-alias
        with: {{distribution: "${{distribution}}", alias: "${{host}}"{with_contains}}}
      - id: dns
        use: route53-alias
        with: {{zone: "${{zone}}", name: "${{host}}", distribution: "${{distribution}}"}}

  - name: verify
    title: Prove the change is in place
    checks:
{deployed("${distribution}")}\
          aliases: {{contains: ["${{host}}"]}}
{dns_exists("${host}")}\
      - http.get:
          url: https://${{host}}/
          status: 200{_contains(v, "          ")}
"""


def _switch_origin(v: dict[str, str]) -> str:
    with_contains = ", contains: \"${contains}\"" if v.get("contains") else ""
    return f"""\
  - name: preflight
    title: Prove the new version is there and readable; nothing changes here
    checks:
{deployed("${distribution}")}\
      - s3.object:
          bucket: ${{bucket}}
          key: ${{version}}/index.html
      - s3.cloudfront_can_read:
          bucket: ${{bucket}}
          distribution: ${{distribution}}
          in_use: false
      - http.get:
          url: https://${{site}}/
          status: 200

  - name: switch
    title: Serve ${{version}} from ${{bucket}}
    confirm: Point ${{distribution}} at ${{bucket}}/${{version}}?
    steps:
      - id: origin
        use: cloudfront-switch-origin
        with: {{distribution: "${{distribution}}", bucket: "${{bucket}}", \
version: "${{version}}", site: "${{site}}"{with_contains}}}

  - name: verify
    title: Prove the change is in place
    checks:
{deployed("${distribution}")}\
          origin: {{bucket: "${{bucket}}", path: "/${{version}}"}}
          origin_has: index.html
      - s3.cloudfront_can_read:
          bucket: ${{bucket}}
          distribution: ${{distribution}}
      - http.get:
          url: https://${{site}}/
          status: 200{_contains(v, "          ")}
"""


def _redirect(v: dict[str, str]) -> str:
    if v.get("serving_distribution"):
        # Another distribution serves the old name: move it in one CloudFront call
        # (AssociateAlias), never "remove, wait, add", which leaves it served by neither
        # for the minutes each deployment takes.
        take = MOVE_PROOF + """\
      - id: redirect-alias
        title: Move ${old_host} to the redirect distribution in one step
        pre:
          - http.get: {url: "https://${new_host}/", status: 200}
""" + move_alias("${serving_distribution}")
    else:
        take = """\
      - id: redirect-alias
        title: Serve ${old_host} from the redirect distribution
        pre:
          - cloudfront.alias_free:
              alias: ${old_host}
        action:
          cloudfront.update:
            id: ${redirect_distribution}
            aliases: {add: ["${old_host}"]}
"""
    return f"""\
  - name: preflight
    title: Prove the new address serves and the redirect can take the old one
    checks:
      - http.get:
          url: https://${{new_host}}/
          status: 200
{deployed("${redirect_distribution}")}\
{certificate_covers("${redirect_distribution}", "${old_host}")}\

  - name: redirect
    title: Redirect ${{old_host}} to ${{new_host}}
    confirm: Move ${{old_host}} to the redirect and point its DNS there?
    steps:
      - id: redirect-bucket
        use: old-domain-redirect
        with: {{bucket: "${{redirect_bucket}}", to: "${{new_host}}",
               distribution: "${{redirect_distribution}}"}}
{take}\
        post:
{REDIRECT_DEPLOYED}\
          - http.redirect:
              from: https://${{old_host}}/
              to: https://${{new_host}}/
              status: 301
              connect_to: ${{steps.redirect-alias.domain_name}}
            within: 5m
            every: 15s
        rollback: auto
{OLD_DNS}\

  - name: verify
    title: Prove the change is in place
    checks:
{keeps_path("      ")}
{dns_exists("${old_host}")}"""


BODIES: dict[str, Callable[[dict[str, str]], str]] = {
    "add-host": _add_host, "switch-origin": _switch_origin, "redirect": _redirect,
    "move-host": newmove.body}
