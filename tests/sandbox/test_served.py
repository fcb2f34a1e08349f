"""Rehearsing across processes against a served twin (`runbook sandbox serve --state`):
a run interrupted with Ctrl-C, the twin stopped and started again from its state folder,
then `runbook resume` (or `runbook rollback`) in a new process, as against AWS."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
from pathlib import Path

import boto3
import pexpect
import pytest

from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
certificates:
  - {ref: site, domains: [www.example.org]}
buckets:
  - name: site
    cache_control: no-cache
    objects: {v1/index.html: "<title>Site</title> v1"}
    grant: [E1SITE]
distributions:
  - id: E1SITE
    aliases: [www.example.org]
    origin: {bucket: site, path: /v1}
    certificate: site
zones:
  - name: example.org
    records:
      - {name: www.example.org, type: A, alias: E1SITE}
"""

PLAN = """\
runbook: 1
name: bump
environments:
  twin:
    sandbox: {serve: "http://127.0.0.1:PORT"}
stages:
  - name: deploy
    steps:
      - id: bump
        pre:
          - http.get: {url: "https://www.example.org/", status: 200, contains: v1}
        action:
          cloudfront.update: {id: E1SITE, origin: {path: /v2}}
        post:
          - http.get: {url: "https://www.example.org/", status: 200, contains: v2}
            within: 60m
            every: 1m
        rollback: auto
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(folder: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    return pexpect.spawn(sys.executable, ["-m", "runbook", *args], cwd=str(folder), env=env,
                         encoding="utf-8", timeout=60, dimensions=(40, 120),
                         preexec_fn=foreground_signals)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


class Served:
    """`runbook sandbox serve` in its own process, as a person runs it in a terminal."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.child: pexpect.spawn | None = None

    def start(self, expect: str) -> None:
        self.child = spawn(self.folder, "sandbox", "serve", "world.yaml", "--state", "twin",
                           "--port", str(self.port))
        self.child.expect(expect)
        self.child.expect("Ctrl-C stops it")

    def stop(self) -> None:
        assert self.child is not None
        self.child.sendintr()
        self.child.expect("sandbox stopped")
        assert finish(self.child) == 0

    def client(self, service: str) -> object:
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.port}",
                            region_name="eu-west-2", aws_access_key_id="sandbox",
                            aws_secret_access_key="sandbox")


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    (tmp_path / "world.yaml").write_text(WORLD)
    (tmp_path / "plan.yaml").write_text(textwrap.dedent(PLAN).replace("PORT", str(port)))
    twin = Served(tmp_path, port)
    twin.start("seeded from world.yaml")
    yield twin
    if twin.child is not None and twin.child.isalive():
        twin.child.terminate(force=True)


def interrupt_and_leave(folder: Path) -> str:
    child = spawn(folder, "run", "plan.yaml", "--env", "twin", "--yes")
    child.expect("attempt")  # the post check polls: v2 is not in the bucket
    child.sendintr()
    # the Ctrl-C lands in the action's wait for its deployment, or in the post check's
    child.expect(r"Interrupted( while step bump was under way \(between its intent and its "
                 r"outcome\))?\. What now\?")
    child.sendintr()  # a second Ctrl-C: leave things as they are
    child.expect(r"interrupted( while step bump was under way)?; left as it is with ")
    child.expect("undoes them")
    assert finish(child) == 130
    return next((folder / ".runbook" / "runs").iterdir()).name


def origin_path(twin: Served) -> str:
    cf = twin.client("cloudfront")
    cfg = cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]  # type: ignore[attr-defined]
    return str(cfg["Origins"]["Items"][0]["OriginPath"])


def test_ctrl_c_then_resume_after_the_twin_restarted(served, tmp_path):
    run_id = interrupt_and_leave(tmp_path)
    assert origin_path(served) == "/v2"  # left as it was
    # the twin stops and starts again from its state folder: the change is still there
    served.stop()
    served.start("continued from twin")
    assert origin_path(served) == "/v2"
    # the operator builds v2 into the bucket by hand; resume verifies the step and ends
    served.client("s3").put_object(Bucket="site", Key="v2/index.html",  # type: ignore[attr-defined]
                                   Body=b"<title>Site</title> v2", CacheControl="no-cache")
    again = spawn(tmp_path, "resume", run_id, "--yes")
    again.expect("step bump verified")
    again.expect("succeeded")
    assert finish(again) == 0
    served.stop()


def test_ctrl_c_then_rollback_from_another_process(served, tmp_path):
    run_id = interrupt_and_leave(tmp_path)
    back = spawn(tmp_path, "rollback", run_id, "--yes")
    back.expect("step bump rolled back and verified")
    assert finish(back) == 1
    assert origin_path(served) == "/v1"
    served.stop()


def test_a_twin_that_does_not_answer_is_named(cli, tmp_path):
    port = free_port()
    (tmp_path / "plan.yaml").write_text(textwrap.dedent(PLAN).replace("PORT", str(port)))
    r = cli("run", str(tmp_path / "plan.yaml"), "--env", "twin", "--yes", "--state-dir",
            str(tmp_path / "state"))
    assert r.code == 2
    assert f"served at http://127.0.0.1:{port}" in r.stderr
    assert "runbook sandbox serve WORLD --state DIR --port PORT" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_on_a_port_in_use_or_from_a_damaged_state_says_why(cli, tmp_path):
    (tmp_path / "world.yaml").write_text(WORLD)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = cli("sandbox", "serve", str(tmp_path / "world.yaml"), "--port", str(port))
    assert r.code == 2
    assert f"cannot serve its AWS API on port {port}" in r.stderr
    state = tmp_path / "twin"
    state.mkdir()
    (state / "twin.json").write_text("{}")
    (state / "moto.pickle").write_bytes(b"not a pickle")
    r = cli("sandbox", "serve", str(tmp_path / "world.yaml"), "--state", str(state))
    assert r.code == 2
    assert "cannot be read" in r.stderr and "empty --state folder" in r.stderr
    assert "Traceback" not in r.stderr
