"""`runbook sandbox capture --logs HOURS`: the last hours of a prod distribution's access
logs become its traffic in the world (the most requested URLs, capped), and the twin
seeded from that world has them in its logging bucket for a replay."""

from __future__ import annotations

import datetime as dt
import gzip
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from runbook.sandbox.edgelog import HEADER, log_line
from runbook.sandbox.world import load_world

PLAN = """\
runbook: 1
name: capture-logs
environments:
  prod:
    aws: {{endpoint_url: "{endpoint}", region: us-east-1}}
stages:
  - name: look
    checks:
      - cloudfront.distribution: {{id: "{dist}"}}
"""


@pytest.fixture
def prod(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_CONFIG_FILE", str(tmp_path / "none"))):
        monkeypatch.setenv(name, value)
    req = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).close()
    return lambda service: boto3.client(service, region_name="us-east-1",
                                        endpoint_url=moto_endpoint)


def _file(s3: Any, key: str, lines: list[str]) -> None:
    body = HEADER + "".join(x + "\n" for x in lines)
    s3.put_object(Bucket="prod-logs", Key=key, Body=gzip.compress(body.encode()))


def test_capture_copies_the_last_hours_of_logs_capped(prod: Any, tmp_path: Path, cli: Any,
                                                      moto_endpoint: str) -> None:
    s3, cf = prod("s3"), prod("cloudfront")
    s3.create_bucket(Bucket="prod-site")
    s3.create_bucket(Bucket="prod-logs")
    made = cf.create_distribution(DistributionConfig={
        "CallerReference": "logs", "Comment": "prod", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "site", "DomainName": "prod-site.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "allow-all",
                                 "ForwardedValues": {"QueryString": True,
                                                     "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0, "TrustedSigners": {"Enabled": False,
                                                                 "Quantity": 0}},
        "Logging": {"Enabled": True, "IncludeCookies": False,
                    "Bucket": "prod-logs.s3.amazonaws.com", "Prefix": "cf/"}})
    dist = made["Distribution"]["Id"]
    now = dt.datetime.now(dt.UTC)

    def hit(path: str, ago: float) -> str:
        return log_line(when=now - dt.timedelta(seconds=ago), method="GET",
                        domain="d1.cloudfront.net", host="www.example.test", path=path,
                        status=200, size=10, https=True)

    recent = [hit("/a", 600)] * 5 + [hit("/b?x=1", 700)] * 3 + [hit("/c", 800)]
    _file(s3, f"cf/{dist}.{now:%Y-%m-%d-%H}.aaaa.gz", recent)
    old = now - dt.timedelta(days=3)
    _file(s3, f"cf/{dist}.{old:%Y-%m-%d-%H}.bbbb.gz", [hit("/old", 3 * 86400)] * 50)
    (tmp_path / "plan.yaml").write_text(PLAN.format(endpoint=moto_endpoint, dist=dist))
    r = cli("sandbox", "capture", str(tmp_path / "plan.yaml"), "--env", "prod", "-o",
            str(tmp_path / "world.yaml"), "--logs", "6", "--logs-cap", "2")
    assert r.code == 0, r.stdout + r.stderr
    assert f"{dist}: 8 requests to 2 URLs (the 2 most requested of 3) from its access logs " \
           "of the last 6h (1 files, 0 malformed lines skipped)" in r.stdout
    world = load_world(tmp_path / "world.yaml")
    [d] = world.distributions
    assert d.logs is not None and d.logs.bucket == "prod-logs" and d.logs.prefix == "cf/"
    assert d.logs.traffic == {"https://www.example.test/a": 5,
                              "https://www.example.test/b?x=1": 3}
    assert "prod-logs" in {b.name for b in world.buckets}
