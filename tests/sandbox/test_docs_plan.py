"""plans/docs-site-move.yaml end to end in the twin, through the CLI: the new build
uploaded, the monitor paused and resumed, 200 old pages redirected at the edge by the
real function; and, when a check fails, every step undone. The world is then looked at
as a user would: HTTPS through the edge, the AWS API, the monitor's log."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runbook.sandbox.twin import Twin
from tests.sandbox.conftest import PLANS, Look, fresh_twin

pytestmark = pytest.mark.slow
WORLD = PLANS / "sandbox" / "docs-before.yaml"
TOKEN = "uptime-token-123"


class Monitor:
    """A stand-in for the uptime monitor's API: logs calls, hands out a window id."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                calls.append(("POST", self.path, self.headers.get("Authorization")))
                data = json.dumps({"window": {"id": "w-1"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def paths(self) -> list[str]:
        return [p.rsplit("/", 1)[1] for _, p, _ in self.calls]


@pytest.fixture
def monitor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Monitor]:
    monkeypatch.setenv("UPTIME_TOKEN", TOKEN)
    m = Monitor()
    yield m
    m.server.shutdown()
    m.server.server_close()


@pytest.fixture
def docs_twin() -> Iterator[Twin]:
    with fresh_twin(WORLD) as made:
        yield made


def _run(cli: Any, plan: Path, state: Path, monitor: Monitor) -> Any:
    return cli("run", str(plan), "--env", "sandbox", "--yes", "--state-dir", str(state),
               "--var", f"monitor_api={monitor.url}")


def test_the_docs_site_moves_end_to_end(cli, tmp_path, docs_twin, monitor):
    look = Look(docs_twin)
    assert look.get("docs.example.test", "/old/p17").status_code == 403  # not yet moved
    r = _run(cli, PLANS / "docs-site-move.yaml", tmp_path / "state", monitor)
    assert r.code == 0, r.stdout + r.stderr
    assert "all 200 redirects work" in r.stdout
    moved = look.get("docs.example.test", "/old/p17?from=bookmark")
    assert moved.status_code == 301
    assert moved.headers["location"] == "https://help.example.test/new/p17"
    assert look.get("docs.example.test", "/").status_code == 200  # not in the map
    new = look.get("help.example.test", "/new/p1")
    assert new.status_code == 200 and "moved from /old/p1" in new.text
    assert monitor.paths() == ["pause", "resume"]
    assert {auth for _, _, auth in monitor.calls} == {f"Bearer {TOKEN}"}
    # the AWS API agrees: the function is live and associated, the store holds the map
    cf = look.client("cloudfront")
    behaviour = cf.get_distribution_config(Id="E4DOCSEXAMPLE")["DistributionConfig"][
        "DefaultCacheBehavior"]
    assert behaviour["FunctionAssociations"]["Items"][0]["FunctionARN"].endswith(
        ":function/runbook-redirects-E4DOCSEXAMPLE")
    written = "".join(p.read_text() for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert TOKEN not in written and TOKEN not in r.stdout


def test_a_failed_check_undoes_the_move(cli, tmp_path, monitor):
    copy = tmp_path / "plans"
    shutil.copytree(PLANS, copy)
    plan = copy / "docs-site-move.yaml"
    plan.write_text(plan.read_text().replace("              timeout: 20s\n",
                                             "              timeout: 20s\n"
                                             "              status: 308\n"))
    with fresh_twin(copy / "sandbox" / "docs-before.yaml") as docs_twin:
        _undone(cli, tmp_path, plan, docs_twin, monitor)


def _undone(cli: Any, tmp_path: Path, plan: Path, docs_twin: Twin, monitor: Monitor) -> None:
    r = _run(cli, plan, tmp_path / "state", monitor)
    assert r.code == 1, r.stdout + r.stderr
    assert "200 of 200 redirects failed" in r.stdout
    # the monitor's pause is a request: undone, but runbook cannot read it back
    assert "2 step(s) rolled back and verified; 1 undone, not proved (pause-monitor" \
        in r.stdout
    look = Look(docs_twin)
    assert look.get("docs.example.test", "/old/p17").status_code == 403
    assert look.get("help.example.test", "/").status_code == 403
    assert monitor.paths() == ["pause", "resume"]  # resumed by the pause's undo
    cf = look.client("cloudfront")
    assert cf.list_functions()["FunctionList"]["Quantity"] == 0
    s3 = look.client("s3", "eu-west-2")
    assert s3.list_objects_v2(Bucket="help-example-site").get("KeyCount") == 0


def test_the_dry_run_shows_the_map_and_the_files(cli, docs_twin, monitor):
    r = cli("plan", str(PLANS / "docs-site-move.yaml"), "--env", "sandbox", "--var",
            f"monitor_api={monitor.url}")
    assert r.code == 0, r.stdout + r.stderr
    assert "200 redirects added, 0 changed, 0 removed" in r.stdout
    assert "s3://help-example-site/site/index.html" in r.stdout
    assert monitor.calls == []
    assert Look(docs_twin).get("docs.example.test", "/old/p1").status_code == 403


def test_a_map_past_aws_limits_stops_the_run_and_names_the_entry(cli, tmp_path, monitor):
    copy = tmp_path / "plans"
    shutil.copytree(PLANS, copy)
    with (copy / "docs-redirects.csv").open("a") as f:
        f.write(f"https://docs.example.test/old/long,https://help.example.test/{'x' * 1100}\n")
    with fresh_twin(copy / "sandbox" / "docs-before.yaml") as docs_twin:
        r = _run(cli, copy / "docs-site-move.yaml", tmp_path / "state", monitor)
        assert r.code == 1, r.stdout + r.stderr
        out = " ".join(r.stdout.split())  # the terminal wraps long lines
        # the gate's preview already says so; the step stops before changing anything
        assert ("cannot preview: " + str(copy / "docs-redirects.csv") + ": entry "
                "https://docs.example.test/old/long: its value (status and new URL) is 1142 "
                "bytes; a KeyValueStore value is at most 1024") in out
        assert "docs-site-move.yaml, line 87" in out
        assert "1 step(s) rolled back and verified; 1 undone, not proved (pause-monitor" in out
        look = Look(docs_twin)
        assert look.client("cloudfront").list_key_value_stores()[
            "KeyValueStoreList"]["Quantity"] == 0
        assert look.get("help.example.test", "/").status_code == 403
        assert monitor.paths() == ["pause", "resume"]
