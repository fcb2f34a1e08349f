"""Bucket policies and CloudFront: the statement that lets a distribution read a bucket
(origin access control), and reading a policy to say whether, and how, it does.

This is a careful reading of the common shapes, not an IAM policy evaluator: it looks
for an Allow of ``s3:GetObject`` on the objects CloudFront will read, to the CloudFront
service principal bound to the distribution by ``AWS:SourceArn`` (OAC), to the
distribution's origin access identity (OAI), or to everyone; and for a Deny without
conditions that would cancel it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from runbook.kinds.aws.common import bucket_arn
from runbook.kinds.sets import POLICY_SETS, in_set_order

SERVICE = "cloudfront.amazonaws.com"
OAI_USER = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "


def sid_for(distribution_id: str) -> str:
    """The stable Sid of the statement runbook writes for one distribution."""
    return f"AllowCloudFrontRead{distribution_id}"


def oac_statement(bucket: str, distribution_id: str, distribution_arn: str) -> dict[str, Any]:
    return {
        "Sid": sid_for(distribution_id),
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn(bucket)}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def parse(policy: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    if isinstance(policy, Mapping):
        return dict(policy)
    return dict(json.loads(policy))


def with_statement(policy: Mapping[str, Any] | None, statement: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """``policy`` with ``statement`` added, or replacing the one with the same Sid; the
    other statements untouched and in their order."""
    doc: dict[str, Any] = dict(policy) if policy else {"Version": "2012-10-17"}
    old = _list(doc.get("Statement"))
    sid = statement.get("Sid")
    out = [s for s in old if not (isinstance(s, Mapping) and s.get("Sid") == sid)]
    at = next((i for i, s in enumerate(old) if isinstance(s, Mapping) and s.get("Sid") == sid),
              len(out))
    out.insert(at, dict(statement))
    doc["Statement"] = out
    return doc


_LISTY = ("Action", "NotAction", "Resource", "NotResource")


def canonical(policy: Mapping[str, Any] | None) -> Any:
    """A policy in a form where equal meaning compares equal: single values and lists of
    one are the same to IAM, and the order of actions, resources and principals is not
    significant. For comparing only; never written."""
    if policy is None:
        return None
    out = dict(policy)
    statements = []
    for stmt in _list(policy.get("Statement")):
        if not isinstance(stmt, Mapping):
            statements.append(stmt)
            continue
        one = dict(stmt)
        for key in _LISTY:
            if key in one:
                one[key] = sorted(str(v) for v in _list(one[key]))
        if isinstance(one.get("Principal"), Mapping):
            one["Principal"] = {k: sorted(str(v) for v in _list(v))
                                for k, v in one["Principal"].items()}
        statements.append(one)
    out["Statement"] = statements
    return in_set_order(out, POLICY_SETS)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, *, fold: bool = False) -> bool:
    for p in _list(patterns):
        if not isinstance(p, str):
            continue
        if fold and fnmatchcase(value.lower(), p.lower()):
            return True
        if not fold and fnmatchcase(value, p):
            return True
    return False


def _principal(stmt: Mapping[str, Any]) -> tuple[bool, list[str], list[str]]:
    """(everyone, services, aws principals) of a statement."""
    p = stmt.get("Principal")
    if p == "*":
        return True, [], []
    if not isinstance(p, Mapping):
        return False, [], []
    aws = [str(x) for x in _list(p.get("AWS"))]
    return "*" in aws, [str(x).lower() for x in _list(p.get("Service"))], aws


def _source_arns(stmt: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for op, block in (stmt.get("Condition") or {}).items():
        if not isinstance(block, Mapping) or op.startswith("ForAnyValue") or "Not" in op:
            continue
        for key, value in block.items():
            if key.lower() == "aws:sourcearn":
                out.extend(str(v) for v in _list(value))
    return out


def lists_publicly(policy: Mapping[str, Any] | None, *, bucket: str) -> bool:
    """Whether ``policy`` lets anyone list ``bucket`` (s3:ListBucket) without a condition:
    S3 then answers a missing key with 404 NoSuchKey, otherwise with 403 AccessDenied."""
    for stmt in _list((policy or {}).get("Statement")):
        if isinstance(stmt, Mapping) and stmt.get("Effect") == "Allow" and \
                not stmt.get("Condition") and _principal(stmt)[0] and \
                _matches(stmt.get("Action"), "s3:ListBucket", fold=True) and \
                _matches(stmt.get("Resource"), bucket_arn(bucket)):
            return True
    return False


def oac_grantees(policy: Mapping[str, Any] | None) -> list[str]:
    """The ids of the distributions ``policy`` lets read through an origin access control
    (an Allow to cloudfront.amazonaws.com whose AWS:SourceArn names the distribution)."""
    out: list[str] = []
    for stmt in _list((policy or {}).get("Statement")):
        if not isinstance(stmt, Mapping) or stmt.get("Effect") != "Allow":
            continue
        if "cloudfront.amazonaws.com" not in _principal(stmt)[1]:
            continue
        for arn in _source_arns(stmt):
            dist = arn.rpartition(":distribution/")[2]
            if dist and "*" not in dist and dist not in out:
                out.append(dist)
    return out


@dataclass
class Reading:
    """What a policy says about CloudFront reading one object."""

    granted_by: str | None = None  # "statement AllowCloudFrontReadE1 (OAC)"
    public: bool = False           # granted only by a statement for everyone
    denied_by: str | None = None
    near_misses: list[str] = field(default_factory=list)


def _grant(out: Reading, how: str) -> None:
    if out.granted_by is None or out.public:
        out.granted_by, out.public = how, False


def read(policy: Mapping[str, Any] | None, *, bucket: str, key: str, distribution_arn: str,
         oai_ids: list[str], signs_with_oac: bool | None = None) -> Reading:
    """How ``policy`` lets the distribution read ``key``. ``oai_ids``: the identities its
    origin uses; ``signs_with_oac``: whether the origin has an origin access control
    (None: not known, as from moto), so a grant the origin cannot use does not count."""
    out = Reading()
    resource = f"{bucket_arn(bucket)}/{key}"
    for i, stmt in enumerate(_list((policy or {}).get("Statement"))):
        if not isinstance(stmt, Mapping):
            continue
        name = f"statement {stmt.get('Sid') or f'#{i + 1}'}"
        if not (_matches(stmt.get("Action"), "s3:GetObject", fold=True)
                and _matches(stmt.get("Resource"), resource)):
            continue
        everyone, services, aws = _principal(stmt)
        if stmt.get("Effect") == "Deny":
            if (everyone or SERVICE in services) and not stmt.get("Condition"):
                out.denied_by = name
            continue
        if SERVICE in services:
            arns = _source_arns(stmt)
            if not arns:
                _grant(out, f"{name} (CloudFront service, any source)")
            elif not any(fnmatchcase(distribution_arn, a) for a in arns):
                out.near_misses.append(
                    f"{name} lets CloudFront read, but only for {', '.join(arns)}")
            elif signs_with_oac is False:
                out.near_misses.append(f"{name} grants the distribution through origin access "
                                       "control, but its origin has none (requests unsigned "
                                       "or signed by an OAI)")
            else:
                _grant(out, f"{name} (OAC)")
            continue
        oai = [a for a in aws if a.startswith(OAI_USER)]
        if any(a[len(OAI_USER):] in oai_ids for a in oai):
            _grant(out, f"{name} (OAI)")
        elif oai:
            out.near_misses.append(f"{name} grants an origin access identity the origin "
                                   "does not use "
                                   f"({', '.join(a[len(OAI_USER):] for a in oai)})")
        elif everyone and not stmt.get("Condition") and out.granted_by is None:
            out.granted_by, out.public = f"{name} (public read)", True
    return out
