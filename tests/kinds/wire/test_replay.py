"""`http.replay`: the most requested URLs of CloudFront's access logs (gzip files in the
documented W3C format, or a CSV) asked again; failures grouped by cause, the most
requested first. Driven through `runbook run` against a loopback web server that plays
the old address (redirecting) and the new site."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from runbook.sandbox.httpserver import Reply, WebServer, redirect
from tests.conftest import run_cli

Web = Callable[..., WebServer]
FIELDS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem "
          "sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type "
          "x-edge-request-id x-host-header cs-protocol cs-bytes time-taken")


def line(path: str, *, host: str = "old.test", status: int = 200, method: str = "GET",
         query: str = "-", ago: float = 600) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=ago)
    return "\t".join([when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S"), "LHR62-C1",
                      "512", "192.0.2.1", method, "d111.cloudfront.net", path,
                      str(status), "-", "Mozilla/5.0", query, "-", "Hit", "id==", host,
                      "http", "100", "0.01"])


def write_log(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = f"#Version: 1.0\n#Fields: {FIELDS}\n" + "".join(x + "\n" for x in lines)
    (folder / name).write_bytes(gzip.compress(text.encode()))


@pytest.fixture
def site(web: Web) -> WebServer:
    """old.test redirects what the map knows; new.test serves it. /lost is missing from
    the map (old.test answers 404), /gone redirects to a page new.test lacks."""
    routes: dict[str, Reply] = {}
    for page in ("a", "b", "c"):
        routes[f"old.test/{page}"] = redirect(f"http://new.test/{page}")
        routes[f"new.test/{page}"] = Reply(200, "page")
    routes["old.test/gone"] = redirect("http://new.test/nowhere")
    return web(routes)


def plan(tmp_path: Path, params: str) -> None:
    (tmp_path / "plan.yaml").write_text(
        "runbook: 1\nname: replay\nstages:\n  - name: gate\n    checks:\n"
        f"      - http.replay: {{{params}}}\n")


def test_the_most_requested_broken_urls_come_first(site: WebServer, tmp_path: Path) -> None:
    lines = [line("/a")] * 50 + [line("/b")] * 20 + [line("/lost")] * 30 + \
        [line("/gone")] * 5 + [line("/c", host="other.test")] * 99 + \
        [line("/c", status=404)] * 70 + [line("/c", method="POST")] * 70 + \
        [line("/b", ago=3 * 86400)] * 500
    write_log(tmp_path / "logs", "E1LEGACY.2026-12-07-04.abcd1234.gz", lines[:150])
    write_log(tmp_path / "logs", "E1LEGACY.2026-12-07-05.ef567890.gz", lines[150:])
    (tmp_path / "logs" / "broken.gz").write_bytes(gzip.compress(
        f"#Version: 1.0\n#Fields: {FIELDS}\n{line('/a')}\nnot a log line\n".encode()))
    plan(tmp_path, f"logs: [logs], host: old.test, window: 1d, top: 10, ends_on: new.test, "
                   f"connect_to: '127.0.0.1:{site.port}', failures_csv: out/f.csv")
    r = run_cli("run", "plan.yaml", "--yes", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.code != 0, out
    assert "replayed the 4 most requested URLs (106 requests) from 846 lines of 3 files " \
           "(host old.test, the last 24h); 1 malformed line skipped: " in out
    assert f"{tmp_path / 'logs' / 'broken.gz'}, line 4: 1 fields, the header names 19" in out
    assert "2 of 4 URLs failed, 35 of 106 requests (2 wrong status):" in out
    first, second = [x for x in out.splitlines() if "requests] " in x]
    assert first.strip() == "[30 requests] http://old.test/lost ends on 404, expected 2xx"
    assert second.strip().startswith("[5 requests] http://old.test/gone ends on "
                                     "http://new.test/nowhere (404) after 1 redirect, "
                                     "expected 2xx")
    rows = list(csv.DictReader((tmp_path / "out" / "f.csv").open()))
    assert [(x["url"], x["requests"], x["cause"]) for x in rows] == [
        ("http://old.test/lost", "30", "wrong status"),
        ("http://old.test/gone", "5", "wrong status")]
    asked = {(q.method, q.host, q.path) for q in site.requests}
    assert ("GET", "new.test", "/a") in asked and all(m == "GET" for m, _, _ in asked)


def test_ends_on_catches_a_redirect_to_another_site(site: WebServer, tmp_path: Path) -> None:
    site.routes["old.test/away"] = redirect(site.url("/x"))
    site.routes["/x"] = Reply(200, "somewhere else")
    write_log(tmp_path / "logs", "x.gz", [line("/a"), line("/away"), line("/away")])
    plan(tmp_path, f"logs: [logs/x.gz], ends_on: new.test, ask: HEAD, "
                   f"connect_to: '127.0.0.1:{site.port}'")
    r = run_cli("run", "plan.yaml", "--yes", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert "1 of 2 URLs failed, 2 of 3 requests (1 wrong site)" in out
    assert f"[2 requests] http://old.test/away ends on {site.url('/x')} (200) after 1 " \
           "redirect, not on new.test" in out
    assert {q.method for q in site.requests} == {"HEAD"}


def test_a_csv_of_urls_and_a_new_site(site: WebServer, tmp_path: Path) -> None:
    (tmp_path / "top.csv").write_text("url,count\nhttp://old.test/a?x=1,9\n"
                                      "http://old.test/b,3\nnonsense,1\n")
    plan(tmp_path, f"csv: top.csv, at: 'http://new.test', query: drop, "
                   f"connect_to: '127.0.0.1:{site.port}'")
    r = run_cli("run", "plan.yaml", "--yes", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.code == 0, out
    assert "replayed the 2 most requested URLs (12 requests)" in out
    assert "1 malformed line skipped: " in out and "line 4: 'nonsense' is not an http(s)" in out
    assert {(q.host, q.path) for q in site.requests} == {("new.test", "/a"), ("new.test", "/b")}


@pytest.mark.parametrize(("no_data", "code", "said"), [
    ("fail", 1, "no_data: fail counts that as failed"),
    ("pass", 0, "no_data: pass counts that as passed")])
def test_an_empty_window_says_so(tmp_path: Path, no_data: str, code: int, said: str) -> None:
    write_log(tmp_path / "logs", "old.gz", [line("/a", ago=5 * 3600)])
    plan(tmp_path, f"logs: [logs], window: 1h, no_data: {no_data}")
    r = run_cli("run", "plan.yaml", "--yes", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.code == code, out
    assert "no request matched in 1 line of 1 file (the last 1h), so nothing was replayed" \
        in out
    assert said in out


def test_missing_logs_are_one_paragraph(tmp_path: Path) -> None:
    plan(tmp_path, "logs: [nothing/*.gz]")
    r = run_cli("run", "plan.yaml", "--yes", cwd=tmp_path)
    assert r.code == 1
    assert "no log file matches nothing/*.gz" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_only_get_and_head(tmp_path: Path) -> None:
    plan(tmp_path, "logs: [x], ask: POST")
    r = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert r.code == 2 and "plan.yaml, line 6" in r.stderr


S3_PLAN = """\
runbook: 1
name: replay-s3
environments:
  stage:
    aws: {{endpoint_url: "{endpoint}", region: us-east-1}}
stages:
  - name: gate
    checks:
      - http.replay: {{logs: ["{logs}"], distribution: E1V2LOGS, connect_to: "{pin}",
                      ends_on: new.test}}
"""


@pytest.fixture
def aws_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def test_logs_from_an_s3_prefix_in_the_v2_layout(site: WebServer, tmp_path: Path,
                                                 moto_endpoint: str, aws_keys: None) -> None:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="replay-logs")
    hour = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d/%H")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H")
    body = f"#Version: 1.0\n#Fields: {FIELDS}\n" + "\n".join(
        [line("/a")] * 3 + [line("/lost")] * 2) + "\n"
    base = "AWSLogs/123456789012/CloudFront"
    s3.put_object(Bucket="replay-logs", Key=f"{base}/E1V2LOGS/{hour}/E1V2LOGS.{stamp}.1.gz",
                  Body=gzip.compress(body.encode()))
    other = f"#Version: 1.0\n#Fields: {FIELDS}\n{line('/c')}\n"
    s3.put_object(Bucket="replay-logs", Key=f"{base}/E9OTHER1/{hour}/E9OTHER1.{stamp}.2.gz",
                  Body=gzip.compress(other.encode()))
    (tmp_path / "plan.yaml").write_text(S3_PLAN.format(
        endpoint=moto_endpoint, logs="s3://replay-logs/AWSLogs/", pin=f"127.0.0.1:{site.port}"))
    r = run_cli("run", "plan.yaml", "--env", "stage", "--yes", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.code == 1, out
    assert "replayed the 2 most requested URLs (5 requests) from 5 lines of 1 file" in out
    assert "[2 requests] http://old.test/lost ends on 404, expected 2xx" in out

    (tmp_path / "plan.yaml").write_text(S3_PLAN.format(
        endpoint=moto_endpoint, logs="s3://no-such-log-bucket/x/", pin="127.0.0.1:1"))
    r = run_cli("run", "plan.yaml", "--env", "stage", "--yes", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.code == 1 and "Traceback" not in out
    assert "the log bucket no-such-log-bucket does not exist (reading " \
           "s3://no-such-log-bucket/x/)" in out

    (tmp_path / "plan.yaml").write_text(S3_PLAN.format(
        endpoint=moto_endpoint, logs="s3://replay-logs/nothing-here/", pin="127.0.0.1:1"))
    r = run_cli("run", "plan.yaml", "--env", "stage", "--yes", cwd=tmp_path)
    assert "there are no log files under s3://replay-logs/nothing-here/" in r.stdout + r.stderr
