"""The twin keeps what CloudFront keeps of its visitors: metrics in CloudWatch and access
logs in the logging bucket (sandbox/edgelog.py); and the checks that read them stop a
bad change: the error rate during the first outage of the incident, the replay of
yesterday's popular pages for a redirect map that misses one."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook.sandbox.twin import Twin
from tests.sandbox.conftest import PLANS, Look, fresh_twin, wait_for
from tests.sandbox.test_docs_plan import Monitor, _run

pytestmark = pytest.mark.slow
DOCS = PLANS / "sandbox" / "docs-before.yaml"


@pytest.fixture
def docs_twin() -> Iterator[Twin]:
    with fresh_twin(DOCS) as made:
        yield made


def _stat(look: Look, dist: str, metric: str, stat: str) -> float:
    now = dt.datetime.now(dt.UTC)
    got = look.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/CloudFront", MetricName=metric,
        Dimensions=[{"Name": "DistributionId", "Value": dist},
                    {"Name": "Region", "Value": "Global"}],
        StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=1),
        Period=600, Statistics=[stat])["Datapoints"]
    return sum(float(d[stat]) for d in got)


def _log_lines(look: Look, bucket: str) -> list[str]:
    s3 = look.client("s3", "eu-west-2")
    lines: list[str] = []
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        lines += body.decode().splitlines()
    return lines


def test_the_edge_publishes_metrics_and_writes_access_logs(docs_twin: Twin) -> None:
    look = Look(docs_twin)
    for _ in range(3):
        assert look.get("docs.example.test", "/").status_code == 200
    assert look.get("docs.example.test", "/old/p17?x=1").status_code == 403
    assert _stat(look, "E4DOCSEXAMPLE", "Requests", "Sum") == 4
    assert _stat(look, "E4DOCSEXAMPLE", "4xxErrorRate", "Average") == 25
    assert _stat(look, "E4DOCSEXAMPLE", "5xxErrorRate", "Average") == 0
    assert _stat(look, "E5HELPEXAMPLE", "Requests", "Sum") == 0
    docs_twin.edge.state.watch.flush()
    lines = _log_lines(look, "docs-example-logs")
    assert lines[0] == "#Version: 1.0" and lines[1].startswith("#Fields: date time")
    served = [x.split("\t") for x in lines if not x.startswith("#") and "LHR-SANDBOX" in x]
    live = [f for f in served if f[14] and f[17] == "0" and f[3] != "1024"]
    assert any(f[7] == "/old/p17" and f[8] == "403" and f[11] == "x=1" and
               f[15] == "docs.example.test" for f in live)
    # the world's past day was seeded as one file of 420 requests
    assert sum(1 for f in served if f[3] == "1024") == 420
    keys = [o["Key"] for o in look.client("s3", "eu-west-2").list_objects_v2(
        Bucket="docs-example-logs")["Contents"]]
    assert all(k.startswith("docs/E4DOCSEXAMPLE.") and k.endswith(".gz") for k in keys)


def test_the_replay_catches_a_map_that_misses_a_popular_old_page(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/old/p1 was asked 120 times yesterday; the map loses its row. http.redirects
    checks the map against itself and passes; the replay of the logs catches it (and
    counts no request runbook's own checks made)."""
    monkeypatch.setenv("UPTIME_TOKEN", "uptime-token-123")
    monitor = Monitor()
    copy = tmp_path / "plans"
    shutil.copytree(PLANS, copy)
    rows = (copy / "docs-redirects.csv").read_text().splitlines(keepends=True)
    (copy / "docs-redirects.csv").write_text(
        "".join(r for r in rows if "/old/p1," not in r))
    try:
        with fresh_twin(copy / "sandbox" / "docs-before.yaml") as twin:
            r = _run(cli, copy / "docs-site-move.yaml", tmp_path / "state", monitor)
            out = r.stdout + r.stderr
            assert r.code == 1, out
            assert "all 199 redirects work" in out, out
            assert "1 of 1 URLs failed, 120 of 120 requests (1 wrong status)" in out, out
            assert "[120 requests] https://docs.example.test/old/p1 ends on 403, " \
                   "expected 2xx" in out, out
            assert len((copy / "replay-failures.csv").read_text().splitlines()) == 2
            look = Look(twin)
            assert look.get("docs.example.test", "/old/p1").status_code == 403  # undone
    finally:
        monitor.server.shutdown()
        monitor.server.server_close()


class Visitors:
    """People using the live site while the run goes on: one request after another."""

    def __init__(self, look: Look, host: str) -> None:
        self.look, self.host = look, host
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._visit, daemon=True)

    def _visit(self) -> None:
        while not self._stop.is_set():
            try:
                self.statuses.append(self.look.get(self.host, "/").status_code)
            except Exception:  # the edge busy or stopping: a visitor tries again
                continue

    def __enter__(self) -> Visitors:
        self._thread.start()
        assert wait_for(lambda: bool(self.statuses))  # someone is on the site already
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_the_first_outage_is_stopped_by_the_error_rate(cli: Any, tmp_path: Path,
                                                       twin: Twin, look: Look) -> None:
    """The origin is switched to the hand-made bucket, with nothing but the deploy
    checked, as on the day; visitors get 403 and CloudFront's 4xx rate jumps: the soak
    fails and the switch is rolled back."""
    cf = look.client("cloudfront")
    before = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    plan = str(PLANS / "sandbox" / "incident-1-watched.yaml")
    with Visitors(look, "trainee.tis-selfservice.nhs.uk") as visitors:
        r = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir",
                str(tmp_path / "state"))
    out = r.stdout + r.stderr
    assert r.code == 1, out
    assert "4xxErrorRate of distribution E1PRODEXAMPLE" in out
    assert "above the most allowed, 5" in out
    assert "while soaking stage switch" in out
    assert "rolled back and verified" in out
    assert 403 in visitors.statuses and 200 in visitors.statuses
    after = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    assert after["Origins"] == before["Origins"]
