"""route53.record as strict as Route53: CREATE for a record that was not there, CNAME
conflicts seen before anything changes, the AAAA twin of a CloudFront alias, TTLs said,
and `evaluate_health` on a CloudFront alias refused when the plan is validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from pydantic import ValidationError

from runbook.context import RunContext
from runbook.errors import AwsError, KindError
from runbook.kinds.aws.r53record import Record

from .lifecycle import cycle
from .world import World


def record(**params: Any) -> Record:
    return Record(Record.Params(**params))


def test_an_a_alias_brings_its_aaaa_twin_and_restores_both(ctx: RunContext,
                                                           world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")  # IsIPV6Enabled: CloudFront's default, true
    zone = world.zone("tis.nhs.uk")
    action = record(zone=zone, name="trainee.tis.nhs.uk", alias={"distribution": d["Id"]},
                    also_aaaa="auto")

    def verify(records: Any, out: dict[str, Any]) -> None:
        assert [(r["Name"], r["Type"]) for r in records] == [
            ("trainee.tis.nhs.uk.", "A"), ("trainee.tis.nhs.uk.", "AAAA")]
        assert all(r["AliasTarget"]["HostedZoneId"] == "Z2FDTNDATAQYW2" for r in records)

    diff, _ = cycle(ctx, action, lambda: world.records(zone), verify)
    assert [c.path for c in diff.changes] == ["trainee.tis.nhs.uk. A",
                                              "trainee.tis.nhs.uk. AAAA"]
    assert f"distribution {d['Id']} has IPv6 on: writes A and AAAA" in str(diff.note)


def test_a_distribution_without_ipv6_gets_an_a_record_only(ctx: RunContext,
                                                           world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    got = world.cf.get_distribution_config(Id=d["Id"])
    config = got["DistributionConfig"] | {"IsIPV6Enabled": False}
    world.cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"], DistributionConfig=config)
    zone = world.zone("tis.nhs.uk")
    action = record(zone=zone, name="trainee.tis.nhs.uk", alias={"distribution": d["Id"]},
                    also_aaaa="auto")
    snap = action.snapshot(ctx)
    assert f"distribution {d['Id']} has IPv6 off: writes A only" in str(
        action.diff(ctx, snap).note)
    action.apply(ctx, snap)
    assert [r["Type"] for r in world.records(zone)] == ["A"]


def test_a_record_created_meanwhile_is_not_overwritten(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    action = record(zone=zone, name="www.example.com", values=["192.0.2.1"])
    snap = action.snapshot(ctx)
    assert "creates the record (CREATE" in str(action.diff(ctx, snap).note)
    world.put_record(zone, "www.example.com", "A", ["198.51.100.7"])  # someone else
    with pytest.raises(KindError) as err:
        action.apply(ctx, snap)
    assert "www.example.com A did not exist when this step read it, but exists now" \
        in str(err.value)
    assert world.records(zone)[0]["ResourceRecords"] == [{"Value": "198.51.100.7"}]


def test_route53_refusing_the_create_is_explained(ctx: RunContext, world: World) -> None:
    """The race this kind cannot see (a record made between its read and its write):
    Route53 refuses the CREATE. moto accepts it, hence the Stubber."""
    zone = world.zone("example.com")
    action = record(zone=zone, name="www.example.com", values=["192.0.2.1"], wait=False)
    snap = action.snapshot(ctx)
    r53 = ctx.client("route53")
    with Stubber(r53) as stub:
        stub.add_response("list_resource_record_sets", {
            "ResourceRecordSets": [], "IsTruncated": False, "MaxItems": "50"})
        stub.add_client_error(
            "change_resource_record_sets", "InvalidChangeBatch",
            "[Tried to create resource record set [name='www.example.com.', type='A'] but "
            "it already exists]", 400)
        with pytest.raises(AwsError) as err:
            action.apply(ctx, snap)
    assert str(err.value).startswith(
        "Route53 refused the change to www.example.com A: [Tried to create resource record "
        "set [name='www.example.com.', type='A'] but it already exists]. A CREATE is "
        "refused when the record appeared after this step read it")


def test_a_cname_at_the_name_is_a_conflict_shown_and_refused(ctx: RunContext,
                                                            world: World) -> None:
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "CNAME", ["elsewhere.example.net"])
    action = record(zone=zone, name="www.example.com", values=["192.0.2.1"])
    snap = action.snapshot(ctx)
    note = str(action.diff(ctx, snap).note)
    assert note.startswith("CONFLICT: the name has a CNAME record")
    assert "Route53 refuses a A record beside a CNAME" in note
    before = world.records(zone)
    with pytest.raises(KindError, match="Nothing was changed"):
        action.apply(ctx, snap)
    assert world.records(zone) == before


def test_the_diff_says_how_long_resolvers_keep_the_old_answer(ctx: RunContext,
                                                             world: World) -> None:
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "A", ["192.0.2.1"], ttl=3600)
    action = record(zone=zone, name="www.example.com", values=["192.0.2.2"], ttl=60)
    snap = action.snapshot(ctx)
    assert ("resolvers may keep the old answer for up to 1h after the change (the old "
            "record's TTL)") in str(action.diff(ctx, snap).note)
    assert action.apply(ctx, snap)["old_answer_ttl"] == 3600
    fresh = record(zone=zone, name="new.example.com", values=["192.0.2.2"])
    assert "may keep 'no such record' for up to 15m (the zone's negative-caching TTL)" in \
        str(fresh.diff(ctx, fresh.snapshot(ctx)).note)


def test_distribution_domain_writes_the_txt_proof(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    zone = world.zone("example.com")
    action = record(zone=zone, name="_www.example.com", type="TXT", ttl=60,
                    distribution_domain=d["Id"])
    action.apply(ctx, action.snapshot(ctx))
    [txt] = world.records(zone)
    assert txt["ResourceRecords"] == [{"Value": f'"{d["DomainName"]}"'}]


def test_evaluate_health_on_a_cloudfront_alias_is_refused() -> None:
    with pytest.raises(ValidationError, match="Route53 refuses `evaluate_health: true`"):
        Record.Params(zone="example.com", name="www.example.com",
                      alias={"distribution": "E1", "evaluate_health": True})


def test_validate_refuses_evaluate_health_on_a_cloudfront_alias(cli: Any,
                                                                tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("""\
runbook: 1
name: health
title: An alias that asks Route53 for what it refuses
environments: {stage: {}}
stages:
  - name: dns
    title: DNS
    steps:
      - id: dns
        action:
          route53.record:
            zone: example.com
            name: www.example.com
            alias: {distribution: E1, evaluate_health: true}
        post:
          - route53.record: {zone: example.com, name: www.example.com}
        rollback: auto
""")
    r = cli("validate", str(plan))
    assert r.code == 2
    assert "refuses `evaluate_health: true` for an alias to a CloudFront" in r.stderr
    assert "plan.yaml, line 14" in r.stderr


def test_the_twin_refuses_what_route53_refuses(strict: RunContext, world: World) -> None:
    """moto takes a CREATE of a record that exists, and an A record beside a CNAME; AWS
    and the sandbox's proxy refuse both (so a rehearsal fails where prod would)."""
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "A", ["192.0.2.1"])
    world.put_record(zone, "old.example.com", "CNAME", ["elsewhere.example.net"])
    r53 = strict.client("route53")

    def change(action: str, name: str) -> None:
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": action, "ResourceRecordSet": {
                "Name": name, "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.9"}]}}]})

    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="but it already exists"):
        change("CREATE", "www.example.com")
    with pytest.raises(ClientError, match="a conflicting RRSet of type CNAME"):
        change("UPSERT", "old.example.com")
    before = world.records(zone)
    change("UPSERT", "www.example.com")  # replacing what is there is fine
    assert world.records(zone) != before


def test_lowering_a_ttl_keeps_the_values_and_waits_the_old_ttl(
        ctx: RunContext, world: World, clock: Any) -> None:
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "A", ["192.0.2.1", "192.0.2.2"], ttl=3600)
    action = record(zone=zone, name="www.example.com", ttl=60, keep_values=True,
                    wait_old_ttl=True)
    diff, _ = cycle(ctx, action, lambda: world.records(zone))
    assert [(c.path, c.old, c.new) for c in diff.changes] == [
        ("www.example.com. A.ttl", 3600, 60)]
    assert "then waits 1h (the old TTL), so no resolver still holds the answer" in \
        str(diff.note)
    assert clock.now >= 3600  # the wait of the old TTL, on the test's clock


def test_lowering_the_ttl_of_an_alias_is_refused(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    zone = world.zone("example.com")
    record(zone=zone, name="www.example.com", alias={"distribution": d["Id"]}).apply(
        ctx, record(zone=zone, name="www.example.com",
                    alias={"distribution": d["Id"]}).snapshot(ctx))
    action = record(zone=zone, name="www.example.com", keep_values=True)
    with pytest.raises(KindError, match="is an alias record, which has no TTL of its own"):
        action.diff(ctx, action.snapshot(ctx))
