"""The crash matrix over AWS: a plan of AWS kinds against a moto server, killed from
outside at every point of its journal, then resumed in one copy and rolled back in
another, each to the exact AWS state.

The plan makes a new bucket, grants the distribution read access to it, copies the site
into it, switches the distribution's origin to it (using the bucket step's output) and
writes a record naming the distribution (using the switch step's output): every kind
whose interrupted apply must be settled from what AWS holds, and two outputs a later step
needs, which resume gets from ``recover`` when the run died before they were journaled.

moto's state lives in this process (the threaded server), so "a copy" of AWS is its
backends, pickled as the twin saves them (runbook.sandbox.state): after the kill the
backends are saved, resume runs, and the saved backends are put back for the rollback.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from runbook.context import AwsSettings, RunContext
from tests.engine.clihelp import run_ids, runbook
from tests.engine.crashkit import copy_run, events, kill_at

pytestmark = pytest.mark.slow

PLAN = """\
runbook: 1
name: aws-move
title: Move the site to a bucket of its own
environments:
  moto:
    aws: {{endpoint_url: "{endpoint}", region: us-east-1}}
stages:
  - name: bucket
    steps:
      - id: bucket
        action:
          s3.bucket: {{bucket: site-new}}
      - id: grant
        action:
          s3.bucket_policy: {{bucket: site-new, allow_cloudfront: {dist}}}
      - id: copy
        action:
          s3.copy: {{source_bucket: site-old, source_prefix: v1/, bucket: site-new}}
        post:
          - s3.object: {{bucket: site-new, key: v1/index.html}}
  - name: switch
    steps:
      - id: switch
        action:
          cloudfront.update:
            id: {dist}
            origin: {{domain: "${{steps.bucket.origin_domain}}", path: /v1}}
            every: 1s
      - id: record
        action:
          route53.record:
            zone: example.com
            name: www.example.com
            type: CNAME
            ttl: 60
            values: ["${{steps.switch.domain_name}}"]
            every: 1s
        post:
          - route53.record:
              zone: example.com
              name: www.example.com
              type: CNAME
              values: ["${{steps.switch.domain_name}}"]
"""

# The journal of a clean run: (type, step or stage). A change here is a change of the
# journal format or of the plan: the matrix then covers the new points.
CLEAN = [
    ("run.started", ""), ("stage.started", "bucket"), ("gate", "bucket"),
    ("step.started", "bucket"), ("intent", "bucket"), ("applied", "bucket"),
    ("verified", "bucket"),
    ("step.started", "grant"), ("intent", "grant"), ("applied", "grant"),
    ("verified", "grant"),
    ("step.started", "copy"), ("intent", "copy"), ("applied", "copy"), ("check", "copy"),
    ("verified", "copy"), ("stage.done", "bucket"),
    ("stage.started", "switch"), ("gate", "switch"),
    ("step.started", "switch"), ("intent", "switch"), ("applied", "switch"),
    ("verified", "switch"),
    ("step.started", "record"), ("intent", "record"), ("applied", "record"),
    ("check", "record"), ("verified", "record"), ("stage.done", "switch"),
    ("run.finished", ""),
]
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "NO_COLOR": "1"}


class Aws:
    """The moto server's world for this plan, and what a test compares of it."""

    def __init__(self, endpoint: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset",
                                                      data=b"", method="POST"),
                               timeout=10).close()
        from tests.kinds.aws.world import World

        self.world = World(RunContext(aws=AwsSettings(
            endpoint_url=endpoint, region="us-east-1", access_key_id="testing",
            secret_access_key="testing", max_attempts=2)))
        self.world.bucket("site-old", {"v1/index.html": "<h1>v1</h1>", "v1/app.js": "v1()"})
        made = self.world.distribution("site-old", "/v1")
        self.dist, self.domain = made["Id"], made["DomainName"]
        self.zone = self.world.zone("example.com")

    def state(self) -> dict[str, Any]:
        w = self.world
        origin = w.config(self.dist)["Origins"]["Items"][0]
        policy = {b: w.policy(b) for b in w.buckets()}
        return {"buckets": {b: sorted(w.keys(b)) for b in w.buckets()},
                "grants": {b: sorted(s.get("Sid", "") for s in p["Statement"])
                           for b, p in policy.items() if p},
                "origin": (origin["DomainName"], origin["OriginPath"]),
                "records": [(r["Name"], r["Type"], [v["Value"] for v in r["ResourceRecords"]])
                            for r in w.records(self.zone)]}

    def initial(self) -> dict[str, Any]:
        return {"buckets": {"site-old": ["v1/app.js", "v1/index.html"]}, "grants": {},
                "origin": ("site-old.s3.us-east-1.amazonaws.com", "/v1"), "records": []}

    def final(self) -> dict[str, Any]:
        return {"buckets": {"site-new": ["v1/app.js", "v1/index.html"],
                            "site-old": ["v1/app.js", "v1/index.html"]},
                "grants": {"site-new": [f"AllowCloudFrontRead{self.dist}"]},
                "origin": ("site-new.s3.us-east-1.amazonaws.com", "/v1"),
                "records": [("www.example.com.", "CNAME", [self.domain])]}


def _setup(folder: Path, endpoint: str) -> Aws:
    aws = Aws(endpoint)
    folder.mkdir(exist_ok=True)
    (folder / "move.yaml").write_text(PLAN.format(endpoint=endpoint, dist=aws.dist))
    return aws





def test_the_matrix_covers_every_point_of_a_clean_run(tmp_path: Path,
                                                      moto_endpoint: str) -> None:
    aws = _setup(tmp_path, moto_endpoint)
    assert aws.state() == aws.initial()
    r = runbook(tmp_path, "run", "move.yaml", "--env", "moto", "--yes", env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    seen = [(str(e["type"]), str(e.get("step") or e.get("stage") or "")) for e in
            events(tmp_path)]
    assert seen == CLEAN
    assert aws.state() == aws.final()


@pytest.mark.parametrize("n", range(1, len(CLEAN) + 1))
def test_kill_at_every_journal_point_then_resume_or_roll_back(tmp_path: Path, n: int,
                                                              moto_endpoint: str) -> None:
    from runbook.sandbox import state as saved

    killed = tmp_path / "resume"
    aws = _setup(killed, moto_endpoint)
    reached = kill_at(killed, n, ["run", "move.yaml", "--env", "moto", "--yes"], env=ENV,
                      limit=120)
    assert reached >= n, (n, reached)
    [run_id] = run_ids(killed)
    copy_run(killed, tmp_path / "rollback")
    (tmp_path / "aws").mkdir()
    saved.save(tmp_path / "aws", {})  # AWS as the kill left it, for the rollback

    resumed = runbook(killed, "resume", run_id, "--yes", env=ENV)
    assert "Traceback" not in resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, (n, reached, resumed.stdout, resumed.stderr)
    assert aws.state() == aws.final(), (n, reached)

    saved.load(tmp_path / "aws")
    back = runbook(tmp_path / "rollback", "rollback", run_id, "--yes", env=ENV)
    assert "Traceback" not in back.stdout + back.stderr
    assert back.returncode == 1, (n, reached, back.stdout, back.stderr)
    assert aws.state() == aws.initial(), (n, reached, back.stdout)
    assert "not proved" not in back.stdout  # every AWS kind here reads back its state
    for folder in (killed, tmp_path / "rollback"):  # no lock left for a person to clear
        assert not list((folder / ".runbook" / "locks").glob("*")), folder
