"""Issue 23 item 8: the old-domain redirect can start as a 302 (an S3 website routing rule
without a condition, which browsers do not cache) and be promoted to a 301
(``RedirectAllRequestsTo``) by a later step with the same bucket; a rollback puts back
the website the bucket had, proved, whichever it reached."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tests.sandbox.conftest import write_plan

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
certificates:
  - {ref: site, domains: [new.example.org, old.example.org]}
buckets:
  - name: site
    objects: {v1/index.html: "<title>Site</title> v1"}
    grant: [E1SITE]
  - name: old-redirect
distributions:
  - id: E1SITE
    aliases: [new.example.org]
    origin: {bucket: site, path: /v1}
    certificate: site
  - id: E2REDIRECT
    origin: {domain: old-redirect.s3-website.eu-west-2.amazonaws.com}
    default_root_object: ""
    certificate: site
zones:
  - name: example.org
    records:
      - {name: new.example.org, type: A, alias: E1SITE}
"""

PLAN = """\
runbook: 1
name: redirect-old
environments:
  sandbox:
    sandbox: world.yaml
stages:
  - name: temporary
    steps:
      - id: try
        use: old-domain-redirect
        with: {bucket: old-redirect, to: new.example.org, distribution: E2REDIRECT,
               status: 302}
  - name: soak
    checks:
      - http.redirect:
          from: http://old-redirect.s3-website.eu-west-2.amazonaws.com/path/page.html
          to: https://new.example.org/path/page.html
          status: 302
  - name: permanent
    steps:
      - id: promote
        use: old-domain-redirect
        with: {bucket: old-redirect, to: new.example.org, distribution: E2REDIRECT}
"""


def write(tmp_path: Path) -> Path:
    (tmp_path / "world.yaml").write_text(textwrap.dedent(WORLD))
    (tmp_path / "plan.yaml").write_text(textwrap.dedent(PLAN))
    return tmp_path / "plan.yaml"


def test_a_302_redirect_is_promoted_to_301_and_rolled_back(cli, tmp_path: Path) -> None:
    plan = str(write(tmp_path))
    state = str(tmp_path / "state")
    shown = cli("plan", plan, "--env", "sandbox")
    assert shown.code == 0, shown.stdout + shown.stderr
    assert "(302, which browsers do not cache)" in shown.stdout
    assert "(301, which browsers and edges cache)" in shown.stdout
    # the promotion's diff is read against the bucket now, which `try` changes first
    assert ("against the state now: step `try` changes the same s3.redirect (bucket "
            "old-redirect) earlier in this plan: this diff is against it as it is now, and "
            "the run's gate shows the diff against what that step left") in \
        " ".join(shown.stdout.split())
    assert " ".join(shown.stdout.split()).count("against the state now") == 1

    run = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", state)
    assert run.code == 0, run.stdout + run.stderr
    # each step's post check fetched the website endpoint and got its own code
    site = "http://old-redirect.s3-website.eu-west-2.amazonaws.com/"
    assert f"ok post: {site} redirects to https://new.example.org/ with 302" in run.stdout
    assert f"ok post: {site} redirects to https://new.example.org/ with 301" in run.stdout
    # the gate between them saw the 302 keep the path
    assert (f"ok gate: {site}path/page.html redirects to "
            "https://new.example.org/path/page.html with 302") in run.stdout
    assert "step try verified" in run.stdout and "step promote verified" in run.stdout

    back = cli("rollback", "last", "--yes", "--state-dir", state)
    assert back.code == 1, back.stdout + back.stderr  # rolled back, as asked
    assert "2 step(s) rolled back and verified" in back.stdout
    assert "not proved" not in back.stdout + back.stderr
    # what the proof cannot cover is said, in the rollback and in the report
    cached = ("bucket old-redirect's website no longer answers the 301, but browsers that "
              "followed it keep it without expiry and keep going to new.example.org until "
              "their caches let go; distribution E2REDIRECT's caches were invalidated")
    assert cached in " ".join(back.stdout.split())
    report = cli("report", "last", "--state-dir", state, "--format", "markdown")
    assert cached in " ".join(report.stdout.split())
    # in the summary too, not only the timeline
    summary = report.stdout.split("## Summary", 1)[1].split("## Run", 1)[0]
    assert f"- **beyond the rollback**: promote: {cached}" in summary



EDGE_WORLD = WORLD.replace("""  - id: E2REDIRECT
    origin:""", """  - id: E2REDIRECT
    aliases: [old.example.org]
    origin:""").replace("""      - {name: new.example.org, type: A, alias: E1SITE}""",
                        """      - {name: new.example.org, type: A, alias: E1SITE}
      - {name: old.example.org, type: A, alias: E2REDIRECT}""")

# the same plan up to its soak, which asks through the edge (which caches the 302)
EDGE_PLAN = PLAN[:PLAN.index("  - name: soak")].replace(
    "name: redirect-old", "name: redirect-old-at-the-edge") + """\
  - name: soak
    checks:
      - http.redirect:
          from: https://old.example.org/path/page.html
          to: https://new.example.org/path/page.html
          status: 302
  - name: permanent
    steps:
      - id: promote
PROMOTE
  - name: after   # the same URL, through the same edge
    checks:
      - http.redirect:
          from: https://old.example.org/path/page.html
          to: https://new.example.org/path/page.html
          status: 301
        within: 30s
        every: 10s
"""
LIBRARY = """\
        use: old-domain-redirect
        with: {bucket: old-redirect, to: new.example.org, distribution: E2REDIRECT}"""
BARE = """\
        action:
          s3.redirect: {bucket: old-redirect, to: new.example.org, status: 301}
        rollback: auto"""


def test_the_promotion_reaches_a_url_the_edge_cached_as_302(cli, tmp_path: Path) -> None:
    """The edges cache the 302 they fetched from the website (it has no Cache-Control,
    so the behaviour's default TTL applies): the library step invalidates the redirect
    distribution after the promotion, and the same URL answers 301 at once."""
    (tmp_path / "world.yaml").write_text(EDGE_WORLD)
    plan = write_plan(tmp_path, EDGE_PLAN.replace("PROMOTE", LIBRARY))
    shown = cli("plan", plan, "--env", "sandbox")
    assert "then invalidates /* in distribution E2REDIRECT" in shown.stdout
    run = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    assert run.code == 0, run.stdout + run.stderr
    assert ("ok gate: https://old.example.org/path/page.html redirects to "
            "https://new.example.org/path/page.html with 301") in run.stdout


def test_without_the_invalidation_the_edge_keeps_answering_the_cached_302(
        cli, tmp_path: Path) -> None:
    """What the invalidation is for: the bucket answers 301, the edge its cached 302."""
    (tmp_path / "world.yaml").write_text(EDGE_WORLD)
    plan = write_plan(tmp_path, EDGE_PLAN.replace("PROMOTE", BARE))
    run = cli("run", plan, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    assert run.code != 0, run.stdout + run.stderr
    assert ("FAIL gate: https://old.example.org/path/page.html redirects to "
            "https://new.example.org/path/page.html with 301 (within 30s, every 10s) - "
            "https://old.example.org/path/"
            "page.html answered 302, expected 301") in run.stdout
    # the tries took real time; the `within` beside them is plan time, 100x faster here
    assert re.search(r"expected 301 after \d+ tries in \S+ real \(", run.stdout), run.stdout
