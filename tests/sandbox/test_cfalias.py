"""The old name moves between distributions with no gap (AssociateAlias in the twin), and
the twin refuses the move as AWS does without the TXT record that proves control."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.sandbox.conftest import PLANS

pytestmark = pytest.mark.slow
TSS = str(PLANS / "tss-url-migration.yaml")
OLD = "stage.trainee.tis-selfservice.nhs.uk"
NEW = "stage.trainee.tis.nhs.uk"


def test_the_old_name_is_served_throughout_the_move(cli, tmp_path, twin, look):
    answers: list[tuple[int, str]] = []
    done = threading.Event()

    def watch() -> None:  # a browser asking for the old name again and again
        import httpx

        while not done.wait(0.05):  # a gap lasts a deploy wait: seconds, even in the twin
            try:
                r = look.get(OLD, "/")
            except httpx.TimeoutException:  # a busy machine: no answer says nothing of who
                continue                     # serves the name
            except httpx.HTTPError as exc:  # no distribution has the name: no certificate
                answers.append((0, f"{type(exc).__name__}: {exc}"))
                continue
            answers.append((r.status_code, r.headers.get("location") or r.text))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = cli("run", TSS, "--env", "sandbox-stage", "--yes", "--state-dir",
                  str(tmp_path / "state"))
    finally:
        done.set()
        watcher.join(timeout=30)
    assert run.code == 0, run.stdout + run.stderr
    site = [a for a in answers if a[0] == 200 and "stage v1.42.0" in a[1]]
    # the plan redirects with a 302 until its stage permanent makes it a 301
    redirect = [a for a in answers if a in {(302, f"https://{NEW}/"), (301, f"https://{NEW}/")}]
    # every answer was the site or the redirect: never CloudFront's "not configured",
    # never a certificate for no name
    assert sorted(set(answers) - set(site) - set(redirect)) == []
    assert site and redirect
    cf = look.client("cloudfront")
    aliases = {d["Id"]: d["Aliases"].get("Items", []) for d in
               cf.list_distributions()["DistributionList"]["Items"]}
    assert aliases["E4STAGEREDIRECT"] == [OLD]
    assert OLD not in aliases["E2STAGEEXAMPLE"]


MOVE_WITHOUT_PROOF = """\
runbook: 1
name: move-without-proof
title: Move the old stage name without the TXT record
environments:
  sandbox:
    sandbox: {world}
stages:
  - name: move
    title: Move it
    steps:
      - id: move
        action:
          cloudfront.move_alias:
            alias: {old}
            source: E2STAGEEXAMPLE
            target: E4STAGEREDIRECT
        post:
          - cloudfront.distribution:
              id: E4STAGEREDIRECT
              aliases: {{contains: ["{old}"]}}
        rollback: auto
"""


def test_the_twin_refuses_a_move_without_the_txt_record(cli, tmp_path: Path, twin, look):
    plan = tmp_path / "plan.yaml"
    plan.write_text(MOVE_WITHOUT_PROOF.format(world=PLANS / "sandbox" / "tss-before.yaml",
                                              old=OLD))
    r = cli("run", str(plan), "--env", "sandbox", "--yes", "--state-dir",
            str(tmp_path / "state"))
    assert r.code == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert f"needs a DNS TXT record _{OLD}." in out
    assert any("InvalidArgument" in x for x in twin.proxy.refusals)
    served = look.get(OLD)
    assert served.status_code == 200 and "stage v1.42.0" in served.text  # nothing changed


def test_conflicting_aliases_in_the_twin(twin, look):
    cf = look.client("cloudfront")
    got = cf.list_conflicting_aliases(DistributionId="E4STAGEREDIRECT", Alias=OLD)
    [hit] = got["ConflictingAliasesList"]["Items"]
    assert hit["Alias"] == OLD and hit["DistributionId"].endswith("XAMPLE")
    assert hit["DistributionId"].startswith("*") and hit["AccountId"].endswith("789012")
    # like AWS: only for a distribution whose certificate covers the name
    with pytest.raises(cf.exceptions.InvalidArgument):
        cf.list_conflicting_aliases(DistributionId="E4STAGEREDIRECT", Alias="www.example.org")


def test_the_dry_run_shows_ipv6_the_txt_proof_and_ttls(cli, twin, look):
    r = cli("plan", TSS, "--env", "sandbox-stage")
    assert r.code == 0, r.stdout + r.stderr
    out = " ".join(r.stdout.split())  # the terminal wraps long lines
    assert "distribution E2STAGEEXAMPLE has IPv6 on: writes A and AAAA" in out
    assert f"AWS requires TXT _{OLD}. = " in out
    assert "that record does not exist yet: a step before must create it" in out
    assert "resolvers may keep the old answer for up to 1m after the change" in out
    assert look.a(NEW) == []  # nothing changed


MOVE_THEN_FAIL = """\
runbook: 1
name: move-and-back
title: Move the old stage name, then fail, so it moves back
environments:
  sandbox:
    sandbox: {world}
stages:
  - name: move
    title: Move it
    steps:
      - id: proof
        action:
          route53.record:
            zone: tis-selfservice.nhs.uk
            name: _{old}
            type: TXT
            distribution_domain: E4STAGEREDIRECT
        post:
          - route53.record: {{zone: tis-selfservice.nhs.uk, name: _{old}, type: TXT}}
        rollback: auto
      - id: move
        action:
          cloudfront.move_alias:
            alias: {old}
            source: E2STAGEEXAMPLE
            target: E4STAGEREDIRECT
            zone: tis-selfservice.nhs.uk
        post:
          - http.get: {{url: "https://{old}/", status: 418}}
        rollback: auto
"""


def test_a_failed_move_moves_the_name_back_with_no_gap(cli, tmp_path: Path, twin, look):
    plan = tmp_path / "plan.yaml"
    plan.write_text(MOVE_THEN_FAIL.format(world=PLANS / "sandbox" / "tss-before.yaml",
                                          old=OLD))
    look.client("s3", "eu-west-2").put_bucket_website(
        Bucket="tis-selfservice-redirect-stage", WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": NEW, "Protocol": "https"}})
    answers: list[int] = []
    done = threading.Event()

    def watch() -> None:
        import httpx

        while not done.wait(0.05):
            try:
                answers.append(look.get(OLD, "/").status_code)
            except httpx.TimeoutException:  # a busy machine, not an answer
                continue
            except httpx.HTTPError:
                answers.append(0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        r = cli("run", str(plan), "--env", "sandbox", "--yes", "--state-dir",
                str(tmp_path / "state"))
    finally:
        done.set()
        watcher.join(timeout=30)
    assert r.code == 1, r.stdout + r.stderr
    assert "step move rolled back and verified" in r.stdout
    assert set(answers) <= {200, 301} and 301 in answers, sorted(set(answers))
    cf = look.client("cloudfront")
    aliases = {d["Id"]: d["Aliases"].get("Items", []) for d in
               cf.list_distributions()["DistributionList"]["Items"]}
    assert aliases["E2STAGEEXAMPLE"] == [OLD] and aliases["E4STAGEREDIRECT"] == []
    r53 = look.client("route53")
    [zone] = [z["Id"] for z in r53.list_hosted_zones()["HostedZones"]
              if z["Name"] == "tis-selfservice.nhs.uk."]
    names = [rr["Name"] for rr in
             r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]]
    assert f"_{OLD}." not in names  # the proof went with the rollback


def test_a_refusal_naming_markup_reaches_the_client_as_aws_sends_it(look):
    """The twin's errors are XML built once (kit.aws_error), the message escaped: a name
    with ``&`` or ``<`` in it comes back as the refusal's code and message, not as a body
    the client cannot read."""
    from botocore.exceptions import ClientError

    cf = look.client("cloudfront")
    alias = "a&b<c>.example.com"
    with pytest.raises(ClientError) as refused:
        cf.associate_alias(TargetDistributionId="E4STAGEREDIRECT", Alias=alias)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"].endswith(f"doesn't cover the alias: {alias}")


def test_the_tss_plan_rolls_back_its_alias_move_with_two_aliases(cli, tmp_path: Path, twin,
                                                                 look):
    # The plan's stage new-address gives the site's distribution a second alias (the new
    # name) before the old name moves away; AssociateAlias puts the old name back at the
    # end of the list. The aliases are a set to CloudFront: the rollback is proved.
    state = str(tmp_path / "state")
    cf = look.client("cloudfront")

    def aliases(dist: str) -> list[str]:
        return list(cf.get_distribution_config(Id=dist)["DistributionConfig"]["Aliases"]
                    .get("Items", []))

    run = cli("run", TSS, "--env", "sandbox-stage", "--yes", "--state-dir", state)
    assert run.code == 0, run.stdout + run.stderr
    assert aliases("E2STAGEEXAMPLE") == [NEW]
    back = cli("rollback", "last", "--yes", "--state-dir", state)
    assert back.code == 1, back.stdout + back.stderr  # rolled back, as asked
    assert "10 step(s) rolled back and verified" in back.stdout  # 301 promotion, too
    assert "step bookmark-page rolled back and verified" in back.stdout
    functions = cf.list_functions()["FunctionList"].get("Items", [])
    assert [f["Name"] for f in functions] == []  # the bookmark page's function went too
    assert "promotion undone" in back.stdout  # the staged bucket switch, undone
    assert "step move-old-name rolled back and verified" in back.stdout
    assert "not proved" not in back.stdout + back.stderr
    assert aliases("E2STAGEEXAMPLE") == [OLD] and aliases("E4STAGEREDIRECT") == []
    served = look.get(OLD)
    assert served.status_code == 200 and "stage v1.42.0" in served.text
