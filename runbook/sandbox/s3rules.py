"""S3 as AWS answers it, on top of moto: the proxy's S3 routes.

* a CreateBucket whose LocationConstraint is not the region the request was signed for
  (none: us-east-1): 400 IllegalLocationConstraintException, as S3 refuses it; moto creates
  the bucket.
"""

from __future__ import annotations

import re

from runbook.sandbox.kit import Call, Kit, Reply, Route, s3_error

BUCKET_PATH = re.compile(r"^/([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/?$")
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9\-]+)/s3/")
CONSTRAINT = re.compile(rb"<LocationConstraint>([^<]*)</LocationConstraint>")


def install(kit: Kit) -> None:
    kit.proxy.checks.append(Route("PUT", BUCKET_PATH, create_bucket_region))


def create_bucket_region(call: Call) -> Reply | None:
    """S3's IllegalLocationConstraintException: a bucket is created through an endpoint of
    its own region (us-east-1 for none)."""
    if call.query not in ("", "x-id=CreateBucket"):  # PUT /bucket?policy and the like
        return None
    scope = SCOPE.search(call.header("Authorization"))
    if scope is None:
        return None
    found = CONSTRAINT.search(call.body)
    wanted = found.group(1).decode() if found and found.group(1) else "us-east-1"
    if wanted == scope.group(1):
        return None
    return s3_error(400, "IllegalLocationConstraintException",
                    f"The {wanted} location constraint is incompatible for the region "
                    "specific endpoint this request was sent to.")
