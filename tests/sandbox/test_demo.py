"""`runbook demo` as a newcomer runs it: in a pseudo-terminal, answering its gates."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

pytestmark = pytest.mark.slow


def test_demo_in_a_terminal(tmp_path):
    # pexpect is a terminal that never answers prompt_toolkit's cursor-position requests;
    # a real one does. Without this, a key typed while it waits for the answer is lost.
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160", "LINES": "50", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "RUNBOOK_CRASH_AFTER"):
        env.pop(name, None)
    child = pexpect.spawn(sys.executable, ["-m", "runbook", "demo", "--state-dir",
                                           str(tmp_path / "state")],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=120,
                          dimensions=(50, 160))
    child.delaybeforesend = 0.3  # let prompt_toolkit take the terminal before a key comes
    # two runs (stage rehearsal, then prod-like), three gates each
    for env_name, site in (("sandbox-stage", "stage.trainee.tis.nhs.uk"),
                           ("sandbox", "trainee.tis.nhs.uk")):
        child.expect(f"runbook run tss-url-migration.yaml --env {env_name}")
        child.expect(f"Add {site} to .*\\(y/N\\)")
        child.send("y")
        child.expect("Move .* to the redirect and point its DNS there\\? .*\\(y/N\\)")
        child.send("y")
        child.expect(r"succeeded\S*: every step applied and verified")  # \S*: bold's codes
    child.expect("runbook report")
    child.expect("run finished: \\*\\*succeeded\\*\\*")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_demo_without_a_terminal_answers_yes(cli, tmp_path, twin):
    r = cli("demo", "--state-dir", str(tmp_path / "state"))
    assert r.code == 0, r.stdout[-2000:] + r.stderr
    assert r.stdout.count("succeeded: every step applied and verified") == 2
    assert "| event |" in r.stdout and "rehearsed in run" in r.stdout
