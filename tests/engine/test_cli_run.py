"""End to end through the CLI, with the shell kind changing files in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.clihelp import FINAL, INITIAL, run_ids, runbook, setup_world, world_files

pytestmark = pytest.mark.slow


def test_run_without_terminal_or_yes_refuses_before_anything(tmp_path):
    setup_world(tmp_path)
    r = runbook(tmp_path, "run", "files.yaml")
    assert r.returncode == 2
    assert "no terminal to ask at the gates, and no --yes: nothing was run" in r.stderr
    assert world_files(tmp_path) == INITIAL
    assert run_ids(tmp_path) == []


def test_run_yes_applies_verifies_and_reports(tmp_path):
    setup_world(tmp_path)
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert world_files(tmp_path) == FINAL
    assert "succeeded: every step applied and verified (exit 0)" in r.stdout
    assert "step marker verified" in r.stdout
    [run_id] = run_ids(tmp_path)
    listing = runbook(tmp_path, "runs")
    assert run_id[:20] in listing.stdout and "succeeded" in listing.stdout
    report = runbook(tmp_path, "report", run_id)
    assert report.returncode == 0
    assert "| event |" in report.stdout and "run finished: **succeeded**" in report.stdout
    assert "`state`: `v1` -> `(what the command leaves)`" in report.stdout
    data = json.loads(runbook(tmp_path, "report", run_id, "--format", "json").stdout)
    assert data["outcome"] == "succeeded"
    assert [e["seq"] for e in data["events"]] == list(range(1, len(data["events"]) + 1))


def test_failing_post_check_rolls_back_with_yes(tmp_path):
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace('contains: "301"', 'contains: "308"'))
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert world_files(tmp_path) == {**INITIAL}
    assert "rolled_back: 1 post check(s) of step redirect failed; 4 step(s) rolled back" \
        in r.stdout


def test_on_failure_stop_leaves_state_and_resume_goes_on(tmp_path):
    plan = setup_world(tmp_path)
    text = plan.read_text()
    plan.write_text(text.replace('contains: "301"', 'contains: "308"'))
    r = runbook(tmp_path, "run", "files.yaml", "--yes", "--on-failure", "stop")
    assert r.returncode == 3
    assert world_files(tmp_path)["redirect.txt"] == "301\n"
    [run_id] = run_ids(tmp_path)
    # the plan in the journal is the one that runs: fixing the file does not change the run
    plan.write_text(text)
    again = runbook(tmp_path, "resume", run_id, "--yes", "--on-failure", "stop")
    assert again.returncode == 3
    back = runbook(tmp_path, "rollback", run_id, "--yes")
    assert back.returncode == 1, back.stdout + back.stderr
    assert world_files(tmp_path) == INITIAL


def test_digest_binding(tmp_path):
    setup_world(tmp_path)
    dry = runbook(tmp_path, "plan", "files.yaml")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    digest = dry.stdout.split("digest: ")[1].split()[0]
    assert "the plan can start" in dry.stdout
    assert world_files(tmp_path) == INITIAL  # the dry run changed nothing
    wrong = runbook(tmp_path, "run", "files.yaml", "--yes", "--digest", "ab" * 32)
    assert wrong.returncode == 2 and "changed since it was reviewed" in wrong.stderr
    assert world_files(tmp_path) == INITIAL
    ok = runbook(tmp_path, "run", "files.yaml", "--yes", "--digest", digest[:16])
    assert ok.returncode == 0


def test_plan_exits_1_when_the_first_stage_cannot_start(tmp_path):
    setup_world(tmp_path)
    (tmp_path / "version.txt").write_text("v0\n")
    dry = runbook(tmp_path, "plan", "files.yaml")
    assert dry.returncode == 1
    assert "FAIL" in dry.stdout and "output does not contain 'v1'" in dry.stdout
    assert "the plan cannot start now" in dry.stdout


def test_start_at_and_bad_options(tmp_path):
    setup_world(tmp_path)
    bad = runbook(tmp_path, "run", "files.yaml", "--yes", "--start-at", "alais")
    assert bad.returncode == 2 and "did you mean 'alias'" in bad.stderr
    bad2 = runbook(tmp_path, "run", "files.yaml", "--yes", "--on-failure", "panic")
    assert bad2.returncode == 2 and "choose ask, rollback or stop" in bad2.stderr
    r = runbook(tmp_path, "run", "files.yaml", "--yes", "--start-at", "marker")
    assert r.returncode == 4  # finished, but the skipped steps were not verified
    assert "skipped version (--start-at marker); alias (--start-at marker)" in r.stdout
    files = world_files(tmp_path)
    assert files["version.txt"] == "v1\n" and files["marker.txt"] == "done\n"
    report = runbook(tmp_path, "report", run_ids(tmp_path)[0]).stdout
    assert "step `version`: **skipped**: --start-at marker" in report


def test_lock_refuses_a_second_run_and_unlock_needs_the_id(tmp_path):
    setup_world(tmp_path)
    crashed = runbook(tmp_path, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "applied:alias"})
    assert crashed.returncode == -9
    second = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert second.returncode == 2
    assert "is locked by run" in second.stderr and "probably stale" in second.stderr
    lock_id = second.stderr.split("--lock-id ")[1].split("`")[0]
    wrong = runbook(tmp_path, "unlock", "files.yaml", "--lock-id", "nope")
    assert wrong.returncode == 2 and "does not match" in wrong.stderr
    ok = runbook(tmp_path, "unlock", "files.yaml", "--lock-id", lock_id)
    assert ok.returncode == 0 and "unlocked files@default" in ok.stdout


def test_report_of_unknown_run(tmp_path):
    setup_world(tmp_path)
    r = runbook(tmp_path, "report", "nope")
    assert r.returncode == 2 and "no run 'nope'" in r.stderr  # bad input
    assert "Traceback" not in r.stderr


def test_unreachable_aws_endpoint_names_the_cause_and_the_plan_line(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "runbook: 1\nname: unhappy\nenvironments:\n  x:\n"
        "    aws: {endpoint_url: \"http://127.0.0.1:9\", region: eu-west-2}\n"
        "stages:\n  - name: pre\n    checks:\n"
        "      - cloudfront.distribution: {id: E1, status: Deployed}\n")
    r = runbook(tmp_path, "run", "p.yaml", "--env", "x", "--yes",
                env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    # before the run: exit 2, nothing started (issue 11: an SDK error is a message)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("error: environment x cannot use AWS, so nothing was done: "
                               "could not reach http://127.0.0.1:9")
    assert "the endpoint is unreachable" in r.stderr
    assert r.stderr.rstrip().endswith("p.yaml, line 5, column 5")
    assert "Traceback" not in r.stderr and not (tmp_path / ".runbook").exists()


def test_secrets_never_reach_the_journal_output_or_report(tmp_path):
    secret = "s3cr3t-t0ken-value"
    (tmp_path / "p.yaml").write_text(
        "runbook: 1\nname: secrets\nstages:\n  - name: s\n    confirm: false\n    steps:\n"
        "      - id: use-token\n"
        "        action:\n"
        "          shell:\n"
        "            run: [sh, -c,\n"
        "                  'echo \"token=${env:API_TOKEN}\" > out.txt; echo ${env:API_TOKEN}']\n"
        "            undo: [rm, -f, out.txt]\n"
        "        post:\n"
        "          - shell: {run: [cat, out.txt], contains: 'token=${env:API_TOKEN}'}\n")
    r = runbook(tmp_path, "run", "p.yaml", "--yes", env={"API_TOKEN": secret})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "out.txt").read_text() == f"token={secret}\n"  # it was really used
    assert secret not in r.stdout + r.stderr
    [run_id] = run_ids(tmp_path)
    stored = "".join(p.read_text() for p in (tmp_path / ".runbook").rglob("*") if p.is_file())
    assert secret not in stored and "***" in stored
    report = runbook(tmp_path, "report", run_id)
    assert secret not in report.stdout
    shown = runbook(tmp_path, "show", "p.yaml")
    assert secret not in shown.stdout and "***" in shown.stdout
    missing = runbook(tmp_path, "run", "p.yaml", "--yes")
    assert missing.returncode == 2
    assert "the environment variable API_TOKEN is not set" in missing.stderr


def test_run_reads_the_plan_file_once(tmp_path, monkeypatch):
    """The definition digest comes from the document the loader read: one read per command."""
    from runbook.plan import yamlio
    from tests.conftest import run_cli

    plan = setup_world(tmp_path)
    reads: list[str] = []
    real = yamlio.read_text

    def counting(path, *, what="plan"):
        reads.append(str(path))
        return real(path, what=what)

    monkeypatch.setattr(yamlio, "read_text", counting)
    r = run_cli("run", "files.yaml", "--yes", cwd=tmp_path)
    assert r.code == 0, r.stdout + r.stderr
    assert len([p for p in reads if Path(p).name == plan.name]) == 1, reads
    assert world_files(tmp_path) == FINAL
