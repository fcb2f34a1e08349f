from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.aws.r53record import Record
from runbook.kinds.aws.route53 import RecordCheck
from runbook.kinds.base import Change

from .conftest import FakeClock, journal
from .lifecycle import cycle
from .world import World


def record(**params: Any) -> Record:
    return Record(Record.Params(**params))


def rcheck(**params: Any) -> RecordCheck:
    return RecordCheck(RecordCheck.Params(**params))


def test_alias_to_a_distribution_lifecycle(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    zone = world.zone("tis.nhs.uk")
    action = record(zone="tis.nhs.uk", name="stage.trainee.tis.nhs.uk",
                    alias={"distribution": d["Id"]})
    assert action.describe() == f"point stage.trainee.tis.nhs.uk (A) at distribution {d['Id']}"

    def verify(records: Any, out: dict[str, Any]) -> None:
        assert out["fqdn"] == "stage.trainee.tis.nhs.uk." and out["change_id"]
        assert records[0]["AliasTarget"]["HostedZoneId"] == "Z2FDTNDATAQYW2"
        assert rcheck(zone=zone, name="stage.trainee.tis.nhs.uk",
                      alias={"distribution": d["Id"]}).run(ctx).ok

    diff, _ = cycle(ctx, action, lambda: world.records(zone), verify)
    assert diff.changes == (Change("stage.trainee.tis.nhs.uk. A", None, {"alias": {
        "dns_name": d["DomainName"], "zone_id": "Z2FDTNDATAQYW2", "evaluate_health": False}}),)
    assert diff.note is not None and diff.note.endswith("waits up to 5m for INSYNC")
    assert "writes A only (also_aaaa is off)" in diff.note


def test_changing_values_diffs_field_by_field_and_restores(ctx: RunContext,
                                                           world: World) -> None:
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "A", ["192.0.2.1"], ttl=3600)
    action = record(zone=zone, name="www.example.com.", values=["192.0.2.2", "192.0.2.3"],
                    ttl=60)
    diff, _ = cycle(ctx, action, lambda: world.records(zone))
    assert diff.changes == (
        Change("www.example.com. A.ttl", 3600, 60),
        Change("www.example.com. A.values", ["192.0.2.1"], ["192.0.2.2", "192.0.2.3"]))


def test_delete_and_restore(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    world.put_record(zone, "old.example.com", "CNAME", ["elsewhere.example.net"])
    action = record(zone="example.com", name="old.example.com", type="CNAME", absent=True)
    assert action.describe() == "delete the CNAME record of old.example.com"
    cycle(ctx, action, lambda: world.records(zone), lambda recs, _: None)
    assert rcheck(zone="example.com", name="old.example.com", type="CNAME",
                  values=["elsewhere.example.net"]).run(ctx).ok


def test_drift_guard(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    action = record(zone="example.com", name="www.example.com", values=["192.0.2.1"])
    out = journal(action.apply(ctx, journal(action.snapshot(ctx))))
    assert action.drifted(ctx, out) is None
    world.put_record(zone, "www.example.com", "A", ["192.0.2.9"])
    assert action.drifted(ctx, out) == ("www.example.com A changed since this run applied it: "
                                        "record.values is now ['192.0.2.9'], was ['192.0.2.1']")


def test_record_check_messages(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "A", ["192.0.2.1"])
    ok = rcheck(zone="example.com", name="www.example.com", values=["192.0.2.1"]).run(ctx)
    assert ok.ok and ok.summary == "www.example.com A is ['192.0.2.1']"
    bad = rcheck(zone="example.com", name="www.example.com", values=["192.0.2.7"]).run(ctx)
    assert bad.summary == "www.example.com A is ['192.0.2.1'], expected ['192.0.2.7']"
    missing = rcheck(zone="example.com", name="stage.example.com").run(ctx)
    assert missing.summary == "stage.example.com A does not exist in zone example.com."
    assert rcheck(zone="example.com", name="stage.example.com", absent=True).run(ctx).ok
    there = rcheck(zone="example.com", name="www.example.com", absent=True).run(ctx)
    assert there.summary.startswith("www.example.com A exists")
    with pytest.raises(KindError, match=r"www\.other\.org is not in zone example\.com\."):
        rcheck(zone="example.com", name="www.other.org").run(ctx)
    with pytest.raises(KindError, match=r"there is no hosted zone named nope\.org\."):
        rcheck(zone="nope.org", name="www.nope.org").run(ctx)


def test_alias_check_says_where_it_points(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    d = world.distribution("site-blue")
    zone = world.zone("example.com")
    world.put_record(zone, "www.example.com", "CNAME", ["elsewhere.example.net"])
    got = rcheck(zone="example.com", name="www.example.com", type="CNAME",
                 alias={"distribution": d["Id"]}).run(ctx)
    assert got.summary == ("www.example.com CNAME points at {'ttl': 300, 'values': "
                           "['elsewhere.example.net']}, expected an alias of "
                           f"{d['DomainName']}")


def test_waits_for_insync(ctx: RunContext, world: World, clock: FakeClock) -> None:
    """moto reports every change INSYNC at once; AWS takes up to a minute."""
    zone = world.zone("example.com")
    action = record(zone=zone, name="www.example.com", values=["192.0.2.1"], every="5s")
    snap = journal(action.snapshot(ctx))
    r53 = ctx.client("route53")
    info = {"Id": "/change/C1", "Status": "PENDING", "SubmittedAt": "2026-01-01T00:00:00Z"}
    with Stubber(r53) as stub:
        stub.add_response("list_resource_record_sets", {"ResourceRecordSets": [],
                                                        "IsTruncated": False, "MaxItems": "10"})
        stub.add_response("change_resource_record_sets", {"ChangeInfo": info})
        stub.add_response("get_change", {"ChangeInfo": info}, {"Id": "C1"})
        stub.add_response("get_change", {"ChangeInfo": {**info, "Status": "INSYNC"}})
        out = action.apply(ctx, snap)
    assert out["change_id"] == "C1" and clock.now == 5


def test_insync_timeout(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    action = record(zone=zone, name="www.example.com", values=["192.0.2.1"], timeout="10s",
                    every="5s")
    snap = journal(action.snapshot(ctx))
    info = {"Id": "/change/C1", "Status": "PENDING", "SubmittedAt": "2026-01-01T00:00:00Z"}
    with Stubber(ctx.client("route53")) as stub:
        stub.add_response("list_resource_record_sets", {"ResourceRecordSets": [],
                                                        "IsTruncated": False, "MaxItems": "10"})
        stub.add_response("change_resource_record_sets", {"ChangeInfo": info})
        for _ in range(3):
            stub.add_response("get_change", {"ChangeInfo": info})
        with pytest.raises(KindError, match=r"change C1 to www\.example\.com A is still "
                           r"PENDING after 10s: Route53 accepted it"):
            action.apply(ctx, snap)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="give `values`, `alias`, or `absent: true`"):
        Record.Params(zone="example.com", name="x.example.com")
    with pytest.raises(ValueError, match="give `values` or `alias`, not both"):
        Record.Params(zone="example.com", name="x.example.com", values=["1"],
                      alias={"distribution": "E1"})
    with pytest.raises(ValueError, match="an alias to `dns_name` needs the target's `zone_id`"):
        Record.Params(zone="example.com", name="x.example.com", alias={"dns_name": "a.b"})


def test_alias_names_compare_with_or_without_the_trailing_dot() -> None:
    from runbook.kinds.aws.route53 import view

    def alias(name: str) -> dict[str, Any]:
        return {"Name": "a.example.com.", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": name, "EvaluateTargetHealth": False}}

    assert view(alias("D111.cloudfront.net.")) == view(alias("d111.cloudfront.net"))


def test_alias_check_by_dns_name_needs_no_zone_id(ctx: RunContext, world: World) -> None:
    zone = world.zone("example.com")
    action = record(zone=zone, name="www.example.com",
                    alias={"dns_name": "d111.cloudfront.net", "zone_id": "Z2FDTNDATAQYW2"})
    action.apply(ctx, action.snapshot(ctx))
    assert rcheck(zone=zone, name="www.example.com",
                  alias={"dns_name": "d111.cloudfront.net."}).run(ctx).ok
    wrong = rcheck(zone=zone, name="www.example.com",
                   alias={"dns_name": "d111.cloudfront.net", "zone_id": "Z0OTHER"}).run(ctx)
    assert not wrong.ok
