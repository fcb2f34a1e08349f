"""What a distribution's configuration decides for one request, as CloudFront documents it:
which cache behaviour serves a path (the first ``CacheBehaviors`` pattern that matches,
else the default), what the viewer protocol policy answers over plain HTTP, which origin
(or origin group) the behaviour targets, and which custom error response an origin's
error status gets.

The configuration is the ``DistributionConfig`` as boto3 parses it (``Items`` lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from runbook.sandbox.httpserver import Reply, Request

# CloudFront's error caching minimum TTL when no custom error response says otherwise
ERROR_TTL = 10.0


def items(value: Any) -> list[Any]:
    """The ``Items`` of a CloudFront list (``{Quantity, Items}``), [] when absent."""
    return list((value or {}).get("Items") or []) if isinstance(value, dict) else []


def behaviour_for(config: dict[str, Any], path: str) -> dict[str, Any]:
    """The cache behaviour serving ``path`` (no query): the first of ``CacheBehaviors``
    whose ``PathPattern`` matches (``*`` and ``?``, case-sensitive, a leading ``/``
    optional), else ``DefaultCacheBehavior``."""
    for behaviour in items(config.get("CacheBehaviors")):
        pattern = str(behaviour.get("PathPattern") or "")
        if fnmatchcase(path, "/" + pattern.lstrip("/")):
            return dict(behaviour)
    return dict(config.get("DefaultCacheBehavior") or {})


def viewer_protocol(behaviour: dict[str, Any], req: Request, *, https: bool) -> Reply | None:
    """The answer to a plain-HTTP request the behaviour does not serve over HTTP:
    ``redirect-to-https`` a 301 to the same path and query over HTTPS, ``https-only`` a
    403; None to go on (HTTPS, or ``allow-all``)."""
    if https:
        return None
    policy = behaviour.get("ViewerProtocolPolicy") or "allow-all"
    if policy == "redirect-to-https":
        return Reply(301, b"", {"Location": f"https://{req.host}{req.path}",
                                "Server": "CloudFront", "X-Cache": "Redirect from cloudfront"})
    if policy == "https-only":
        return Reply(403, "<html><h1>403 Forbidden</h1>The request must use HTTPS.</html>",
                     {"Server": "CloudFront", "X-Cache": "Error from cloudfront"})
    return None


@dataclass(frozen=True)
class Target:
    """The origins a behaviour reads, in order: one origin, or an origin group's primary
    then secondary with the statuses that fail over to the secondary."""

    origins: list[dict[str, Any]]
    failover: frozenset[int] = frozenset()


def target_for(config: dict[str, Any], behaviour: dict[str, Any]) -> Target | None:
    origins = items(config.get("Origins"))
    by_id = {str(o.get("Id")): o for o in origins}
    wanted = str(behaviour.get("TargetOriginId") or "")
    for group in items(config.get("OriginGroups")):
        if group.get("Id") == wanted:
            members = [by_id[m["OriginId"]] for m in items(group.get("Members"))
                       if m.get("OriginId") in by_id]
            codes = items((group.get("FailoverCriteria") or {}).get("StatusCodes"))
            return Target(members, frozenset(int(c) for c in codes)) if members else None
    if wanted in by_id:
        return Target([by_id[wanted]])
    return Target([origins[0]]) if origins else None


@dataclass(frozen=True)
class ErrorPage:
    """What a custom error response makes of an origin's error: the page to serve instead
    (None: the origin's own answer), the status to give it, and how long to cache it."""

    path: str | None
    status: int
    ttl: float


def error_page(config: dict[str, Any], status: int) -> ErrorPage | None:
    """The custom error response for ``status``, or None when there is none (the error
    is then cached for CloudFront's default ten seconds)."""
    for answer in items(config.get("CustomErrorResponses")):
        if int(answer.get("ErrorCode") or 0) != status:
            continue
        page = str(answer.get("ResponsePagePath") or "") or None
        code = str(answer.get("ResponseCode") or "")
        ttl = answer.get("ErrorCachingMinTTL")
        return ErrorPage(page, int(code) if page and code else status,
                         float(ttl) if ttl is not None else ERROR_TTL)
    return None
