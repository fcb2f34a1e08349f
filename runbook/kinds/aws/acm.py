"""ACM: a check that a certificate (given by ARN, or the one a distribution serves)
covers the names a plan is about to use, is ISSUED, has days left, and, when CloudFront
uses it, lives in us-east-1 (the only region CloudFront takes certificates from).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field, model_validator

from runbook.certnames import covers
from runbook.context import RunContext
from runbook.kinds import register
from runbook.kinds.aws.common import (
    bare,
    call,
    missing_fails,
    read_distribution,
    region_of_arn,
)
from runbook.kinds.base import Check, CheckResult, Params

CLOUDFRONT_REGION = "us-east-1"


class CertificateParams(Params):
    arn: str | None = Field(None, description="certificate ARN")
    distribution: str | None = Field(
        None, description="CloudFront distribution id: check the certificate it serves")
    covers: list[str] = Field(default_factory=list,
                              description="host names the certificate must match, as browsers "
                              "match them (*.example.com matches one label)")
    status: str = Field("ISSUED", description="expected status")
    days_left: int | None = Field(None, ge=0, description="at least this many days before "
                                  "it expires")
    cloudfront: bool = Field(False, description="it will be used by CloudFront: must be in "
                             "us-east-1 (implied by `distribution`)")

    @model_validator(mode="after")
    def _one(self) -> CertificateParams:
        if (self.arn is None) == (self.distribution is None):
            raise ValueError("give exactly one of `arn` or `distribution`")
        return self


def _days_left(not_after: str | None) -> float | None:
    if not not_after:
        return None
    end = datetime.fromisoformat(not_after)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return (end - datetime.now(UTC)).total_seconds() / 86400


@register
class Certificate(Check[CertificateParams]):
    kind = "acm.certificate"
    uses_aws = True
    Params = CertificateParams
    summary = "an ACM certificate covers names, is ISSUED, has days left, suits CloudFront"

    def describe(self) -> str:
        p = self.params
        what = f"certificate {p.arn}" if p.arn else \
            f"the certificate of distribution {p.distribution}"
        text = f"{what} is {p.status}"
        if p.covers:
            text += f" and covers {', '.join(p.covers)}"
        if p.days_left is not None:
            text += f" with {p.days_left}+ days left"
        return text

    @missing_fails
    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        arn = p.arn
        if p.distribution:
            dist, _ = read_distribution(ctx, p.distribution)
            viewer = dist["DistributionConfig"].get("ViewerCertificate") or {}
            arn = viewer.get("ACMCertificateArn") or None
            if arn is None and viewer.get("IAMCertificateId"):
                return CheckResult.failed(
                    f"distribution {p.distribution} serves IAM server certificate "
                    f"{viewer['IAMCertificateId']}, not an ACM certificate: runbook cannot "
                    "read what it covers", "no-certificate", arn=None)
            if arn is None:
                return CheckResult.failed(
                    f"distribution {p.distribution} serves the default *.cloudfront.net "
                    "certificate, not an ACM certificate", "no-certificate", arn=None)
        assert arn is not None
        region = region_of_arn(arn)
        got = call(ctx.client("acm", region=region or None), "describe_certificate",
                   f"certificate {arn}", CertificateArn=arn)["Certificate"]
        names = [bare(n) for n in [got.get("DomainName", ""), *got.get(
            "SubjectAlternativeNames", [])] if n]
        names = list(dict.fromkeys(names))
        left = _days_left(got.get("NotAfter"))
        seen: dict[str, Any] = {"arn": arn, "status": got.get("Status"), "names": names,
                                "region": region, "not_after": got.get("NotAfter"),
                                "days_left": None if left is None else int(left),
                                "in_use_by": got.get("InUseBy", [])}
        bad: list[str] = []
        if str(got.get("Status", "")).upper() != p.status.upper():
            bad.append(f"status is {got.get('Status')}, expected {p.status}")
        missing = [n for n in p.covers if not any(covers(pat, n) for pat in names)]
        if missing:
            bad.append(f"it does not cover {', '.join(missing)} (it covers {', '.join(names)})")
        if (p.cloudfront or p.distribution) and region != CLOUDFRONT_REGION:
            bad.append(f"it is in {region}; CloudFront only uses certificates in "
                       f"{CLOUDFRONT_REGION}")
        if p.days_left is not None and (left is None or left < p.days_left):
            bad.append(f"it expires in {0 if left is None else int(left)} days, "
                       f"fewer than {p.days_left}")
        if bad:
            return CheckResult.failed(f"certificate {arn}: " + "; ".join(bad), **seen)
        days = f", {int(left)} days left" if left is not None else ""
        return CheckResult.passed(f"certificate {arn} is {got.get('Status')} and covers "
                                  f"{', '.join(p.covers or names)}{days}", **seen)
