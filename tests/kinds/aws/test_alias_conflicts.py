"""cloudfront.alias_free beyond this account's exact aliases: other accounts through
ListConflictingAliases (the twin's proxy implements it for this account; another
account's answer comes through the Stubber), and wildcard aliases of this account."""

from __future__ import annotations

from typing import Any

from botocore.stub import ANY, Stubber

from runbook.context import RunContext
from runbook.kinds.aws.cloudfront import AliasFree

from .world import World

NAME = "www.example.com"


def _listing(ctx: RunContext) -> dict[str, Any]:
    """This account's distributions as moto lists them, completed with the fields AWS's
    answer always has (the Stubber checks answers against botocore's model)."""
    got = dict(ctx.client("cloudfront").list_distributions())
    got.pop("ResponseMetadata", None)
    for d in got["DistributionList"].get("Items", []):
        d.setdefault("Staging", False)
    return got


def free(alias: str, distribution: str | None = None) -> AliasFree:
    return AliasFree(AliasFree.Params(alias=alias, distribution=distribution))


def test_a_wildcard_of_another_distribution_serves_a_released_name(
        strict: RunContext, world: World) -> None:
    world.bucket("site-blue")
    cert = world.cert(["example.com", "*.example.com"])
    wild = world.distribution("site-blue", aliases=["*.example.com"], cert=cert)
    ours = world.distribution("site-blue", cert=cert)
    released = free(NAME).run(strict)
    assert not released.ok and released.outcome == "wildcard"
    assert released.summary == (f"no distribution has {NAME} itself, but *.example.com on "
                                f"{wild['Id']} covers it: CloudFront serves the name from "
                                "there")
    adding = free(NAME, ours["Id"]).run(strict)
    assert adding.ok, adding.summary
    assert f"*.example.com on {wild['Id']} also covers it; the exact alias on {ours['Id']} " \
        "wins" in adding.summary
    # the twin answered ListConflictingAliases with this account's wildcard only
    assert "no other account uses it (ListConflictingAliases)" in adding.summary


def test_an_alias_in_another_account_is_reported(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    cert = world.cert(["example.com", "*.example.com"])
    ours = world.distribution("site-blue", cert=cert)
    listed = _listing(ctx)
    cf = ctx.client("cloudfront")
    with Stubber(cf) as stub:
        stub.add_response("list_distributions", listed, {})
        stub.add_response("list_conflicting_aliases", {"ConflictingAliasesList": {
            "MaxItems": 100, "Quantity": 1, "Items": [
                {"Alias": NAME, "DistributionId": "*******4PLE99", "AccountId": "******555555"},
            ]}}, {"DistributionId": ours["Id"], "Alias": NAME, "MaxItems": ANY})
        got = free(NAME, ours["Id"]).run(ctx)
    assert not got.ok and got.outcome == "taken"
    assert got.summary == (
        f"{NAME} is an alias of distribution *******4PLE99 (account ******555555) in another "
        "AWS account (ListConflictingAliases): CloudFront will refuse it "
        "(CNAMEAlreadyExists). Have it removed there, or moved with AssociateAlias")


def test_this_accounts_own_conflict_is_not_another_accounts(ctx: RunContext,
                                                            world: World) -> None:
    account = "******789012"  # moto's account, hidden as AWS hides it
    world.bucket("site-blue")
    ours = world.distribution("site-blue", cert=world.cert(["*.example.com"]))
    listed = _listing(ctx)
    cf = ctx.client("cloudfront")
    with Stubber(cf) as stub:
        stub.add_response("list_distributions", listed, {})
        stub.add_response("list_conflicting_aliases", {"ConflictingAliasesList": {
            "MaxItems": 100, "Quantity": 1, "Items": [
                {"Alias": NAME, "DistributionId": "*******ZZZZZZ", "AccountId": account}]}},
            {"DistributionId": ours["Id"], "Alias": NAME, "MaxItems": ANY})
        got = free(NAME, ours["Id"]).run(ctx)
    assert got.ok, got.summary


def test_a_wildcard_alias_under_the_same_wildcard_certificate_is_accepted(
        strict: RunContext, world: World) -> None:
    """`*.example.com` as an alias, served with a certificate for `*.example.com`: AWS
    accepts it, and so do the kinds and the twin's proxy (both once refused it)."""
    from runbook.certnames import covers
    from runbook.kinds.aws.cloudfront import Update

    assert covers("*.example.com", "*.example.com")
    assert not covers("*.example.com", "a.b.example.com")
    world.bucket("site-blue")
    d = world.distribution("site-blue", cert=world.cert(["*.example.com"]))
    action = Update(Update.Params(id=d["Id"], aliases={"add": ["*.example.com"]}))
    action.apply(strict, action.snapshot(strict))
    assert world.config(d["Id"])["Aliases"]["Items"] == ["*.example.com"]
