"""AWS's behaviour at each of moto's gaps (docs/moto-gaps.md), through the twin.

The twin's proxy answers as AWS does whether moto has the gap or not, so these tests
pass with any moto in the range pyproject.toml allows. Which gaps bare moto still has is
a report, not a test: ``python -m tests.motogaps`` (its last test here only checks that
the report covers every gap of the page; it never fails on what moto does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from runbook.context import RunContext

from .conftest import through_the_twin
from .world import OAI_ID, World

DOC = Path(__file__).resolve().parents[3] / "docs" / "moto-gaps.md"


@pytest.fixture
def waiting(ctx: RunContext, moto_endpoint: str) -> Iterator[RunContext]:
    """Through the twin, with AWS's waits an hour long: nothing settles in a test."""
    with through_the_twin(ctx, moto_endpoint, wait=3600.0) as made:
        yield made


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _update(ctx: RunContext, dist_id: str, etag: str, **change: Any) -> dict[str, Any]:
    cf = ctx.client("cloudfront")
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    return dict(cf.update_distribution(Id=dist_id, IfMatch=etag,
                                       DistributionConfig={**config, **change}))


def _etag(ctx: RunContext, dist_id: str) -> str:
    return str(ctx.client("cloudfront").get_distribution_config(Id=dist_id)["ETag"])


def test_1_a_stale_if_match_is_refused(strict: RunContext) -> None:
    w = World(strict)
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    with pytest.raises(ClientError) as err:
        _update(strict, d["Id"], "NOT-THE-ETAG", Comment="x")
    assert _code(err) == "PreconditionFailed"
    assert w.config(d["Id"])["Comment"] == "test"


def test_2_every_change_gets_a_new_etag(strict: RunContext) -> None:
    w = World(strict)
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    before = _etag(strict, d["Id"])
    after = _update(strict, d["Id"], before, Comment="x")["ETag"]
    assert after != before and _etag(strict, d["Id"]) == after


def test_3_an_alias_another_distribution_holds_is_refused(strict: RunContext) -> None:
    w = World(strict)
    w.bucket("site-blue")
    cert = w.cert(["trainee.tis.nhs.uk"])
    w.distribution("site-blue", aliases=["trainee.tis.nhs.uk"], cert=cert)
    other = w.distribution("site-blue", cert=cert)
    with pytest.raises(ClientError) as err:
        _update(strict, other["Id"], _etag(strict, other["Id"]),
                Aliases={"Quantity": 1, "Items": ["trainee.tis.nhs.uk"]})
    assert _code(err) == "CNAMEAlreadyExists"


@pytest.mark.parametrize("access", ["oac", "oai"])
def test_4_origin_access_reads_back_as_sent(strict: RunContext, access: Any) -> None:
    w = World(strict)
    w.bucket("site-blue")
    d = w.distribution("site-blue", access=access)
    etag = _etag(strict, d["Id"])
    _update(strict, d["Id"], etag, Comment="restored")  # a restore writes back what it read
    origin = w.config(d["Id"])["Origins"]["Items"][0]
    if access == "oac":
        assert origin["OriginAccessControlId"] == w.oac()
    else:
        assert origin["S3OriginConfig"]["OriginAccessIdentity"] == (
            f"origin-access-identity/cloudfront/{OAI_ID}")


def test_5_a_change_is_in_progress_until_deployed(waiting: RunContext) -> None:
    w = World(waiting)
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    cf = waiting.client("cloudfront")
    assert cf.get_distribution(Id=d["Id"])["Distribution"]["Status"] == "InProgress"


def test_6_an_invalidation_is_in_progress_then_completed(strict: RunContext,
                                                         waiting: RunContext) -> None:
    w = World(strict)
    w.bucket("site-blue")
    d = w.distribution("site-blue")
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "r1"}
    slow = waiting.client("cloudfront").create_invalidation(
        DistributionId=d["Id"], InvalidationBatch=batch)["Invalidation"]
    assert slow["Status"] == "InProgress"
    done = strict.client("cloudfront").create_invalidation(
        DistributionId=d["Id"], InvalidationBatch={**batch, "CallerReference": "r2"})
    assert done["Invalidation"]["Status"] == "Completed"  # AWS's case, not moto 5.2.5's


def test_7_a_route53_change_is_pending_until_in_sync(waiting: RunContext) -> None:
    w = World(waiting)
    zone = w.zone("example.com")
    got = w.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "a.example.com", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
    assert got["ChangeInfo"]["Status"] == "PENDING"
    again = w.r53.get_change(Id=got["ChangeInfo"]["Id"])["ChangeInfo"]["Status"]
    assert again == "PENDING"


def test_8_a_delete_must_match_the_alias_exactly(strict: RunContext) -> None:
    w = World(strict)
    zone = w.zone("example.com")

    def change(action: str, target: str) -> None:
        w.r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": action, "ResourceRecordSet": {
                "Name": "a.example.com", "Type": "A", "AliasTarget": {
                    "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": target,
                    "EvaluateTargetHealth": False}}}]})

    change("UPSERT", "d111.cloudfront.net")
    with pytest.raises(ClientError) as err:
        change("DELETE", "d999.cloudfront.net")
    assert _code(err) == "InvalidChangeBatch"
    assert [r["Name"] for r in w.records(zone)] == ["a.example.com."]


def test_12_conflicting_aliases_are_listed(strict: RunContext) -> None:
    w = World(strict)
    w.bucket("site-blue")
    d = w.distribution("site-blue", aliases=["a.example.com"])
    got = strict.client("cloudfront").list_conflicting_aliases(DistributionId=d["Id"],
                                                                Alias="a.example.com")
    listed = got["ConflictingAliasesList"].get("Items", [])
    assert [i["Alias"] for i in listed] == ["a.example.com"]


def test_an_alias_needs_a_certificate_that_covers_it(strict: RunContext) -> None:
    w = World(strict)
    w.bucket("site-blue")
    with pytest.raises(ClientError) as err:
        w.distribution("site-blue", aliases=["a.example.com"],
                       cert=w.cert(["b.example.com"]))
    assert _code(err) == "InvalidViewerCertificate"
    assert "a.example.com" in str(err.value)


def _gaps_of_the_page() -> set[str]:
    rows = re.findall(r"^\| (S?\d+) \|", DOC.read_text(), flags=re.M)
    return set(rows)


def test_the_report_probes_every_gap_of_the_page(moto_endpoint: str) -> None:
    """``python -m tests.motogaps`` says something of every gap the page lists that can
    be probed on loopback; what it finds is a report and is not asserted."""
    from tests.motogaps import PROBES, findings, page_states

    unprobed = {"15", "S1", "S4"}  # no edge behind moto; a race; other S3-like stores
    assert set(PROBES) == _gaps_of_the_page() - unprobed
    # the page says, for every gap of the table, what the last checked release did
    assert set(page_states()) == {g for g in PROBES if not g.startswith("S")}
    found = list(findings(moto_endpoint))
    assert [f.gap for f in found] == list(PROBES)
    assert all(f.state in ("open", "closed", "unknown") and f.seen for f in found)
