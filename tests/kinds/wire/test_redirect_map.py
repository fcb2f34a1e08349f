"""A redirect map's failures as the operator sees them: the first 20 on screen grouped
by cause, every one in the result's data for the report, and a CSV on request; driven
through `runbook run` too."""

from __future__ import annotations

import csv
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runbook.sandbox.httpserver import Reply, WebServer, redirect
from tests.conftest import run_cli
from tests.kinds.wire.helpers import network, run_check

NEW = "https://new.example.test"
Web = Callable[..., WebServer]
NET = network(timeout=5.0)  # 52 requests on a threaded test server: room for a busy machine


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(web: Web) -> WebServer:
    """25 good redirects, 12 with a 302, 10 to the wrong page, 3 loops, and a page."""
    routes: dict[str, Any] = {f"/ok/{i}": redirect(f"{NEW}/{i}") for i in range(25)}
    routes |= {f"/302/{i}": redirect(f"{NEW}/{i}", 302) for i in range(12)}
    routes |= {f"/wrong/{i}": redirect(f"{NEW}/other") for i in range(10)}
    routes |= {f"/loop/{i}": redirect(f"/loop/{i}") for i in range(3)}
    routes["/page"] = Reply(200, "here")
    return web(routes)


def the_map(site: WebServer, dead: int) -> dict[str, str]:
    pairs = {site.url(f"/ok/{i}"): f"{NEW}/{i}" for i in range(25)}
    pairs |= {site.url(f"/302/{i}"): f"{NEW}/{i}" for i in range(12)}
    pairs |= {site.url(f"/wrong/{i}"): f"{NEW}/{i}" for i in range(10)}
    pairs |= {site.url(f"/loop/{i}"): f"{NEW}/{i}" for i in range(3)}
    pairs[site.url("/page")] = f"{NEW}/page"
    pairs[f"http://127.0.0.1:{dead}/gone"] = f"{NEW}/gone"
    return pairs


def test_the_first_20_failures_are_shown_grouped_by_cause(site: WebServer) -> None:
    dead = closed_port()
    r = run_check("http.redirects", {"map": the_map(site, dead)}, NET)
    assert not r.ok and r.outcome == "mismatch"
    lines = r.summary.splitlines()
    assert lines[0] == ("27 of 52 redirects failed (13 wrong status, 10 wrong target, "
                        "3 too many hops, 1 unreachable):")
    # The first 20 failures in the map's order (12 302s, then 8 wrong targets), grouped.
    assert lines[1] == "  wrong status (13):"
    assert lines[2] == f"    {site.url('/302/0')} answered 302, expected 301 or 308"
    assert lines[14] == "  wrong target (10):"
    assert lines[15] == (f"    {site.url('/wrong/0')} redirects to {NEW}/other, not "
                         f"{NEW}/0")
    assert len([ln for ln in lines if ln.startswith("    ")]) == 20
    assert lines[-1] == ("  ... and 7 more: every failure is in the report (and in "
                         "`failures_csv`, when set)")
    assert "too many hops" not in "\n".join(lines[1:])  # counted, not among the first 20


def test_every_failure_is_kept_in_the_data(site: WebServer) -> None:
    dead = closed_port()
    r = run_check("http.redirects", {"map": the_map(site, dead)}, NET)
    failures = r.observed["failures"]
    assert len(failures) == 27 and r.observed["checked"] == 52
    causes = [f["cause"] for f in failures]
    assert causes.count("wrong status") == 13 and causes.count("too many hops") == 3
    gone = failures[-1]
    assert gone["from"] == f"http://127.0.0.1:{dead}/gone"
    assert gone["cause"] == "unreachable" and gone["outcome"] == "refused"
    assert gone["hops"] == [] and gone["to"] == f"{NEW}/gone"
    loop = next(f for f in failures if f["outcome"] == "loop")
    assert loop["hops"][0] == {"url": site.url("/loop/0"), "status": 301,
                               "location": site.url("/loop/0")}
    assert set(loop) == {"from", "to", "ok", "outcome", "cause", "message", "hops"}


def test_failures_csv_on_request(site: WebServer, tmp_path: Path) -> None:
    dead = closed_port()
    r = run_check("http.redirects", {"map": the_map(site, dead),
                                     "failures_csv": "out/failures.csv"}, NET,
                  plan_dir=tmp_path)
    path = tmp_path / "out" / "failures.csv"
    assert r.observed["failures_csv"] == str(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 27
    assert rows[0] == {"from": site.url("/302/0"), "to": f"{NEW}/0", "cause": "wrong status",
                       "outcome": "mismatch", "status": "302", "reached": f"{NEW}/0",
                       "hops": "1", "message": f"{site.url('/302/0')} answered 302, "
                       "expected 301 or 308"}
    assert rows[-1]["cause"] == "unreachable" and rows[-1]["status"] == ""


def test_a_csv_that_cannot_be_written_leaves_the_verdict(site: WebServer,
                                                          tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")
    r = run_check("http.redirects", {"map": {site.url("/ok/1"): f"{NEW}/1"},
                                     "failures_csv": "blocker/f.csv"}, NET,
                  plan_dir=tmp_path)
    assert r.ok
    assert r.summary.startswith(f"all 1 redirects work (the failures CSV "
                                f"{tmp_path / 'blocker' / 'f.csv'} could not be written")


def test_a_run_shows_the_failures_grouped(site: WebServer, tmp_path: Path) -> None:
    (tmp_path / "map.csv").write_text("old,new\n" + "".join(
        f"{old},{new}\n" for old, new in list(the_map(site, closed_port()).items())[:40]))
    (tmp_path / "plan.yaml").write_text(
        "runbook: 1\nname: map-check\nstages:\n  - name: gate\n    checks:\n"
        "      - http.redirects: {file: map.csv, failures_csv: failures.csv}\n")
    r = run_cli("run", "plan.yaml", "--yes", cwd=tmp_path)
    assert r.code != 0
    out = r.stdout + r.stderr
    assert "15 of 40 redirects failed (12 wrong status, 3 wrong target)" in out
    assert "wrong target (3):" in out
    assert f"{site.url('/wrong/2')} redirects to {NEW}/other, not {NEW}/2" in out
    assert len(list(csv.reader((tmp_path / "failures.csv").open()))) == 16


def test_rate_spaces_the_requests_to_a_host(site: WebServer) -> None:
    pairs = {site.url(f"/ok/{i}"): f"{NEW}/{i}" for i in range(6)}
    start = time.monotonic()
    r = run_check("http.redirects", {"map": pairs, "rate": "20/s", "concurrency": 6}, NET)
    took = time.monotonic() - start
    assert r.ok, r.summary
    # Six requests at most 20 a second: the sixth starts 0.25 s after the first, at the
    # earliest (a lower bound the pacing guarantees, whatever the machine's load).
    assert took >= 0.25


@pytest.mark.parametrize(("written", "per_second", "shown"), [
    ("50/s", 50.0, "at most 50/s a host"), ("600/m", 10.0, "at most 10/s a host"),
    ("30/min", 0.5, "at most 30/m a host"), (2, 2.0, "at most 2/s a host")])
def test_rate_is_written_per_second_or_minute(written: object, per_second: float,
                                              shown: str) -> None:
    from runbook.kinds.wire.http import HttpRedirectsParams

    p = HttpRedirectsParams.model_validate({"map": {"http://a/": "http://b/"},
                                            "rate": written})
    assert p.rate == per_second and p.describe_options().endswith(shown)


def test_a_bad_rate_is_a_plan_error(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(
        "runbook: 1\nname: rated\nstages:\n  - name: gate\n    checks:\n"
        "      - http.redirects: {file: map.csv, rate: fast}\n")
    r = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert r.code == 2
    assert "'fast' is not a rate: write it like 50/s or 600/m" in r.stderr
    assert "plan.yaml, line 6" in r.stderr
