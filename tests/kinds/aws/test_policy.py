"""Reading bucket policies for CloudFront grants: the shapes found in the wild."""

from __future__ import annotations

from typing import Any

from runbook.kinds.aws.policy import OAI_USER, oac_statement, read, with_statement

ARN = "arn:aws:cloudfront::123456789012:distribution/E2STAGE"
OAC = oac_statement("site", "E2STAGE", ARN)
OAI = {"Sid": "OAI", "Effect": "Allow", "Principal": {"AWS": OAI_USER + "E3OAI"},
       "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::site/*"}
PUBLIC = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:Get*",
          "Resource": "arn:aws:s3:::site/v1/*"}
DENY = {"Sid": "NoOne", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": "arn:aws:s3:::site/*"}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def reading(doc: dict[str, Any] | None, *, oai: list[str] | None = None,
            oac: bool | None = None) -> Any:
    return read(doc, bucket="site", key="v1/index.html", distribution_arn=ARN,
                oai_ids=oai or [], signs_with_oac=oac)


def test_oac_grant() -> None:
    got = reading(policy(OAC), oac=True)
    assert got.granted_by == "statement AllowCloudFrontReadE2STAGE (OAC)" and not got.public


def test_oac_grant_that_the_origin_cannot_use() -> None:
    got = reading(policy(OAC), oac=False)
    assert got.granted_by is None
    assert got.near_misses == ["statement AllowCloudFrontReadE2STAGE grants the distribution "
                               "through origin access control, but its origin has none "
                               "(requests unsigned or signed by an OAI)"]


def test_wildcard_source_arn_in_string_like() -> None:
    stmt = {**OAC, "Condition": {"StringLike": {
        "aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"}}}
    assert reading(policy(stmt)).granted_by == "statement AllowCloudFrontReadE2STAGE (OAC)"


def test_oai_grants() -> None:
    assert reading(policy(OAI), oai=["E3OAI"]).granted_by == "statement OAI (OAI)"
    other = reading(policy(OAI), oai=["E9"])
    assert other.granted_by is None
    assert other.near_misses == ["statement OAI grants an origin access identity the origin "
                                 "does not use (E3OAI)"]


def test_public_grant_is_marked_and_a_real_grant_wins() -> None:
    assert reading(policy(PUBLIC)).public
    both = reading(policy(PUBLIC, OAC))
    assert both.granted_by == "statement AllowCloudFrontReadE2STAGE (OAC)" and not both.public


def test_deny_without_conditions() -> None:
    assert reading(policy(OAC, DENY)).denied_by == "statement NoOne"
    guarded = {**DENY, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert reading(policy(OAC, guarded)).denied_by is None


def test_statement_for_another_bucket_or_action_is_ignored() -> None:
    assert reading(policy({**OAC, "Resource": "arn:aws:s3:::other/*"})).granted_by is None
    assert reading(policy({**OAC, "Action": "s3:PutObject"})).granted_by is None
    assert reading(None).granted_by is None


def test_with_statement_replaces_in_place_and_keeps_the_rest() -> None:
    old = policy(PUBLIC, {**OAC, "Resource": "arn:aws:s3:::site/old/*"}, OAI)
    new = with_statement(old, OAC)
    assert [s["Sid"] for s in new["Statement"]] == ["Public", OAC["Sid"], "OAI"]
    assert new["Statement"][1] == OAC
    assert old["Statement"][1]["Resource"] == "arn:aws:s3:::site/old/*"  # not mutated
    assert with_statement(None, OAC) == {"Version": "2012-10-17", "Statement": [OAC]}
