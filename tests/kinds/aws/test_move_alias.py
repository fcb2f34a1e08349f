"""cloudfront.move_alias against the moto server behind the sandbox's AWS proxy (moto
has no AssociateAlias; the proxy implements it with AWS's TXT requirement), and
ListConflictingAliases from another account through the botocore Stubber."""

from __future__ import annotations

from typing import Any

import pytest

from runbook.context import RunContext
from runbook.errors import AwsError, KindError
from runbook.kinds.aws.cfmove import MoveAlias

from .lifecycle import cycle
from .world import World

NAME = "www.example.com"


def move(**params: Any) -> MoveAlias:
    return MoveAlias(MoveAlias.Params(**params))


def _two(world: World, cover: list[str] | None = None) -> tuple[str, dict[str, Any],
                                                                  dict[str, Any]]:
    world.bucket("site-blue")
    cert = world.cert(cover or ["example.com", "*.example.com"])
    site = world.distribution("site-blue", aliases=[NAME], cert=cert)
    redirect = world.distribution("site-blue", cert=cert)
    return world.zone("example.com"), site, redirect


def _state(world: World, zone: str, *ids: str) -> Any:
    return ([world.config(i).get("Aliases", {}).get("Items", []) for i in ids],
            world.records(zone))


def test_move_alias_lifecycle_moves_back_on_restore(strict: RunContext, world: World) -> None:
    zone, site, redirect = _two(world)
    world.put_record(zone, f"_{NAME}", "TXT", [f'"{redirect["DomainName"]}"'])
    action = move(alias=NAME, source=site["Id"], target=redirect["Id"], zone="example.com")
    assert action.describe() == (f"move {NAME} from distribution {site['Id']} to distribution "
                                 f"{redirect['Id']} in one step (AssociateAlias)")

    def verify(state: Any, out: dict[str, Any]) -> None:
        assert state[0] == [[], [NAME]]
        assert out["domain_name"] == redirect["DomainName"]
        assert out["txt_record"] == f"_{NAME}."

    diff, _ = cycle(strict, action, lambda: _state(world, zone, site["Id"], redirect["Id"]),
                    verify)
    assert [c.path for c in diff.changes] == [f"distribution {site['Id']} Aliases.Items",
                                              f"distribution {redirect['Id']} Aliases.Items"]
    assert diff.note is not None
    assert f'AWS requires TXT _{NAME}. = "{redirect["DomainName"]}"; that record exists' \
        in diff.note


def test_a_move_without_the_txt_record_is_refused_and_changes_nothing(
        strict: RunContext, world: World) -> None:
    zone, site, redirect = _two(world)
    action = move(alias=NAME, source=site["Id"], target=redirect["Id"], zone="example.com")
    snap = action.snapshot(strict)
    assert "that record does not exist yet: a step before must create it" in str(
        action.diff(strict, snap).note)
    before = _state(world, zone, site["Id"], redirect["Id"])
    with pytest.raises(AwsError) as err:
        action.apply(strict, snap)
    assert str(err.value).startswith(
        f"CloudFront refused to move {NAME} to distribution {redirect['Id']}: it needs a DNS "
        f"TXT record _{NAME}. whose value is {redirect['DomainName']}")
    assert _state(world, zone, site["Id"], redirect["Id"]) == before


def test_a_target_whose_certificate_does_not_cover_the_name_is_refused_first(
        strict: RunContext, world: World) -> None:
    zone, site, _ = _two(world)
    other = world.distribution("site-blue", cert=world.cert(["other.example.org"]))
    world.put_record(zone, f"_{NAME}", "TXT", [f'"{other["DomainName"]}"'])
    action = move(alias=NAME, source=site["Id"], target=other["Id"])
    with pytest.raises(KindError, match=r"covers other\.example\.org, not www\.example\.com"):
        action.apply(strict, action.snapshot(strict))
    assert world.config(site["Id"])["Aliases"]["Items"] == [NAME]


def test_drift_is_seen_when_the_name_moves_back(strict: RunContext, world: World) -> None:
    zone, site, redirect = _two(world)
    world.put_record(zone, f"_{NAME}", "TXT", [f'"{redirect["DomainName"]}"'])
    action = move(alias=NAME, source=site["Id"], target=redirect["Id"])
    applied = action.apply(strict, action.snapshot(strict))
    assert action.drifted(strict, applied) is None
    world.put_record(zone, f"_{NAME}", "TXT", [f'"{site["DomainName"]}"'])
    strict.client("cloudfront").associate_alias(TargetDistributionId=site["Id"], Alias=NAME)
    assert action.drifted(strict, applied) == (
        f"{NAME} changed since this run moved it: distribution {redirect['Id']} no longer "
        f"has {NAME}; distribution {site['Id']} has {NAME} again")
