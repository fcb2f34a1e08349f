from __future__ import annotations

from typing import Any

import pytest

from runbook.certnames import covers
from runbook.context import RunContext
from runbook.kinds.aws.acm import Certificate

from .world import World


def cert_check(**params: Any) -> Certificate:
    return Certificate(Certificate.Params(**params))


@pytest.mark.parametrize(("pattern", "name", "ok"), [
    ("*.tis.nhs.uk", "trainee.tis.nhs.uk", True),
    ("*.tis.nhs.uk", "TRAINEE.tis.nhs.uk.", True),
    ("*.tis.nhs.uk", "tis.nhs.uk", False),
    ("*.tis.nhs.uk", "stage.trainee.tis.nhs.uk", False),
    ("*.trainee.tis.nhs.uk", "stage.trainee.tis.nhs.uk", True),
    ("trainee.tis.nhs.uk", "trainee.tis.nhs.uk", True),
])
def test_wildcards_match_as_browsers_do(pattern: str, name: str, ok: bool) -> None:
    assert covers(pattern, name) is ok


def test_certificate_passes(ctx: RunContext, world: World) -> None:
    arn = world.cert(["trainee.tis.nhs.uk", "*.trainee.tis.nhs.uk"], days=90)
    got = cert_check(arn=arn, covers=["stage.trainee.tis.nhs.uk", "trainee.tis.nhs.uk"],
                     cloudfront=True, days_left=30).run(ctx)
    assert got.ok, got.summary
    assert got.summary.startswith(f"certificate {arn} is ISSUED and covers "
                                  "stage.trainee.tis.nhs.uk, trainee.tis.nhs.uk, 8")


def test_certificate_names_each_failure(ctx: RunContext, world: World) -> None:
    arn = world.cert(["*.tis.nhs.uk"], region="eu-west-2", days=10)
    got = cert_check(arn=arn, covers=["stage.trainee.tis.nhs.uk"], cloudfront=True,
                     days_left=30).run(ctx)
    assert not got.ok
    assert got.summary == (
        f"certificate {arn}: it does not cover stage.trainee.tis.nhs.uk (it covers "
        "*.tis.nhs.uk); it is in eu-west-2; CloudFront only uses certificates in us-east-1; "
        "it expires in 9 days, fewer than 30")


def test_certificate_of_a_distribution(ctx: RunContext, world: World) -> None:
    world.bucket("site-blue")
    arn = world.cert(["*.tis.nhs.uk"])
    with_cert = world.distribution("site-blue", cert=arn)
    assert cert_check(distribution=with_cert["Id"], covers=["trainee.tis.nhs.uk"]).run(ctx).ok
    bare = world.distribution("site-blue")
    got = cert_check(distribution=bare["Id"], covers=["trainee.tis.nhs.uk"]).run(ctx)
    assert got.summary == (f"distribution {bare['Id']} serves the default *.cloudfront.net "
                           "certificate, not an ACM certificate")


def test_pending_certificate_fails(ctx: RunContext) -> None:
    acm = ctx.client("acm")
    arn = acm.request_certificate(DomainName="new.example.com")["CertificateArn"]
    got = cert_check(arn=arn).run(ctx)
    assert got.summary == f"certificate {arn}: status is PENDING_VALIDATION, expected ISSUED"
