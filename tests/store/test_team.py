"""A team sharing run state on S3 (moto), driven through the CLI as operators would.

The plan's one step writes ``<environment>.txt`` and then runs ``${hold}``: by default
``true``; tests that need a run to stay in flight make it wait for a file ``release``.
"""

from __future__ import annotations

import getpass
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Cli

pytestmark = pytest.mark.slow

HOLD = "hold=while [ ! -e release ]; do sleep 0.05; done"
USER = getpass.getuser()
HOST = socket.gethostname()


def _locks(s3: Any, state: str) -> list[dict[str, Any]]:
    """The lock objects as they are on S3 (quicker than a CLI call for waiting)."""
    bucket, _, prefix = state[len("s3://"):].partition("/")
    found = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/locks/").get("Contents", [])
    return [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
            for o in found]


def _wait_for_lock(s3: Any, state: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        held = _locks(s3, state)
        if len(held) >= count:
            return held
        time.sleep(0.05)
    raise AssertionError("the run never took its lock")


def _finish(proc: subprocess.Popen[str], folder: Path) -> tuple[int, str, str]:
    (folder / "release").write_text("")
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def _run_ids(s3: Any, state: str) -> list[str]:
    bucket, _, prefix = state[len("s3://"):].partition("/")
    got = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/runs/", Delimiter="/")
    return sorted(p["Prefix"].split("/")[-2] for p in got.get("CommonPrefixes", []))


def test_a_second_run_of_the_same_plan_and_env_is_refused_naming_the_first(
        cli: Cli, tmp_path: Path, state: str, s3: Any) -> None:
    a = cli.folder(tmp_path / "alice")
    b = cli.folder(tmp_path / "bob")
    first = cli.start(a, "run", "team.yaml", "-e", "qa", "--yes", "--state", state,
                      "--var", HOLD)
    try:
        [held] = _wait_for_lock(s3, state)
        second = cli(b, "run", "team.yaml", "-e", "qa", "--yes", "--state", state)
        assert second.returncode == 2
        err = " ".join(second.stderr.split())
        assert (f"plan team on qa is locked by run {held['run_id']} by {USER} on {HOST} "
                f"(pid {first.pid}) since {held['since']}") in err
        assert f"lock id {held['lock_id']}" in err
        assert "Wait for that run to finish" in err and "stale" not in err
        assert "Ctrl-C in its terminal offers to roll back" in " ".join(err.split())
        assert not (b / "qa.txt").exists()
        listing = cli(b, "locks", "--state", state)
        assert held["lock_id"] in listing.stdout and "alive" in listing.stdout
    finally:
        code, out, err = _finish(first, a)
    assert code == 0, out + err
    assert cli(a, "locks", "--state", state).stdout.startswith("no locks held")


def test_runs_on_different_environments_go_in_parallel(cli: Cli, tmp_path: Path,
                                                       state: str, s3: Any) -> None:
    folder = cli.folder(tmp_path / "w")
    procs = [cli.start(folder, "run", "team.yaml", "-e", env, "--yes", "--state", state,
                       "--var", HOLD) for env in ("qa", "stage")]
    try:
        held = _wait_for_lock(s3, state, count=2)
        assert sorted(h["key"] for h in held) == ["team@qa", "team@stage"]
    finally:
        (folder / "release").write_text("")
        results = [(*p.communicate(timeout=30), p.returncode) for p in procs]
    assert [r[2] for r in results] == [0, 0], results
    listing = cli(folder, "runs", "--state", state).stdout
    assert listing.count("succeeded") == 2


def test_a_killed_runs_lock_is_stale_cleared_by_id_and_resumed_elsewhere(
        cli: Cli, tmp_path: Path, state: str, s3: Any) -> None:
    """Run from folder A, killed; the lock is seen as stale and broken by id from B; the
    run is resumed from B, which has no state of its own: S3 is the only truth."""
    a = cli.folder(tmp_path / "a")
    b = cli.folder(tmp_path / "b")
    crashed = cli(a, "run", "team.yaml", "-e", "qa", "--yes", "--state", state,
                  env={"RUNBOOK_CRASH_AFTER": "intent:write"})
    assert crashed.returncode == -9
    assert not (a / ".runbook").exists()
    [run_id] = _run_ids(s3, state)
    listing = cli(b, "locks", "--state", state)
    assert "probably stale: its process" in listing.stdout and run_id in listing.stdout
    [held] = json.loads(cli(b, "locks", "--state", state, "--format", "json").stdout)
    again = cli(b, "run", "team.yaml", "-e", "qa", "--yes", "--state", state)
    assert again.returncode == 2 and "probably stale" in again.stderr
    assert f"runbook unlock --state {state} --lock-id {held['lock_id']}" in again.stderr
    wrong = cli(b, "unlock", "--lock-id", "nope", "--state", state)
    assert wrong.returncode == 2 and f"locks held there: {held['lock_id']}" in wrong.stderr
    ok = cli(b, "unlock", "--lock-id", held["lock_id"], "--state", state,
             "--reason", "alice's laptop died")
    assert ok.returncode == 0, ok.stderr
    assert f"recorded in the journal of run {run_id}" in ok.stdout
    assert cli(b, "locks", "--state", state).stdout.startswith("no locks held")
    resumed = cli(b, "resume", run_id, "--yes", "--state", state)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (a / "qa.txt").read_text() == "done\n"  # the run's world is A's folder
    assert not (b / ".runbook").exists() and not (b / "qa.txt").exists()
    report = cli(b, "report", run_id, "--state", state).stdout
    assert (f"**lock broken** by {USER}@{HOST} (lock `{held['lock_id']}` held by "
            f"{USER}@{HOST} pid {held['pid']}") in report
    assert "alice's laptop died" in report and "run finished: **succeeded**" in report


def test_a_silent_run_on_another_host_is_probably_stale_after_stale_after(
        cli: Cli, tmp_path: Path, state: str, s3: Any, bucket: str) -> None:
    folder = cli.folder(tmp_path / "w")
    lock = {"lock_id": "0123456789ab", "key": "team@prod", "run_id": "r-gone",
            "user": "carol", "host": "elsewhere", "pid": 1, "since": "2026-01-01T09:00:00Z"}
    s3.put_object(Bucket=bucket, Key="runbook/locks/team@prod.json",
                  Body=json.dumps(lock).encode())
    listing = cli(folder, "locks", "--state", state).stdout
    assert "carol@elsewhere" in listing and "probably stale: its run has shown no sign of " \
        "life for" in listing
    alive = cli(folder, "locks", "--state", state, "--stale-after", "10000d").stdout
    assert "alive" in alive
    refused = cli(folder, "unlock", "--lock-id", "0123456789ab", "--state", state,
                  "--stale-after", "10000d")
    assert refused.returncode == 2 and "looks alive" in refused.stderr
    forced = cli(folder, "unlock", "--lock-id", "0123456789ab", "--state", state,
                 "--stale-after", "10000d", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "not recorded in a journal: no run 'r-gone'" in forced.stdout


def test_rehearsal_binds_prod_to_the_definition_run_on_stage(cli: Cli, tmp_path: Path,
                                                              state: str, s3: Any) -> None:
    folder = cli.folder(tmp_path / "w")
    refused = cli(folder, "run", "team.yaml", "-e", "prod", "--yes", "--state", state)
    assert refused.returncode == 2
    err = " ".join(refused.stderr.split())
    assert "prod requires a successful rehearsal on stage of this same plan definition" in err
    assert f"the state store {state} holds none. No run of this plan on stage" in err
    assert not (folder / "prod.txt").exists()

    assert cli(folder, "run", "team.yaml", "-e", "stage", "--yes", "--state",
               state).returncode == 0
    [stage_run] = _run_ids(s3, state)
    allowed = cli(folder, "run", "team.yaml", "-e", "prod", "--yes", "--state", state)
    assert allowed.returncode == 0, allowed.stderr
    prod_run = next(r for r in _run_ids(s3, state) if "-prod-" in r)
    assert f"- rehearsal: run `{stage_run}` on stage" in cli(
        folder, "report", prod_run, "--state", state).stdout

    plan = folder / "team.yaml"
    plan.write_text(plan.read_text().replace("Write the environment's file",
                                             "Write the file"))
    changed = cli(folder, "run", "team.yaml", "-e", "prod", "--yes", "--state", state)
    assert changed.returncode == 2
    err = " ".join(changed.stderr.split())
    assert f"The latest run on stage is {stage_run}" in err and "succeeded" in err
    assert "the plan (or a library step it uses) has changed since" in err

    skipped = cli(folder, "run", "team.yaml", "-e", "prod", "--yes", "--state", state,
                  "--skip-rehearsal", "stage is down; change approved in CHG-42")
    assert skipped.returncode == 0, skipped.stderr
    run_id = sorted(r for r in _run_ids(s3, state) if "-prod-" in r)[-1]
    report = cli(folder, "report", run_id, "--state", state).stdout
    top = report.split("## Timeline")[0]
    assert ("> **Rehearsal skipped.** prod requires a successful run on stage first; "
            f"{USER} ran it without one, giving this reason: \"stage is down; change "
            "approved in CHG-42\"") in top
    assert "rehearsal **skipped**: stage is down" in report


def test_identity_the_aws_principal_is_recorded_and_listed(cli: Cli, tmp_path: Path,
                                                            state: str, s3: Any,
                                                            bucket: str) -> None:
    folder = cli.folder(tmp_path / "w", "site.yaml")
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<html>")
    r = cli(folder, "run", "site.yaml", "--yes", "--state", state, "--var",
            f"bucket={bucket}")
    assert r.returncode == 0, r.stdout + r.stderr
    [run_id] = _run_ids(s3, state)
    report = cli(folder, "report", run_id, "--state", state).stdout
    assert f"- operator: {USER}@{HOST}" in report
    assert "- AWS principal: arn:aws:sts::123456789012:user/moto (account 123456789012)" \
        in report
    assert f"run started by **{USER}@{HOST} as arn:aws:sts::123456789012:user/moto**" in report
    listing = cli(folder, "runs", "--env", "default", "--state", state).stdout
    assert "user/moto @123456789012" in listing and "succeeded" in listing
    assert cli(folder, "runs", "--env", "prod", "--state", state).stdout.startswith(
        "no runs in")

    team = cli.folder(tmp_path / "w")  # a shell-only plan never asks STS
    assert cli(team, "run", "team.yaml", "-e", "qa", "--yes", "--state",
               state).returncode == 0
    qa_run = next(r for r in _run_ids(s3, state) if "-qa-" in r)
    assert "- AWS principal: not looked up: the plan uses no AWS kinds" in cli(
        team, "report", qa_run, "--state", state).stdout


def test_an_unusable_state_bucket_stops_before_anything(cli: Cli, tmp_path: Path) -> None:
    folder = cli.folder(tmp_path / "w")
    missing = cli(folder, "run", "team.yaml", "-e", "qa", "--yes", "--state",
                  "s3://no-such-bucket/x")
    assert missing.returncode == 3
    assert missing.stderr.startswith("error: the state bucket 'no-such-bucket' does not exist")
    unreachable = cli(folder, "runs", "--state", "s3://b/x",
                      env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert unreachable.returncode == 3 and "could not reach" in unreachable.stderr
    for r in (missing, unreachable):
        assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert not (folder / "qa.txt").exists() and not (folder / ".runbook").exists()


def test_the_plan_names_its_state(cli: Cli, tmp_path: Path, state: str, s3: Any) -> None:
    folder = cli.folder(tmp_path / "w")
    plan = folder / "team.yaml"
    plan.write_text(plan.read_text().replace("runbook: 1\n", f"runbook: 1\nstate: {state}\n"))
    assert cli(folder, "run", "team.yaml", "-e", "qa", "--yes").returncode == 0
    assert not (folder / ".runbook").exists()
    assert len(_run_ids(s3, state)) == 1
    # RUNBOOK_STATE is the default for commands without a plan
    assert "succeeded" in cli(folder, "runs", env={"RUNBOOK_STATE": state}).stdout
