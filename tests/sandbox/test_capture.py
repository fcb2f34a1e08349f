"""`runbook sandbox capture` and `sandbox diff`: a moto server plays prod (and stage), the
CLI copies it into a world file, and the TSS plan gets the same verdicts against the copy
in the twin as against "prod" itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook.context import AwsSettings, RunContext
from runbook.kinds.aws.policy import oac_statement
from runbook.sandbox.world import load_world
from tests.kinds.aws.world import World

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent.parent
TITLE = "<html><title>TIS Self-Service</title><body>live {v}</body></html>"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def ctx(moto_endpoint: str) -> Iterator[RunContext]:
    """"prod": the moto server behind the twin's CloudFront and Route53 rules (with AWS's
    waits at nought), which keep what moto drops (a distribution's OAC id), as AWS does."""
    from runbook.sandbox.cfrules import CloudFrontRules
    from runbook.sandbox.kit import Kit, moto_clients
    from runbook.sandbox.proxy import AwsProxy, Ids
    from runbook.sandbox.r53rules import Route53Rules

    req = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).close()
    direct = RunContext(aws=AwsSettings(endpoint_url=moto_endpoint, region="us-east-1",
                                        access_key_id="testing", secret_access_key="testing",
                                        max_attempts=1))
    proxy = AwsProxy(moto_endpoint, Ids())
    kit = Kit(proxy, moto_clients(moto_endpoint, "us-east-1"))
    CloudFrontRules(direct.client("cloudfront"), direct.client("acm"), 0.0, 0.0).install(kit)
    Route53Rules(direct.client("route53"), 0.0).install(kit)
    proxy.start()
    try:
        yield RunContext(aws=AwsSettings(endpoint_url=proxy.url, region="us-east-1",
                                         access_key_id="testing", secret_access_key="testing",
                                         max_attempts=1))
    finally:
        proxy.stop()


def grant(w: World, bucket: str, dist: dict[str, Any]) -> None:
    w.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [oac_statement(bucket, dist["Id"], dist["ARN"])]}))


def alias_record(w: World, zone: str, name: str, dist: dict[str, Any]) -> None:
    w.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": name, "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": dist["DomainName"],
                "EvaluateTargetHealth": False}}}]})


def distribution(w: World, origin: dict[str, Any], cert: str,
                 aliases: list[str] | None = None, logs: str | None = None) -> dict[str, Any]:
    aliases = aliases or []
    made = w.cf.create_distribution(DistributionConfig={
        "CallerReference": f"prod-{origin['DomainName']}", "Comment": "prod", "Enabled": True,
        "Aliases": {"Quantity": len(aliases), "Items": aliases},
        "DefaultRootObject": "index.html" if "S3OriginConfig" in origin else "",
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", **origin}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
            "MinTTL": 0, "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        "ViewerCertificate": {"ACMCertificateArn": cert, "SSLSupportMethod": "sni-only",
                              "MinimumProtocolVersion": "TLSv1.2_2021"},
        **({"Logging": {"Enabled": True, "IncludeCookies": False, "Prefix": logs,
                        "Bucket": "tis-cloudfront-logs.s3.amazonaws.com"}} if logs else {}),
    })["Distribution"]
    return {"Id": made["Id"], "ARN": made["ARN"], "DomainName": made["DomainName"]}


def site_distribution(w: World, bucket: str, path: str, cert: str,
                      aliases: list[str], logs: str | None = None) -> dict[str, Any]:
    """A site read through an origin access control, as Terraform makes it."""
    return distribution(w, {"DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
                            "OriginPath": path, "S3OriginConfig": {"OriginAccessIdentity": ""},
                            "OriginAccessControlId": w.oac()}, cert, aliases, logs=logs)


def website_distribution(w: World, bucket: str, cert: str) -> dict[str, Any]:
    """A distribution whose origin is the bucket's S3 website endpoint (it redirects)."""
    return distribution(w, {"DomainName": f"{bucket}.s3-website-us-east-1.amazonaws.com",
                            "OriginPath": "", "CustomOriginConfig": {
                                "HTTPPort": 80, "HTTPSPort": 443,
                                "OriginProtocolPolicy": "http-only"}}, cert)


def seed(ctx: RunContext, *, stage: bool = False) -> dict[str, str]:
    """Prod as the plan expects it; with ``stage``, also a stage that differs as in the
    incident: its bucket was made by hand without the grant, and prod's distribution
    reads an old bucket, not the one the pipeline deploys to."""
    w = World(ctx)
    cert = w.cert(["trainee.tis-selfservice.nhs.uk", "*.trainee.tis-selfservice.nhs.uk",
                   "trainee.tis.nhs.uk", "*.trainee.tis.nhs.uk"])
    prod_bucket = "tis-trainee-ui-prod-old" if stage else "tis-trainee-ui-prod"
    w.bucket("tis-trainee-ui-prod", {"v1.41.0/index.html": TITLE.format(v="v1.41.0")})
    # the pipeline's new bucket, made by hand: the new version, no grant yet (the plan's
    # staged switch grants it first)
    w.bucket("tis-trainee-ui-prod-new", {f"{v}/index.html": TITLE.format(v=v)
                                         for v in ("v1.41.0", "v1.42.0")})
    if stage:
        w.bucket(prod_bucket, {"v1.41.0/index.html": TITLE.format(v="v1.41.0")})
    site = site_distribution(w, prod_bucket, "/v1.41.0", cert,
                             ["trainee.tis-selfservice.nhs.uk"], logs="prod/")
    access_log(w, site)
    grant(w, prod_bucket, site)
    w.bucket("tis-selfservice-redirect")
    redirect = website_distribution(w, "tis-selfservice-redirect", cert)
    old_zone = w.zone("tis-selfservice.nhs.uk")
    w.zone("tis.nhs.uk")
    alias_record(w, old_zone, "trainee.tis-selfservice.nhs.uk", site)
    ids = {"distribution": site["Id"], "redirect_distribution": redirect["Id"]}
    if stage:
        w.bucket("tis-trainee-ui-stage", {"v1.42.0/index.html": TITLE.format(v="v1.42.0")},
                 ownership="ObjectWriter")  # made by hand: no grant
        st = site_distribution(w, "tis-trainee-ui-stage", "/v1.42.0", cert,
                               ["stage.trainee.tis-selfservice.nhs.uk"])
        w.bucket("tis-selfservice-redirect-stage")
        st_redirect = website_distribution(w, "tis-selfservice-redirect-stage", cert)
        alias_record(w, old_zone, "stage.trainee.tis-selfservice.nhs.uk", st)
        ids |= {"stage_distribution": st["Id"], "stage_redirect": st_redirect["Id"]}
    return ids


def access_log(w: World, site: dict[str, Any]) -> None:
    """Prod's standard logging: yesterday's visitors of the old address (the plan's soak
    replays them)."""
    import datetime as dt
    import gzip

    from runbook.sandbox.edgelog import HEADER, log_line

    w.bucket("tis-cloudfront-logs")
    now = dt.datetime.now(dt.UTC)
    line = log_line(when=now - dt.timedelta(hours=2), method="GET", domain=site["DomainName"],
                    host="trainee.tis-selfservice.nhs.uk", path="/", status=200, size=99,
                    https=True)
    w.s3.put_object(Bucket="tis-cloudfront-logs", Key=f"prod/{site['Id']}.{now:%Y-%m-%d-%H}.a.gz",
                    Body=gzip.compress((HEADER + line + "\n").encode()))


def plan_copy(folder: Path, moto: str, ids: dict[str, str]) -> Path:
    """The TSS plan with environments that reach the moto "prod" directly, and its copy."""
    text = (ROOT / "plans" / "tss-url-migration.yaml").read_text()
    prod = (f"distribution: {ids['distribution']}, "
            f"redirect_distribution: {ids['redirect_distribution']}")
    extra = f"""environments:
  moto-prod:
    aws: {{region: us-east-1, endpoint_url: "{moto}"}}
    resolvers: ["127.0.0.1:9"]
    vars: {{<<: *prod, {prod}}}
  captured-prod:
    sandbox: captured-prod.yaml
    vars: {{<<: *prod, {prod}, soak: 1s}}
  moto-prod-guarded:
    aws: {{region: us-east-1, endpoint_url: "{moto}"}}
    resolvers: ["127.0.0.1:9"]
    requires_rehearsal: captured-prod
    vars: {{<<: *prod, {prod}}}
"""
    if "stage_distribution" in ids:
        extra += f"""  moto-stage:
    aws: {{region: us-east-1, endpoint_url: "{moto}"}}
    vars: {{<<: *stage, distribution: {ids['stage_distribution']},
            redirect_distribution: {ids['stage_redirect']}}}
"""
    # the new environments go last, after the anchors they merge
    text = text.replace("environments:\n", "environments:\n", 1)
    head, sep, rest = text.partition("\nstages:\n")
    head = head + "\n" + extra.replace("environments:\n", "")
    path = folder / "tss.yaml"
    path.write_text(head + sep + rest)
    return path


def runbook(folder: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **KEYS,
           "AWS_CONFIG_FILE": str(folder / "no-config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-credentials")}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "runbook", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


VERDICT = re.compile(r"^\s+(ok|FAIL|not yet|later)\s+(\S.*?) - ", re.MULTILINE)
# the wire checks need the twin's edge and DNS, which a moto server alone does not have;
# a CloudFront metric counts the edge's answers, so it too is the twin's own: on the copy
# it counts the dry run's own requests (two 403s of the same gate, when the metric is read
# a second or more after them; on a busy machine it was: CI, stop 29), on moto nothing
WIRE = re.compile(r"://| (A|AAAA|CNAME|TXT) exists|ErrorRate of distribution")


def aws_verdicts(output: str) -> list[tuple[str, str]]:
    """(verdict, where: what) of every check of the dry run that asks AWS for what it
    holds (not what the twin's edge, DNS or traffic make: WIRE)."""
    return [(m.group(1), m.group(2)) for m in VERDICT.finditer(output)
            if not WIRE.search(m.group(2))]


def test_capture_copies_what_the_plan_names_and_the_copy_gives_the_same_verdicts(
        ctx: RunContext, moto_endpoint: str, tmp_path: Path) -> None:
    ids = seed(ctx)
    plan = plan_copy(tmp_path, str(ctx.aws.endpoint_url), ids)
    done = runbook(tmp_path, "sandbox", "capture", "tss.yaml", "--env", "moto-prod",
                   "-o", "captured-prod.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "captured moto-prod into captured-prod.yaml" in done.stdout
    world = load_world(tmp_path / "captured-prod.yaml")
    assert world.captured is not None and world.captured.env == "moto-prod"
    assert {d.id for d in world.distributions} == set(ids.values())
    site = next(d for d in world.distributions if d.id == ids["distribution"])
    assert site.origin.bucket == "tis-trainee-ui-prod" and site.origin.path == "/v1.41.0"
    assert site.aliases == ["trainee.tis-selfservice.nhs.uk"]
    bucket = next(b for b in world.buckets if b.name == "tis-trainee-ui-prod")
    assert bucket.grant == [ids["distribution"]]
    assert bucket.listing["v1.41.0/index.html"].size == len(TITLE.format(v="v1.41.0"))
    assert bucket.objects["v1.41.0/index.html"] == TITLE.format(v="v1.41.0")
    zones = {z.name: z for z in world.zones}
    assert {"tis-selfservice.nhs.uk", "tis.nhs.uk"} <= set(zones)
    [record] = [r for r in zones["tis-selfservice.nhs.uk"].records
                if r.name == "trainee.tis-selfservice.nhs.uk"]
    assert record.alias == ids["distribution"]
    [cert] = world.certificates
    assert cert.arn and cert.ref == site.certificate and "trainee.tis.nhs.uk" in cert.domains
    text = (tmp_path / "captured-prod.yaml").read_text()
    assert "testing" not in text  # no credential reaches the file

    real = runbook(tmp_path, "plan", plan.name, "--env", "moto-prod")
    copy = runbook(tmp_path, "plan", plan.name, "--env", "captured-prod")
    verdicts = aws_verdicts(real.stdout)
    assert len(verdicts) >= 8, real.stdout
    assert [v for v, d in verdicts
            if re.search(r"may read the objects of bucket tis-trainee-ui-prod\b(?!-)", d)] == ["ok"]
    assert {v for v, _ in verdicts} == {"ok", "not yet"}
    assert aws_verdicts(copy.stdout) == verdicts, (verdicts, aws_verdicts(copy.stdout))


def test_a_rehearsal_on_the_copy_runs_the_whole_plan_and_guards_prod(
        ctx: RunContext, moto_endpoint: str, tmp_path: Path) -> None:
    ids = seed(ctx)
    plan = plan_copy(tmp_path, str(ctx.aws.endpoint_url), ids)
    assert runbook(tmp_path, "sandbox", "capture", plan.name, "--env", "moto-prod",
                   "-o", "captured-prod.yaml", "--logs", "24").returncode == 0
    refused = runbook(tmp_path, "run", plan.name, "--env", "moto-prod-guarded", "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "requires a successful rehearsal on captured-prod" in refused.stderr
    run = runbook(tmp_path, "run", plan.name, "--env", "captured-prod", "--yes", timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "succeeded" in run.stdout
    at = load_world(tmp_path / "captured-prod.yaml").captured.at  # type: ignore[union-attr]
    # prod may now start; the report names the copy it was rehearsed on, and when
    guarded = runbook(tmp_path, "run", plan.name, "--env", "moto-prod-guarded", "--yes")
    assert "requires a successful rehearsal" not in guarded.stderr
    run_id = guarded.stdout.rsplit("/runs/", 1)[-1].strip()
    report = runbook(tmp_path, "report", run_id)
    assert report.returncode == 0, report.stderr
    assert (f"on a copy of moto-prod captured at {at} (captured-prod.yaml)"
            in report.stdout), report.stdout


def test_capture_only_reads(ctx: RunContext, moto_endpoint: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.client import BaseClient

    from runbook.plan.loader import load
    from runbook.sandbox.capture import capture

    ids = seed(ctx)
    plan = plan_copy(tmp_path, str(ctx.aws.endpoint_url), ids)
    calls: list[str] = []
    real = BaseClient._make_api_call

    def spy(self: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    p = load(plan, env="moto-prod").plan
    captured = capture(p, ctx)
    assert captured.world["buckets"]
    assert calls and [c for c in calls
                      if not c.startswith(("Get", "List", "Head", "Describe"))] == []


def test_diff_shows_how_stage_and_prod_differ_as_in_the_incident(
        ctx: RunContext, moto_endpoint: str, tmp_path: Path) -> None:
    ids = seed(ctx, stage=True)
    plan = plan_copy(tmp_path, str(ctx.aws.endpoint_url), ids)
    for env, out in (("moto-stage", "stage.yaml"), ("moto-prod", "prod.yaml")):
        done = runbook(tmp_path, "sandbox", "capture", plan.name, "--env", env, "-o", out)
        assert done.returncode == 0, done.stdout + done.stderr
    diff = runbook(tmp_path, "sandbox", "diff", "stage.yaml", "prod.yaml")
    assert diff.returncode == 1, diff.stdout + diff.stderr
    out = diff.stdout
    assert "captured from moto-stage at" in out and "captured from moto-prod at" in out
    pair = f"distribution {ids['stage_distribution']} ~ {ids['distribution']}"
    # the stage bucket (made by hand) does not let stage's distribution read it
    assert (f"{pair}: the bucket it reads lets it read (a CloudFront grant): no in "
            "moto-stage, yes in moto-prod") in out, out
    assert ("bucket tis-trainee-ui-stage ~ tis-trainee-ui-prod: object ownership: "
            "ObjectWriter in moto-stage, BucketOwnerEnforced in moto-prod") in out
    # prod's distribution reads an old bucket, not the one the pipeline deploys to
    assert (f"{pair}: reads bucket tis-trainee-ui-stage in moto-stage, but "
            "tis-trainee-ui-prod-old in moto-prod (a bucket the plan does not name; the plan's "
            "counterpart of tis-trainee-ui-stage there is tis-trainee-ui-prod)") in out
    same = runbook(tmp_path, "sandbox", "diff", "prod.yaml", "prod.yaml")
    assert same.returncode == 0 and "no differences that matter to the plan" in same.stdout


def test_capture_refuses_to_overwrite_and_to_capture_a_sandbox(
        ctx: RunContext, moto_endpoint: str, tmp_path: Path) -> None:
    ids = seed(ctx)
    plan = plan_copy(tmp_path, str(ctx.aws.endpoint_url), ids)
    (tmp_path / "captured-prod.yaml").write_text("keep me\n")
    done = runbook(tmp_path, "sandbox", "capture", plan.name, "--env", "moto-prod",
                   "-o", "captured-prod.yaml")
    assert done.returncode == 2
    assert "captured-prod.yaml exists; nothing was captured" in done.stderr
    assert (tmp_path / "captured-prod.yaml").read_text() == "keep me\n"
    shutil.copy(ROOT / "plans" / "sandbox" / "tss-before.yaml", tmp_path / "x.yaml")
    done = runbook(tmp_path, "sandbox", "capture", plan.name, "--env", "captured-prod",
                   "-o", "other.yaml")
    assert done.returncode == 2 and "capture reads a real environment" in done.stderr
    assert not (tmp_path / "other.yaml").exists()


def test_the_twin_serves_a_captured_object_with_its_size_and_type(tmp_path: Path) -> None:
    """An object captured without its body: the edge serves one of the same size and type,
    and S3 says it is synthesised; real ids (certificate ARN, zone id) are answered to."""
    import boto3

    from runbook.sandbox.twin import Twin
    from tests.sandbox.conftest import Look

    arn = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-real"
    (tmp_path / "world.yaml").write_text(f"""\
sandbox: 1
account: "111122223333"
captured: {{plan: p, env: prod, at: "2026-12-01T10:00:00Z", account: "111122223333"}}
certificates:
  - {{ref: real, arn: "{arn}", domains: [docs.example.org]}}
buckets:
  - name: docs-prod
    grant: [E9REALDIST]
    objects: {{v1/index.html: "<title>Docs</title>"}}
    listing:
      v1/index.html: {{size: 18, etag: 0f0e, content_type: text/html}}
      v1/app.js: {{size: 5000, etag: abcd-2, content_type: application/javascript}}
distributions:
  - id: E9REALDIST
    aliases: [docs.example.org]
    origin: {{bucket: docs-prod, path: /v1}}
    certificate: real
zones:
  - name: example.org
    id: Z0REALZONE
    records:
      - {{name: docs.example.org, type: A, alias: E9REALDIST}}
""")
    with Twin.start(load_world(tmp_path / "world.yaml")) as twin:
        look = Look(twin)
        page = look.get("docs.example.org", "/app.js")
        assert page.status_code == 200 and len(page.content) == 5000
        assert page.content.startswith(b"runbook sandbox: synthesised body of v1/app.js")
        s3 = look.client("s3")
        head = s3.head_object(Bucket="docs-prod", Key="v1/app.js")
        assert head["ContentType"] == "application/javascript"
        assert head["Metadata"] == {"runbook-synthesised": "true", "runbook-size": "5000"}
        assert look.get("docs.example.org", "/index.html").text == "<title>Docs</title>"
        acm = boto3.client("acm", endpoint_url=twin.proxy.url, region_name="us-east-1",
                           aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
        got = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert got["CertificateArn"] == arn and got["DomainName"] == "docs.example.org"
        r53 = look.client("route53")
        sets = r53.list_resource_record_sets(HostedZoneId="Z0REALZONE")["ResourceRecordSets"]
        assert "docs.example.org." in {r["Name"] for r in sets}
