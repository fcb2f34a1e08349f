"""`runbook sandbox serve WORLD` as a person uses it: start it, use what it prints, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import sys

import boto3
import dns.resolver
import pexpect
import pytest

from tests.sandbox.conftest import WORLD
from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow


def test_serve_prints_working_endpoints_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "runbook", "sandbox", "serve", str(WORLD)],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=60,
                          preexec_fn=foreground_signals)
    child.expect(r"AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+)")
    endpoint = child.match.group(1)
    child.expect(r"dig @(127\.0\.0\.1) -p (\d+)")
    dns_port = int(child.match.group(2))
    child.expect(r"curl --cacert (\S+)")
    ca = child.match.group(1)
    cf = boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    ids = [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]]
    assert "E1PRODEXAMPLE" in ids
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], dns_port
    answer = resolver.resolve("trainee.tis-selfservice.nhs.uk", "A")
    assert [r.to_text() for r in answer] == ["127.0.0.1"]
    with open(ca) as fh:
        assert re.search("BEGIN CERTIFICATE", fh.read())
    child.kill(signal.SIGINT)
    child.expect("sandbox stopped")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not os.path.exists(ca)  # its CA and keys are cleaned up


def test_serve_a_broken_world_names_the_line(cli, tmp_path):
    bad = tmp_path / "world.yaml"
    bad.write_text("sandbox: 1\nbuckets:\n  - name: b\n    colour: red\n")
    r = cli("sandbox", "serve", str(bad))
    assert r.code == 2
    assert "colour" in r.stderr and "line 4" in r.stderr


UNCOVERED = """\
sandbox: 1
certificates:
  - {ref: site, domains: [www.example.org], region: REGION}
buckets:
  - {name: site, objects: {v1/index.html: v1}, grant: [E1SITE]}
distributions:
  - id: E1SITE
    aliases: [ALIAS]
    origin: {bucket: site, path: /v1}
CERTIFICATE"""


@pytest.mark.parametrize(("alias", "region", "certificate", "line", "says"), [
    ("www.example.org", "us-east-1", "", 8,
     "distribution E1SITE has aliases (www.example.org) but no certificate"),
    ("shop.example.org", "us-east-1", "    certificate: site\n", 10,
     "certificate 'site' (www.example.org) does not cover its alias shop.example.org"),
    ("www.example.org", "eu-west-2", "    certificate: site\n", 10,
     "uses certificate 'site' of eu-west-2"),
])
def test_serve_refuses_a_world_aws_could_not_hold(cli, tmp_path, alias, region, certificate,
                                                   line, says):
    world = tmp_path / "world.yaml"
    world.write_text(UNCOVERED.replace("ALIAS", alias).replace("REGION", region)
                     .replace("CERTIFICATE", certificate))
    r = cli("sandbox", "serve", str(world))
    assert r.code == 2, r.stderr
    assert says in r.stderr and "InvalidViewerCertificate" in r.stderr
    assert f"world.yaml, line {line}" in r.stderr
    assert "internal error" not in r.stderr


def test_a_run_on_a_world_aws_could_not_hold_is_refused(cli, tmp_path):
    (tmp_path / "world.yaml").write_text(UNCOVERED.replace("ALIAS", "www.example.org")
                                         .replace("REGION", "us-east-1")
                                         .replace("CERTIFICATE", ""))
    (tmp_path / "plan.yaml").write_text(
        "runbook: 1\nname: look\nenvironments:\n  twin:\n    sandbox: world.yaml\n"
        "stages:\n  - name: look\n    steps:\n      - id: look\n        action:\n"
        "          shell: {run: [touch, ran]}\n        post:\n"
        "          - shell: {run: [test, -e, ran]}\n")
    r = cli("run", "plan.yaml", "--env", "twin", "--yes", "--state-dir", "state", cwd=tmp_path)
    assert r.code == 2, r.stdout + r.stderr
    assert "but no certificate" in r.stderr and "world.yaml, line 8" in r.stderr
    assert "internal error" not in r.stderr + r.stdout
    assert not (tmp_path / "ran").exists()
