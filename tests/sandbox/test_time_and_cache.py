"""The twin takes time and caches as AWS does: a plan that would break on AWS for not
waiting, or for not invalidating, breaks in the twin the same way, and its fix passes."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import wait_for, write_plan

pytestmark = pytest.mark.slow

SITE = """\
sandbox: 1
timing: {scale: 0.01, deploy: 600, invalidation: 120}
certificates:
  - {ref: site, domains: [www.example.org, old.example.org]}
buckets:
  - name: site
    objects:
      v1/index.html: "<title>Site</title> version one"
      v2/index.html: "<title>Site</title> version two"
    grant: [E1SITE]
  - name: move
    website_redirect: {to: www.example.org}
distributions:
  - id: E1SITE
    aliases: [www.example.org]
    origin: {bucket: site, path: /v1}
    certificate: site
  - id: E2MOVE
    aliases: [old.example.org]
    origin: {domain: move.s3-website.eu-west-2.amazonaws.com}
    certificate: site
zones:
  - name: example.org
    records:
      - {name: www.example.org, type: A, alias: E1SITE}
      - {name: old.example.org, type: A, alias: E2MOVE}
"""


def run(cli, tmp_path, plan: str):
    return cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))


WAIT = """\
runbook: 1
name: wait
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
      - id: root
        action:
          cloudfront.update: {id: E1SITE, default_root_object: index.html, origin: {path: /v2},
                              wait: false}
        post:
          - cloudfront.distribution: {id: E1SITE, status: Deployed}
            within: WITHIN
            every: 30s
"""


def test_a_wait_shorter_than_a_deployment_fails_as_on_aws(cli, tmp_path, small_twin):
    small_twin(SITE)  # deployments take 10 AWS minutes (6 real seconds at 0.01)
    short = run(cli, tmp_path, write_plan(tmp_path, WAIT.replace("WITHIN", "2m")))
    assert short.code == 1, short.stdout + short.stderr
    assert "status is InProgress, expected Deployed" in short.stdout
    assert "step root rolled back and verified" in short.stdout
    long = run(cli, tmp_path, write_plan(tmp_path, WAIT.replace("WITHIN", "20m")))
    assert long.code == 0, long.stdout + long.stderr


SWITCH = """\
runbook: 1
name: switch
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
      - id: switch
        pre:
          - http.get: {url: "https://www.example.org/", contains: version one}
        action:
          cloudfront.update: {id: E1SITE, origin: {path: /v2}}
        post:
          - cloudfront.distribution: {id: E1SITE, status: Deployed}
INVALIDATE
      - id: live
        pre:
          - http.get: {url: "https://www.example.org/", contains: version two}
            within: 2m
            every: 10s
        action:
          shell: {run: "true"}
        rollback: {none: nothing to undo}
"""
INVALIDATE = """\
      - id: invalidate
        action:
          cloudfront.invalidate: {id: E1SITE, paths: ["/*"]}
        rollback: {none: an invalidation cannot be undone}
"""


def test_an_origin_switch_without_invalidation_serves_the_old_version(cli, tmp_path,
                                                                      small_twin):
    _twin, look = small_twin(SITE)
    stale = run(cli, tmp_path, write_plan(tmp_path, SWITCH.replace("INVALIDATE\n", "")))
    assert stale.code == 1, stale.stdout + stale.stderr
    assert "answered 200 but does not contain 'version two'" in stale.stdout
    assert "step switch rolled back and verified" in stale.stdout
    cached = look.get("www.example.org")
    assert "version one" in cached.text and cached.headers["x-cache"].startswith("Hit")
    fixed = run(cli, tmp_path, write_plan(tmp_path, SWITCH.replace("INVALIDATE\n",
                                                                    INVALIDATE)))
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    assert "version two" in look.get("www.example.org").text


def test_a_cached_redirect_keeps_redirecting_after_its_rollback(small_twin):
    _twin, look = small_twin(SITE)
    first = look.get("old.example.org", "/a")
    assert first.status_code == 301 and first.headers["location"] == "https://www.example.org/a"
    s3 = look.client("s3", "eu-west-2")
    s3.delete_bucket_website(Bucket="move")  # the redirect rolled back
    again = look.get("old.example.org", "/a")
    assert again.status_code == 301 and again.headers["x-cache"].startswith("Hit")
    # a path nobody asked for before reaches the origin, which redirects no more
    assert look.get("old.example.org", "/b").status_code == 404
    cf = look.client("cloudfront")
    made = cf.create_invalidation(DistributionId="E2MOVE", InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "undo"})["Invalidation"]
    assert made["Status"] == "InProgress"
    assert look.get("old.example.org", "/a").status_code == 301  # not until it completes
    assert wait_for(lambda: cf.get_invalidation(DistributionId="E2MOVE", Id=made["Id"])[
        "Invalidation"]["Status"] == "Completed")
    assert look.get("old.example.org", "/a").status_code == 404


def test_invalidation_paths_must_start_with_a_slash(small_twin):
    import botocore.exceptions

    _twin, look = small_twin(SITE)
    cf = look.client("cloudfront")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.create_invalidation(DistributionId="E1SITE", InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["index.html"]}, "CallerReference": "x"})
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    assert "index.html" in err.value.response["Error"]["Message"]


def test_query_strings_are_in_the_cache_key_only_when_forwarded(small_twin):
    _twin, look = small_twin(SITE)
    assert look.get("www.example.org", "/?a=1").headers["x-cache"].startswith("Miss")
    assert look.get("www.example.org", "/?a=1").headers["x-cache"].startswith("Hit")
    # the world's distributions forward the query (legacy QueryString: true): a new key
    assert look.get("www.example.org", "/?a=2").headers["x-cache"].startswith("Miss")


def test_the_edge_serves_the_deployed_configuration_until_a_change_is_deployed(small_twin):
    _twin, look = small_twin(SITE)  # a deployment takes 600 AWS seconds: 6 real ones
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E1SITE")
    cfg = got["DistributionConfig"]
    cfg["Origins"]["Items"][0]["OriginPath"] = "/v2"
    cf.update_distribution(Id="E1SITE", IfMatch=got["ETag"], DistributionConfig=cfg)
    # the API has the new origin at once; edges serve the deployed one (fetched afresh:
    # a query string nobody asked for is a new cache key)
    assert cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]["Origins"][
        "Items"][0]["OriginPath"] == "/v2"
    during = look.get("www.example.org", "/?during")
    assert "version one" in during.text and during.headers["x-cache"].startswith("Miss")
    assert wait_for(lambda: cf.get_distribution(Id="E1SITE")["Distribution"]["Status"] ==
                    "Deployed")
    assert "version two" in look.get("www.example.org", "/?after").text
