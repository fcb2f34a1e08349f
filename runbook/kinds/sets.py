"""Lists that AWS treats as sets, put in one order so that two readings compare equal.

AWS answers some lists in whatever order its last write left them: a distribution's
aliases (AssociateAlias appends the name it moves in), origins (found by ``Id``), a
behaviour's function associations (one per event type), a record set's values, a
policy's statements. A restore that puts every element back proves itself only if such
lists compare as sets. Lists whose order AWS honours stay as they are: cache behaviours
(CloudFront tries them in order), origin group members (primary first), S3 routing rules
(first match wins).

The same view takes an empty list wrapper (``{"Quantity": 0}``, with or without
``"Items": []``) for the field's absence: CloudFront means the same by both, answers the
wrapper for a field a configuration was sent without, and a restore that writes an empty
list back (no function associations left) must not read as a change to the field.

The one helper for it is :func:`in_set_order`; a rule names a list by the keys that lead
to it (``"Aliases.Items"`` matches that suffix at any depth, list positions ignored) and
says what orders its elements: a field of each element, or ``None`` for the whole element.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SetRules = Mapping[str, str | None]

CLOUDFRONT_SETS: SetRules = {
    "Aliases.Items": None,
    "Origins.Items": "Id",
    "OriginGroups.Items": "Id",
    "CustomHeaders.Items": "HeaderName",
    "OriginSslProtocols.Items": None,
    "CustomErrorResponses.Items": "ErrorCode",
    "FunctionAssociations.Items": "EventType",
    "LambdaFunctionAssociations.Items": "EventType",
    "AllowedMethods.Items": None,
    "CachedMethods.Items": None,
    "Headers.Items": None,
    "WhitelistedNames.Items": None,
    "QueryStringCacheKeys.Items": None,
    "TrustedSigners.Items": None,
    "TrustedKeyGroups.Items": None,
    "GeoRestriction.Items": None,
    "StatusCodes.Items": None,
}
"""A DistributionConfig's lists that CloudFront keeps as sets (CacheBehaviors is not one:
CloudFront tries behaviours in the order listed)."""

POLICY_SETS: SetRules = {"Statement": None}
"""An IAM/S3 policy's statements: IAM evaluates all of them, in no order."""

RECORD_SETS: SetRules = {"values": None}
"""A Route53 record set's values (as ``r53common.view`` names them): DNS answers them in
any order."""


def _order(element: Any, field: str | None) -> str:
    if field is not None and isinstance(element, Mapping) and field in element:
        return json.dumps(element[field], sort_keys=True, default=str)
    return json.dumps(element, sort_keys=True, default=str)


def _rule(path: tuple[str, ...], rules: SetRules) -> tuple[bool, str | None]:
    dotted = ".".join(path)
    for suffix, field in rules.items():
        if dotted == suffix or dotted.endswith("." + suffix):
            return True, field
    return False, None


def _empty_wrapper(value: Any) -> bool:
    """``{"Quantity": 0}`` or ``{"Quantity": 0, "Items": []}``: an empty list, as AWS wraps
    lists."""
    return isinstance(value, Mapping) and value.get("Quantity") == 0 and \
        set(value) <= {"Quantity", "Items"} and not value.get("Items")


def in_set_order(value: Any, rules: SetRules, _path: tuple[str, ...] = ()) -> Any:
    """A copy of ``value`` whose set-like lists (named by ``rules``) are sorted. For
    comparing and showing differences only; never written back to AWS."""
    if isinstance(value, Mapping):
        return {k: in_set_order(v, rules, (*_path, str(k))) for k, v in value.items()
                if not _empty_wrapper(v)}
    if isinstance(value, list):
        inner = [in_set_order(v, rules, _path) for v in value]
        is_set, field = _rule(_path, rules)
        return sorted(inner, key=lambda e: _order(e, field)) if is_set else inner
    return value


def same_sets(a: Any, b: Any, rules: SetRules) -> bool:
    """Do ``a`` and ``b`` hold the same, with the lists ``rules`` names compared as sets?"""
    return bool(in_set_order(a, rules) == in_set_order(b, rules))
