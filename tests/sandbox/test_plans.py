"""The TSS migration and the incident replays, run through the CLI against the twin,
and the world checked afterwards the way a user would: DNS, HTTPS, the AWS API."""

from __future__ import annotations

import json
import re

import pytest

from tests.sandbox.conftest import PLANS

pytestmark = pytest.mark.slow
TSS = str(PLANS / "tss-url-migration.yaml")
BROWSER = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}


def _run(cli, tmp_path, plan, env, *extra):
    return cli("run", plan, "--env", env, "--yes", "--state-dir", str(tmp_path / "state"),
               *extra)


def test_tss_migration_on_stage_then_prod(cli, tmp_path, twin, look):
    # prod-like first: refused, nothing rehearsed yet, nothing changed
    refused = _run(cli, tmp_path, TSS, "sandbox")
    assert refused.code == 2
    assert "requires a successful rehearsal on sandbox-stage" in refused.stderr
    assert look.a("trainee.tis.nhs.uk") == []

    stage = _run(cli, tmp_path, TSS, "sandbox-stage")
    assert stage.code == 0, stage.stdout + stage.stderr
    # the soak watched both distributions' error rates and replayed the old address's
    # most used URLs from its access logs (issue 22)
    assert "5xxErrorRate of distribution E2STAGEEXAMPLE over the last 5m is 0" in stage.stdout
    assert "replayed the 2 most requested URLs (45 requests)" in stage.stdout, stage.stdout
    assert look.a("stage.trainee.tis.nhs.uk") == ["127.0.0.1"]
    new = look.get("stage.trainee.tis.nhs.uk")
    assert new.status_code == 200 and "stage v1.42.0" in new.text
    # the site was switched to the pipeline's new bucket through a staged change
    assert "phase 3 (15%) passed" in stage.stdout and "promoted:" in stage.stdout
    old = look.get("stage.trainee.tis-selfservice.nhs.uk", "/dashboard?tab=forms")
    assert old.status_code == 301
    assert old.headers["location"] == "https://stage.trainee.tis.nhs.uk/dashboard?tab=forms"
    # the bookmark page was checked before the old name moved, at the distribution's own
    # name, and again in the soak and after the 301 (issue 23 item 8)
    assert re.search(r"ok post: https://\w+\.cloudfront\.net/dashboard/forms\?tab=2 "
                     r"answers 200", stage.stdout), stage.stdout
    assert stage.stdout.count("ok gate: a browser opening an old bookmark is asked to "
                              "update it") >= 2, stage.stdout

    prod = _run(cli, tmp_path, TSS, "sandbox", "--confirm-env", "sandbox")  # protected
    assert prod.code == 0, prod.stdout + prod.stderr
    assert look.a("trainee.tis.nhs.uk") == ["127.0.0.1"]
    live = look.get("trainee.tis.nhs.uk")
    assert live.status_code == 200 and "<title>TIS Self-Service" in live.text
    assert "live v1.42.0" in live.text  # served from the new bucket, promoted
    moved = look.get("trainee.tis-selfservice.nhs.uk", "/a/b?c=d")
    assert moved.status_code == 301
    assert moved.headers["location"] == "https://trainee.tis.nhs.uk/a/b?c=d"
    # a browser opening an old bookmark reads the message and the new link instead
    page = look.get("trainee.tis-selfservice.nhs.uk", "/a/b?c=d", headers=BROWSER)
    assert page.status_code == 200
    assert "has moved to trainee.tis.nhs.uk: please update your bookmarks" in page.text
    assert 'href="https://trainee.tis.nhs.uk/a/b?c=d"' in page.text
    # the AWS API agrees: the old name belongs to the redirect distribution now
    cf = look.client("cloudfront")
    aliases = {d["Id"]: d["Aliases"].get("Items", []) for d in
               cf.list_distributions()["DistributionList"]["Items"]}
    assert aliases["E1PRODEXAMPLE"] == ["trainee.tis.nhs.uk"]
    assert aliases["E3REDIRECTEXAMPLE"] == ["trainee.tis-selfservice.nhs.uk"]
    origin = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]["Origins"]
    assert origin["Items"][0]["DomainName"].startswith("tis-trainee-ui-prod-new.")
    assert origin["Items"][0]["OriginPath"] == "/v1.42.0"
    staged = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    assert staged["Quantity"] == 0  # cleaned up: no policy, no staging copy left
    runs = cli("runs", "--state-dir", str(tmp_path / "state"))
    assert runs.stdout.count("succeeded") == 2 and "declined" not in runs.stdout


def test_hand_made_bucket_is_stopped_by_a_pre_check(cli, tmp_path, twin, look):
    cf = look.client("cloudfront")
    before = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    r = _run(cli, tmp_path, str(PLANS / "sandbox" / "incident-1-hand-made-bucket.yaml"),
             "sandbox")
    assert r.code == 1
    assert "bucket tis-trainee-ui-prod-new has no bucket policy" in r.stdout
    assert "nothing had been changed" in r.stdout
    after = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    assert after == before  # nothing changed
    assert look.get("trainee.tis-selfservice.nhs.uk").status_code == 200


def test_pipeline_deploy_is_rolled_back_by_what_the_edge_shows(cli, tmp_path, twin, look):
    cf = look.client("cloudfront")
    before = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    r = _run(cli, tmp_path, str(PLANS / "sandbox" / "incident-2-pipeline-deploy.yaml"),
             "sandbox")
    assert r.code == 1, r.stdout + r.stderr
    assert "got 403" in r.stdout
    assert "step bump-version rolled back and verified" in r.stdout
    after = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    assert after["Origins"] == before["Origins"]
    live = look.get("trainee.tis-selfservice.nhs.uk")
    assert live.status_code == 200 and "live v1.41.0" in live.text
    [run_id] = [p.name for p in (tmp_path / "state" / "runs").iterdir()]
    report = json.loads(cli("report", run_id, "--format", "json", "--state-dir",
                            str(tmp_path / "state")).stdout)
    failing = [e for e in report["events"] if e["type"] == "check" and not e["ok"]]
    assert failing and failing[0]["observed"]["status"] == 403


def test_dry_run_in_the_sandbox_changes_nothing(cli, tmp_path, twin, look):
    r = cli("plan", TSS, "--env", "sandbox-stage")
    assert r.code == 0, r.stdout + r.stderr
    assert "Aliases.Items" in r.stdout and "the plan can start" in r.stdout
    assert look.a("stage.trainee.tis.nhs.uk") == []


def test_a_sandbox_run_cannot_be_resumed_by_another_process(tmp_path):
    import subprocess
    import sys

    state = tmp_path / "state"
    plan = str(PLANS / "sandbox" / "incident-2-pipeline-deploy.yaml")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1"}
    first = subprocess.run([sys.executable, "-m", "runbook", "run", plan, "--env", "sandbox",
                            "--yes", "--state", str(state), "--on-failure", "stop"],
                           capture_output=True, text=True, env=env, timeout=120, check=False)
    assert first.returncode == 3, first.stdout + first.stderr
    [run_id] = [p.name for p in (state / "runs").iterdir()]
    again = subprocess.run([sys.executable, "-m", "runbook", "resume", run_id, "--yes",
                            "--state", str(state)],
                           capture_output=True, text=True, env=env, timeout=60, check=False)
    assert again.returncode == 3
    assert "lived only as long as the process that ran it" in again.stderr
    assert "Traceback" not in again.stderr


def test_the_staged_pipeline_deploy_is_caught_on_the_header_and_pulled_back(
        cli, tmp_path, twin, look):
    import contextlib
    import threading

    import httpx

    cf, s3 = look.client("cloudfront"), look.client("s3")
    before = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    policy = json.loads(s3.get_bucket_policy(Bucket="tis-trainee-ui-prod")["Policy"])
    seen: list[tuple[int, str, str]] = []
    done = threading.Event()

    def visit() -> None:  # a visitor, all through the run
        while not done.wait(0.05):
            with contextlib.suppress(httpx.HTTPError):
                r = look.get("trainee.tis-selfservice.nhs.uk")
                seen.append((r.status_code, r.headers.get("x-runbook-twin-config", ""),
                             r.text))

    watcher = threading.Thread(target=visit, daemon=True)
    watcher.start()
    try:
        r = _run(cli, tmp_path, str(PLANS / "sandbox" / "incident-2-staged.yaml"), "sandbox")
    finally:
        done.set()
        watcher.join(timeout=30)
    assert r.code == 1, r.stdout + r.stderr
    assert "phase 1 (header) failed" in r.stdout and "got 403" in r.stdout
    assert "pulled back before promotion" in r.stdout
    assert "step bump-version rolled back and verified" in r.stdout
    # the primary's configuration is its snapshot, nothing of the staged change is left
    after = cf.get_distribution_config(Id="E1PRODEXAMPLE")["DistributionConfig"]
    assert after == before
    assert [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]] == [
        "E1PRODEXAMPLE", "E2STAGEEXAMPLE", "E3REDIRECTEXAMPLE", "E4STAGEREDIRECT"]
    assert json.loads(s3.get_bucket_policy(Bucket="tis-trainee-ui-prod")["Policy"]) == policy
    # no visitor's request was served by the broken configuration
    assert seen and all(s[0] == 200 and "live v1.41.0" in s[2] for s in seen)
    assert {s[1] for s in seen} <= {"", "primary"}
