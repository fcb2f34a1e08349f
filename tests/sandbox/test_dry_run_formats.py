"""`runbook plan --format markdown|json`: the dry run as a review reads it (a pull-request
comment) and as a machine does, with every check, the not-yet checks, every diff whole,
and the digest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.sandbox.conftest import PLANS

TSS = str(PLANS / "tss-url-migration.yaml")
FILES = Path(__file__).resolve().parents[1] / "engine" / "plans" / "files.yaml"

pytestmark = pytest.mark.slow


def _digest(cli) -> str:
    shown = cli("show", TSS, "--env", "sandbox-stage", "--format", "json")
    assert shown.code == 0, shown.stderr
    return json.loads(shown.stdout)["digest"]


def test_markdown_for_a_review(cli, twin, look):
    r = cli("plan", TSS, "--env", "sandbox-stage", "--format", "markdown")
    assert r.code == 0, r.stdout + r.stderr
    md = r.stdout
    assert md.startswith("## Dry run of `tss-url-migration` on `sandbox-stage`\n")
    assert f"Digest: `{_digest(cli)}`" in md
    assert "**The plan can start**: its first stage's checks pass." in md
    assert "| ok | preflight: gate | CloudFront serves v1.42.0 from the bucket" in md
    # a check that belongs after an earlier step says so, in its own row
    assert ("| not yet | dns: pre | distribution E2STAGEEXAMPLE is Deployed and has aliases "
            "stage.trainee.tis.nhs.uk | distribution E2STAGEEXAMPLE: aliases lack "
            "stage.trainee.tis.nhs.uk (may pass once earlier steps have run) |") in md
    # every diff, its values whole: the alias record as an indented block, nothing cut
    assert ("#### Step `dns` (Point stage.trainee.tis.nhs.uk at CloudFront distribution "
            "E2STAGEEXAMPLE)") in md
    record = md.split("@ stage.trainee.tis.nhs.uk. A\n", 1)[1].split("```", 1)[0]
    assert record.splitlines()[0] == "- null"
    assert '+     "zone_id": "Z2FDTNDATAQYW2",' in record.splitlines()
    assert "..." not in md and "…" not in md
    assert md.count("#### Step ") == 10  # the staged bucket switch: grant, switch
    assert ('@ Aliases.Items\n- ["stage.trainee.tis-selfservice.nhs.uk"]\n'
            '+ ["stage.trainee.tis-selfservice.nhs.uk", "stage.trainee.tis.nhs.uk"]') in md
    assert "_waits up to 30m for distribution E2STAGEEXAMPLE to deploy_" in md
    # the bookmark page's catch-all, in words (issue 23 item 8)
    assert ('@ redirect /* (every path under /)\n- null\n+ "302 '
            "https://stage.trainee.tis.nhs.uk/<rest of the path> (query kept) "
            '(browsers: the bookmark page; others: the origin)"') in md, md
    assert look.a("stage.trainee.tis.nhs.uk") == []  # a dry run changes nothing


def test_json_for_a_machine(cli, twin, look):
    r = cli("plan", TSS, "--env", "sandbox-stage", "--format", "json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["digest"] == _digest(cli)
    assert (data["plan"], data["environment"], data["could_start"]) == (
        "tss-url-migration", "sandbox-stage", True)
    statuses = {c["status"] for c in data["checks"]}
    assert statuses == {"ok", "not yet"}
    alias = next(c for c in data["changes"] if c["step"] == "alias")
    assert alias["diff"]["changes"] == [{
        "path": "Aliases.Items", "old": ["stage.trainee.tis-selfservice.nhs.uk"],
        "new": ["stage.trainee.tis-selfservice.nhs.uk", "stage.trainee.tis.nhs.uk"]}]
    assert [c["step"] for c in data["changes"]] == [
        "new-bucket-grant", "switch", "alias", "dns", "redirect-bucket", "bookmark-page",
        "move-proof", "move-old-name", "old-dns", "redirect-permanent"]
    assert look.a("stage.trainee.tis.nhs.uk") == []


def test_a_plan_that_cannot_start_still_prints_the_whole_review(cli, tmp_path):
    shutil.copy(FILES, tmp_path / "files.yaml")  # and none of the files it expects
    r = cli("plan", "files.yaml", "--format", "markdown", cwd=tmp_path)
    assert r.code == 1
    assert "**The plan cannot start now**: a check of its first stage fails." in r.stdout
    assert ("| FAIL | version: pre | `cat version.txt` exits 0 and prints 'v1' | exited 1, "
            "expected 0: cat: version.txt: No such file or directory |") in r.stdout
    assert "**Cannot preview**: the state command `cat version.txt` exited 1" in r.stdout
    assert r.stdout.count("#### Step ") == 4


def test_an_unknown_format_is_refused(cli, tmp_path):
    shutil.copy(FILES, tmp_path / "files.yaml")
    r = cli("plan", "files.yaml", "--format", "html", cwd=tmp_path)
    assert r.code == 2
    assert r.stderr.strip() == "error: --format 'html': choose text, markdown or json"
    assert r.stdout == ""
