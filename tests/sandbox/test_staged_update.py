"""``cloudfront.staged_update`` through the CLI against the twin: a header phase, weighted
phases, promotion and clean-up; a broken change caught in the header phase and pulled back
without a deployment of the primary; AWS's rules refused before anything moves."""

from __future__ import annotations

import contextlib
import threading

import pytest

from tests.sandbox.conftest import write_plan

pytestmark = pytest.mark.slow

SITE = """\
sandbox: 1
timing: {scale: 0.01, deploy: 60, invalidation: 60}
certificates:
  - {ref: site, domains: [www.example.org]}
buckets:
  - name: site
    cache_control: no-cache
    objects:
      v1/index.html: "<title>Site</title> version one"
      v2/index.html: "<title>Site</title> version two"
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
name: staged
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
      - id: switch
        action:
          cloudfront.staged_update:
            id: E1SITE
            origin: {path: PATH}
            grant_staging: GRANT
            traffic:
              - header: true
                checks:
                  - http.get: {url: "https://www.example.org/", contains: version two}
              - weight: 15%
                stickiness: {idle: 5m}
                checks:
                  - http.get: {url: "https://www.example.org/", contains: version two}
        post:
          - http.get: {url: "https://www.example.org/", contains: version two}
"""


def _plan(tmp_path, path: str = "/v2", grant: str = "true") -> str:
    return write_plan(tmp_path, PLAN.replace("PATH", path).replace("GRANT", grant))


def _run(cli, tmp_path, plan: str):
    return cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))


def _left(look) -> tuple[list[str], int, list[str]]:
    cf = look.client("cloudfront")
    dists = [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]]
    policies = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    config = cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]
    return dists, policies["Quantity"], [config["Origins"]["Items"][0]["OriginPath"],
                                         config.get("ContinuousDeploymentPolicyId") or ""]


def test_a_staged_change_is_promoted_and_cleaned_up(cli, tmp_path, small_twin):
    _twin, look = small_twin(SITE)
    done = _run(cli, tmp_path, _plan(tmp_path))
    assert done.code == 0, done.stdout + done.stderr
    assert "version two" in look.get("www.example.org").text
    dists, policies, primary = _left(look)
    assert dists == ["E1SITE"] and policies == 0 and primary == ["/v2", ""]
    shown = cli("report", "last", "--state-dir", str(tmp_path / "s"))
    assert "answered by the staging config" in shown.stdout, shown.stdout
    # each phase is journaled as it happens, and the report's timeline says so in order
    said = [line for line in shown.stdout.splitlines() if "`switch`:" in line]
    marks = ["staging copy", "phase 1 (header): requests with aws-cf-cd-runbook",
             "phase 1 (header) passed", "phase 2 (15%): 15% of requests",
             "phase 2 (15%) passed", "promoted:", "cleaned up:"]
    at = [next((i for i, line in enumerate(said) if m in line), -1) for m in marks]
    assert -1 not in at and at == sorted(at), shown.stdout
    assert "staging copy" in done.stdout and "promoted:" in done.stdout


def test_a_promotion_that_fails_its_post_checks_is_undone_and_says_so(
        cli, tmp_path, small_twin):
    _twin, look = small_twin(SITE)
    text = PLAN.replace("PATH", "/v2").replace("GRANT", "true")
    post = 'post:\n          - http.get: {url: "https://www.example.org/", contains: version '
    plan = write_plan(tmp_path, text.replace(post + "two}", post + "three}"))
    undone = _run(cli, tmp_path, plan)
    assert undone.code == 1, undone.stdout + undone.stderr
    assert "promotion undone" in undone.stdout, undone.stdout
    assert "pulled back before promotion" not in undone.stdout
    assert "step switch rolled back and verified" in undone.stdout
    dists, policies, primary = _left(look)
    assert dists == ["E1SITE"] and policies == 0 and primary == ["/v1", ""]
    shown = cli("report", "last", "--state-dir", str(tmp_path / "s"))
    assert "promotion undone" in shown.stdout, shown.stdout


def test_a_broken_origin_path_is_caught_in_the_header_phase_and_pulled_back(
        cli, tmp_path, small_twin):
    _twin, look = small_twin(SITE)
    visitors: list[tuple[int, str, str]] = []
    done = threading.Event()

    def visit() -> None:  # a visitor without the header, all through the run
        import httpx

        while not done.wait(0.05):
            with contextlib.suppress(httpx.HTTPError):
                r = look.get("www.example.org")
                visitors.append((r.status_code, r.headers.get("x-runbook-twin-config", ""),
                                 r.text))

    watcher = threading.Thread(target=visit, daemon=True)
    watcher.start()
    try:
        broken = _run(cli, tmp_path, _plan(tmp_path, path="/v3"))
    finally:
        done.set()
        watcher.join(timeout=30)
    assert broken.code == 1, broken.stdout + broken.stderr
    assert "phase 1 (header) failed" in broken.stdout
    assert "expected 200" in broken.stdout and "got 403" in broken.stdout
    assert "step switch rolled back and verified" in broken.stdout
    assert "pulled back before promotion" in broken.stdout
    assert "primary untouched" in broken.stdout and "promotion undone" not in broken.stdout
    shown = cli("report", "last", "--state-dir", str(tmp_path / "s"))
    assert "pulled back before promotion" in shown.stdout, shown.stdout
    dists, policies, primary = _left(look)
    assert dists == ["E1SITE"] and policies == 0 and primary == ["/v1", ""]
    assert "version one" in look.get("www.example.org").text
    # no visitor's request was served by the broken configuration
    assert visitors and all(v[0] == 200 and "version one" in v[2] for v in visitors)
    assert {v[1] for v in visitors} <= {"", "primary"}


def test_without_the_grant_no_traffic_moves(cli, tmp_path, small_twin):
    _twin, look = small_twin(SITE)
    refused = _run(cli, tmp_path, _plan(tmp_path, grant="false"))
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "does not let the staging distribution" in refused.stdout
    assert "grant_staging: true" in refused.stdout, refused.stdout
    dists, policies, primary = _left(look)
    assert dists == ["E1SITE"] and policies == 0 and primary == ["/v1", ""], refused.stdout


def test_validate_refuses_aws_rules(cli, tmp_path):
    text = PLAN.replace("PATH", "/v2").replace("GRANT", "true")
    for bad, words in ((text.replace("weight: 15%", "weight: 20%"), "at most 15%"),
                       # a bare 20 is a share of 20 (2000%): said so, with how to write 20%
                       (text.replace("weight: 15%", "weight: 20"),
                        "weight 20 would be 2000% of requests: a share is written 0.05 or 5%"),
                       (text.replace("weight: 15%", "weight: 0%"), "more than 0%, at most 15%"),
                       (text.replace("{idle: 5m}", "{idle: 1m}"), "300-3600 seconds"),
                       (text.replace("origin: {path: /v2}",
                                     "aliases: {add: [x.example.org]}"),
                        "cannot take aliases")):
        got = cli("validate", write_plan(tmp_path, bad))
        assert got.code != 0
        assert words in got.stdout + got.stderr, got.stdout + got.stderr
        assert "line" in got.stdout + got.stderr


def test_the_dry_run_and_the_run_refuse_a_distribution_with_http3(cli, tmp_path, small_twin):
    _twin, look = small_twin(SITE)
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E1SITE")
    config = got["DistributionConfig"]
    config["HttpVersion"] = "http2and3"
    cf.update_distribution(Id="E1SITE", IfMatch=got["ETag"], DistributionConfig=config)
    before = cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]
    shown = cli("plan", _plan(tmp_path), "--env", "sandbox")
    assert "cannot preview: distribution E1SITE has HTTP/3 enabled" in shown.stdout, (
        shown.stdout + shown.stderr)
    run = _run(cli, tmp_path, _plan(tmp_path))
    assert run.code == 1, run.stdout + run.stderr
    assert "continuous deployment cannot be used with it" in run.stdout
    assert "plan.yaml, line" in run.stdout, run.stdout
    assert cf.get_distribution_config(Id="E1SITE")["DistributionConfig"] == before
    assert [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]] == [
        "E1SITE"]


def test_a_hand_edit_after_promotion_is_named_when_rollback_refuses(cli, tmp_path, small_twin):
    # someone edits the promoted distribution by hand: the rollback leaves it alone and says
    # which field changed and how, not only how many
    _twin, look = small_twin(SITE)
    done = _run(cli, tmp_path, _plan(tmp_path))
    assert done.code == 0, done.stdout + done.stderr
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E1SITE")
    config = got["DistributionConfig"]
    config["Comment"] = "edited by hand"
    cf.update_distribution(Id="E1SITE", IfMatch=got["ETag"], DistributionConfig=config)
    back = cli("rollback", "last", "--yes", "--state-dir", str(tmp_path / "s"))
    assert back.code == 3, back.stdout + back.stderr
    said = " ".join((back.stdout + back.stderr).split())
    assert "Comment is now 'edited by hand'" in said, said
    assert _left(look)[2][0] == "/v2"  # left as it is


def test_the_promoted_version_is_served_once_the_caches_are_invalidated(cli, tmp_path,
                                                                         small_twin):
    # the primary's edges cached version one (no Cache-Control: a day); the staging copy has
    # its own cache, so only the promotion meets the old copy: `invalidate` clears it
    _twin, look = small_twin(SITE.replace("    cache_control: no-cache\n", ""))
    assert "version one" in look.get("www.example.org").text  # now cached for a day
    plan = PLAN.replace("            grant_staging: GRANT\n",
                        "            grant_staging: GRANT\n            invalidate: [/*]\n")
    path = write_plan(tmp_path, plan.replace("PATH", "/v2").replace("GRANT", "true"))
    shown = cli("plan", path, "--env", "sandbox")
    assert "then invalidate /*" in " ".join(shown.stdout.split()), shown.stdout
    done = _run(cli, tmp_path, path)
    assert done.code == 0, done.stdout + done.stderr
    assert "version two" in look.get("www.example.org").text
