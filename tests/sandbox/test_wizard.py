"""`runbook new` as a person uses it: in a pseudo-terminal, answering the real questionary
prompts, with its facts read from a sandbox world or from AWS (the twin's API, reached
with boto3). The plan it writes validates with --strict, and runs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from tests.sandbox.conftest import PLANS as PLANS_DIR
from tests.sandbox.conftest import WORLD
from tests.terminal import foreground_signals

pytestmark = pytest.mark.slow
ENTER = "\r"


def spawn(folder: Path, *args: str, **extra: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160", "LINES": "50", "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1", **extra}
    for name in ("RUNBOOK_CRASH_AFTER", "RUNBOOK_STATE"):
        env.pop(name, None)
    child = pexpect.spawn(sys.executable, ["-m", "runbook", "new", *args], cwd=str(folder),
                          env=env, encoding="utf-8", timeout=60, dimensions=(50, 160),
                          preexec_fn=foreground_signals)
    child.delaybeforesend = 0.3  # let prompt_toolkit take the terminal before a key comes
    return child


def answer(child: pexpect.spawn, prompt: str, keys: str) -> None:
    child.expect(prompt)
    child.send(keys)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


def test_add_a_host_name_from_a_world_then_run_it(cli, tmp_path):
    child = spawn(tmp_path, "--world", str(WORLD))
    answer(child, "Which migration\\?", ENTER)  # the first: add a new host name
    child.expect("The distribution to serve the new name:")
    answer(child, "E1PRODEXAMPLE  trainee.tis-selfservice.nhs.uk  \\(TIS Self-Service live\\)",
           "E1PROD" + ENTER)
    answer(child, "The new host name:", "trainee.tis.nhs.uk" + ENTER)
    answer(child, "The hosted zone of trainee.tis.nhs.uk:", ENTER)  # tis.nhs.uk, the closest
    answer(child, "Text the page must contain", "TIS Self-Service" + ENTER)
    answer(child, "The plan's name", ENTER)  # the default, add-trainee
    child.expect("wrote add-trainee.yaml")
    assert finish(child) == 0
    plan = tmp_path / "add-trainee.yaml"
    text = plan.read_text()
    assert f"sandbox: {os.path.relpath(WORLD, tmp_path)}" in text
    assert "use: cloudfront-add-alias" in text and "use: route53-alias" in text
    assert "      distribution: E1PRODEXAMPLE\n      host: trainee.tis.nhs.uk\n" \
        "      zone: tis.nhs.uk\n      contains: \"TIS Self-Service\"\n" in text
    checked = cli("validate", "--strict", str(plan))
    assert checked.code == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == f"{plan}: ok"
    # it runs: the name is added, DNS points at it, and the verify stage proves both
    ran = cli("run", str(plan), "--env", "sandbox", "--yes", "--state", str(tmp_path / "st"))
    assert ran.code == 0, ran.stdout[-3000:] + ran.stderr
    assert "succeeded: every step applied and verified" in ran.stdout
    [run_id] = [p.name for p in (tmp_path / "st" / "runs").iterdir()]
    report = json.loads(cli("report", run_id, "--format", "json", "--state",
                            str(tmp_path / "st")).stdout)
    verify = [(e["kind"], e["ok"]) for e in report["events"]
              if e["type"] == "check" and e["stage"] == "verify"]
    assert verify == [("cloudfront.distribution", True), ("dns.record", True),
                      ("http.get", True)]


def test_switch_origin_reading_aws_catches_the_incident(cli, tmp_path, twin):
    """Facts from AWS (the twin's API): the pipeline's new bucket, made by hand, does not let
    the distribution read it; the written plan's preflight says so before anything moves."""
    aws = {"AWS_ENDPOINT_URL": twin.proxy.url, "AWS_ACCESS_KEY_ID": "sandbox",
           "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": "eu-west-2"}
    child = spawn(tmp_path, "switch.yaml", "--env", "sandbox", **aws)
    child.expect("reading distributions, zones, certificates and buckets from AWS")
    answer(child, "Which migration\\?", "switch" + ENTER)
    answer(child, "The distribution whose origin changes:", "E1PROD" + ENTER)
    answer(child, "The bucket to serve from \\(it reads tis-trainee-ui-prod/v1.41.0\\)",
           "prod-new" + ENTER)
    child.expect("The version folder in tis-trainee-ui-prod-new:")
    answer(child, "v1.42.0", "v1.42" + ENTER)  # read from the bucket's folders
    answer(child, "The site's host name", ENTER)  # its one alias
    answer(child, "Text the page must contain", ENTER)
    answer(child, "The plan's name", ENTER)
    child.expect("wrote switch.yaml")
    assert finish(child) == 0
    plan = tmp_path / "switch.yaml"
    text = plan.read_text()
    assert "aws: {region: eu-west-2}" in text and "use: cloudfront-switch-origin" in text
    assert "      bucket: tis-trainee-ui-prod-new\n      version: v1.42.0\n" \
        "      site: trainee.tis-selfservice.nhs.uk\n" in text
    checked = cli("validate", "--strict", str(plan))
    assert checked.code == 0, checked.stdout + checked.stderr
    # the same plan, pointed at a twin of the world: its preflight stops the incident
    plan.write_text(text.replace("    aws: {region: eu-west-2}",
                                 f"    sandbox: {WORLD}"))
    dry = cli("plan", str(plan), "--env", "sandbox", "--format", "json")
    assert dry.code == 1
    failed = [c for c in json.loads(dry.stdout)["checks"] if c["status"] == "fail"]
    cannot_read = ("distribution E1PRODEXAMPLE may read the objects of bucket "
                   "tis-trainee-ui-prod-new")
    assert [(c["where"], c["check"]) for c in failed] == [
        ("preflight: gate", cannot_read), ("origin: pre", cannot_read)]


def test_redirect_an_old_host(cli, tmp_path):
    child = spawn(tmp_path, "--world", str(WORLD))
    answer(child, "Which migration\\?", "redirect" + ENTER)
    answer(child, "The old host name, to redirect:", "stage.trainee.tis-self" + ENTER)
    answer(child, "The new host name stage.trainee.tis-selfservice.nhs.uk redirects to:",
           "stage.trainee.tis.nhs.uk" + ENTER)
    answer(child, "The distribution that will answer", "E4STAGE" + ENTER)
    # the bucket behind the redirect distribution's website origin is offered first
    answer(child, "The bucket whose website answers for E4STAGEREDIRECT:", ENTER)
    answer(child, "The hosted zone of stage.trainee.tis-selfservice.nhs.uk:", ENTER)
    answer(child, "The plan's name", "\b" * 20 + "stage-redirect" + ENTER)
    child.expect("wrote stage-redirect.yaml")
    assert finish(child) == 0
    text = (tmp_path / "stage-redirect.yaml").read_text()
    assert ("      old_host: stage.trainee.tis-selfservice.nhs.uk\n"
            "      new_host: stage.trainee.tis.nhs.uk\n"
            "      redirect_distribution: E4STAGEREDIRECT\n"
            "      redirect_bucket: tis-selfservice-redirect-stage\n"
            "      old_zone: tis-selfservice.nhs.uk\n"
            "      serving_distribution: E2STAGEEXAMPLE\n") in text
    # the old name moves in one step (AssociateAlias), never "remove, deploy, add"
    assert "cloudfront.move_alias:" in text and "remove:" not in text
    checked = cli("validate", "--strict", str(tmp_path / "stage-redirect.yaml"))
    assert checked.code == 0, checked.stdout + checked.stderr


def test_a_name_that_is_not_a_host_is_asked_again(tmp_path):
    child = spawn(tmp_path, "--world", str(WORLD))
    answer(child, "Which migration\\?", ENTER)
    answer(child, "The distribution to serve the new name:", ENTER)
    answer(child, "The new host name:", "not a host" + ENTER)
    child.expect("'not a host' is not a host name")
    child.sendcontrol("c")
    child.expect("cancelled: nothing was written")
    assert finish(child) == 1
    assert list(tmp_path.iterdir()) == []


def test_without_a_terminal_nothing_is_asked_or_written(cli, tmp_path):
    r = cli("new", "--world", str(WORLD), cwd=tmp_path)
    assert r.code == 2
    assert r.stderr.startswith("error: `runbook new` asks questions and needs a terminal; "
                               "nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_when_aws_cannot_be_read_every_answer_is_typed(cli, tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    aws = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-2",
           "AWS_MAX_ATTEMPTS": "1"}
    child = spawn(tmp_path, "typed.yaml", **aws)
    # the AWS kinds' own paragraph: which endpoint, which call
    child.expect(f"could not read AWS: could not reach http://127.0.0.1:{port}/?.* for "
                 "cloudfront:ListDistributions .*Type the names instead")
    answer(child, "Which migration\\?", ENTER)
    answer(child, "The distribution id:", "E9TYPED" + ENTER)
    answer(child, "The new host name:", "www.example.org" + ENTER)
    answer(child, "The hosted zone of www.example.org \\(its name or id\\):",
           "example.org" + ENTER)
    answer(child, "Text the page must contain", ENTER)
    answer(child, "The plan's name", ENTER)
    child.expect("wrote typed.yaml")
    assert finish(child) == 0
    text = (tmp_path / "typed.yaml").read_text()
    assert "  prod:\n    aws: {region: eu-west-2}\n    vars:\n      distribution: E9TYPED\n" \
        in text
    checked = cli("validate", "--strict", str(tmp_path / "typed.yaml"))
    assert checked.code == 0, checked.stdout + checked.stderr


def test_a_plan_file_it_cannot_write_is_refused_before_asking(tmp_path):
    child = spawn(tmp_path, str(tmp_path / "missing" / "x.yaml"), "--world", str(WORLD))
    child.expect("error: cannot write .*x.yaml: the folder .*missing does not exist; nothing "
                 "was asked or written")
    assert finish(child) == 2
    assert list(tmp_path.iterdir()) == []


def test_move_a_site_to_a_new_host_with_a_path_map_and_dns_last(cli, tmp_path):
    """One plan for the common move: the new name, old pages by a map, the old host
    redirected, DNS last; it is the plan in plans/docs-to-help.yaml (rehearsed and rolled
    back in test_docs_to_help.py)."""
    world = PLANS_DIR / "sandbox" / "help-before.yaml"
    shutil.copy(PLANS_DIR / "help-redirects.csv", tmp_path / "help-redirects.csv")
    child = spawn(tmp_path, "--world", str(world))
    answer(child, "Which migration\\?", "move a site" + ENTER)
    answer(child, "The site's host name today:", "docs" + ENTER)
    answer(child, "The new host name of the site", "help.example.test" + ENTER)
    answer(child, "The hosted zone of help.example.test:", ENTER)
    answer(child, "A map of old pages to new ones", "help-redirects.csv" + ENTER)
    answer(child, "The distribution that will answer docs.example.test", "E8" + ENTER)
    answer(child, "The bucket whose website answers for E8DOCSREDIRECT:", ENTER)
    answer(child, "The hosted zone of docs.example.test:", ENTER)
    answer(child, "Text the page must contain", "Help centre" + ENTER)
    answer(child, "The plan's name", "\b" * 20 + "docs-to-help" + ENTER)
    child.expect("wrote docs-to-help.yaml")
    assert finish(child) == 0
    written = (tmp_path / "docs-to-help.yaml").read_text()
    shipped = (PLANS_DIR / "docs-to-help.yaml").read_text()
    assert written.split("    vars:", 1)[1] == shipped.split("    vars:", 1)[1]
    # until DNS moves, the new host is fetched through its distribution
    assert 'connect_to: "${steps.alias.domain_name}"' in written
    checked = cli("validate", "--strict", str(tmp_path / "docs-to-help.yaml"))
    assert checked.code == 0, checked.stdout + checked.stderr
