"""`runbook demo` as a newcomer runs it: in a pseudo-terminal, answering its gates and
typing the protected environment's name; and without a terminal, where it says what it
answered for you. Afterwards `runbook runs` finds the demo's runs."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow


def test_demo_in_a_terminal(cli, tmp_path):
    # pexpect is a terminal that never answers prompt_toolkit's cursor-position requests;
    # a real one does. Without this, a key typed while it waits for the answer is lost.
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160", "LINES": "50", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "RUNBOOK_CRASH_AFTER", "RUNBOOK_STATE",
                 "RUNBOOK_STATE_DIR"):
        env.pop(name, None)
    # no --state: the demo keeps its runs where `runbook runs` looks, ./.runbook
    child = pexpect.spawn(sys.executable, ["-m", "runbook", "demo"],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=120,
                          dimensions=(50, 160),
                          preexec_fn=foreground_signals)
    child.delaybeforesend = 0.3  # let prompt_toolkit take the terminal before a key comes
    # two runs (stage rehearsal, then prod-like), two gates each; prod-like is protected
    for env_name, site in (("sandbox-stage", "stage.trainee.tis.nhs.uk"),
                           ("sandbox", "trainee.tis.nhs.uk")):
        child.expect(f"runbook run tss-url-migration.yaml --env {env_name}(?!-)")
        if env_name == "sandbox":
            child.expect("sandbox is protected. Type its name to start:")
            child.sendline("sandbox")
        # the staged switch to the new bucket: the stage's gate, then one per phase
        child.expect("Switch .* staged\\? .*\\(y/n\\)")
        child.send("y")
        for _phase in range(3):
            child.expect("phase \\d \\(.*\\) passed: .*\\(y/n\\)")
            child.send("y")
        child.expect(f"Add {site} to .*\\(y/n\\)")
        child.send("y")
        child.expect("Move .* to the redirect and point its DNS there\\? .*\\(y/n\\)")
        child.send("y")
        child.expect(r"succeeded\S*: every step applied and verified")  # \S*: bold's codes
    child.expect("runbook report")
    # on a terminal the report is readable text, not Markdown's table syntax
    child.expect("outcome: succeeded")
    child.expect("run finished: succeeded")
    child.expect("The demo's runs are kept in .runbook: `runbook runs` lists them")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    listed = cli("runs", cwd=tmp_path)
    assert listed.code == 0
    assert listed.stdout.count("succeeded") == 2, listed.stdout
    assert "sandbox-stage" in listed.stdout


def test_demo_without_a_terminal_answers_for_you_and_says_so(cli, tmp_path, twin):
    state = str(tmp_path / "state")
    r = cli("demo", "--state", state)
    assert r.code == 0, r.stdout[-2000:] + r.stderr
    assert ">>> runbook run tss-url-migration.yaml --env sandbox --yes --confirm-env sandbox" \
        in r.stdout
    assert ("sandbox is protected: in a terminal you would type its name to start. There is "
            "no terminal, so the demo confirms it with --confirm-env sandbox for you.") \
        in " ".join(r.stdout.split())
    assert r.stdout.count("succeeded: every step applied and verified") == 2
    assert "| event |" in r.stdout and "rehearsed in run" in r.stdout
    assert "protected environment confirmed (--confirm-env)" in r.stdout
    assert (f"The demo's runs are kept in {state}: `runbook runs --state {state}` lists them"
            in r.stdout)
    listed = cli("runs", "--state", state, "--env", "sandbox")
    assert listed.code == 0 and "succeeded" in listed.stdout


def test_the_prod_like_environment_is_protected(cli, tmp_path, twin):
    """Typed by the demo only: a plain run without a terminal must name it itself."""
    from tests.sandbox.conftest import PLANS

    state = str(tmp_path / "state")
    plan = str(PLANS / "tss-url-migration.yaml")
    r = cli("run", plan, "--env", "sandbox", "--yes", "--state", state,
            "--skip-rehearsal", "testing the guard")
    assert r.code == 2
    assert ("sandbox is a protected environment: --yes alone is not enough; add "
            "--confirm-env sandbox") in r.stderr
    assert cli("runs", "--state", state).stdout.startswith("no runs in")
