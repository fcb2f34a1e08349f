"""CloudFront's caches, for the CloudFront kinds (private): invalidating paths, and
whether a distribution forwards query strings to its origin.

OriginPath is not part of CloudFront's cache key: after an origin switch (and after its
rollback) edges keep serving what they cached from the old path until it expires, so a
switch is followed by an invalidation, and so is its restore. A redirect origin that
keeps the query (``/a?b=c`` -> ``https://new/a?b=c``) sees the query only when the cache
behaviour forwards it: a cache policy or origin request policy that includes query
strings, or the legacy ``ForwardedValues.QueryString``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from runbook.context import RunContext
from runbook.durations import format_duration
from runbook.errors import KindError
from runbook.kinds.aws.common import AwsApiError, call

# AWS's managed policies, by id: do they send query strings to the origin? Used when the
# policy cannot be read (moto knows none of them); AWS documents them in "Use managed
# cache/origin request policies".
MANAGED_CACHE = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": ("CachingOptimized", False),
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": ("CachingDisabled", False),
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": ("CachingOptimizedForUncompressedObjects", False),
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": ("Elemental-MediaPackage", True),
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": ("UseOriginCacheControlHeaders", False),
    "4cc15a8a-d715-48a4-82b8-cc0b614638fe": ("UseOriginCacheControlHeaders-QueryStrings", True),
}
MANAGED_ORIGIN_REQUEST = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": ("AllViewer", True),
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": ("AllViewerAndCloudFrontHeaders-2022-06", True),
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": ("AllViewerExceptHostHeader", True),
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": ("CORS-S3Origin", False),
    "59781a5b-3903-41f3-afcb-af62929ccde1": ("CORS-CustomOrigin", False),
    "acba4595-bd28-49b8-b9fe-13317c0390fa": ("UserAgentRefererHeaders", False),
    "775133bc-15f2-49f9-abea-afb2e0bf67d2": ("Elemental-MediaTailor-PersonalizedManifests", True),
}


def _policy_sends_query(ctx: RunContext, method: str, key: str, policy_id: str,
                        managed: dict[str, tuple[str, bool]]) -> tuple[bool, str]:
    try:  # AWS answers for its managed policies too; moto knows none of them
        got = call(ctx.client("cloudfront"), method, f"policy {policy_id}", Id=policy_id)
    except AwsApiError as exc:
        if policy_id in managed:
            name, sends = managed[policy_id]
            return sends, f"managed policy {name}"
        return False, f"policy {policy_id} could not be read ({exc.code or 'error'})"
    config = got[key][f"{key}Config"]
    if key == "CachePolicy":
        config = config.get("ParametersInCacheKeyAndForwardedToOrigin", {})
    behaviour = str(config.get("QueryStringsConfig", {}).get("QueryStringBehavior", "none"))
    return behaviour.lower() != "none", f"policy {policy_id} (query strings: {behaviour})"


def forwards_query(ctx: RunContext, config: dict[str, Any]) -> tuple[bool, str]:
    """(whether the default cache behaviour sends query strings to the origin, why)."""
    behaviour = config.get("DefaultCacheBehavior") or {}
    why: list[str] = []
    legacy = behaviour.get("ForwardedValues")
    if legacy is not None and not behaviour.get("CachePolicyId"):
        sends = bool(legacy.get("QueryString"))
        return sends, f"legacy ForwardedValues.QueryString is {str(sends).lower()}"
    if behaviour.get("CachePolicyId"):
        sends, text = _policy_sends_query(ctx, "get_cache_policy", "CachePolicy",
                                          str(behaviour["CachePolicyId"]), MANAGED_CACHE)
        if sends:
            return True, f"cache {text} includes them"
        why.append(f"cache {text} leaves them out")
    if behaviour.get("OriginRequestPolicyId"):
        sends, text = _policy_sends_query(ctx, "get_origin_request_policy",
                                          "OriginRequestPolicy",
                                          str(behaviour["OriginRequestPolicyId"]),
                                          MANAGED_ORIGIN_REQUEST)
        if sends:
            return True, f"origin request {text} forwards them"
        why.append(f"origin request {text} does not forward them")
    else:
        why.append("no origin request policy forwards them")
    return False, "; ".join(why)


def invalidate(ctx: RunContext, dist_id: str, paths: list[str], reference: str, *,
               wait: bool, timeout: float, every: float) -> tuple[str, str]:
    """Invalidate ``paths`` (the same ``reference`` hands back the same invalidation);
    (invalidation id, status)."""
    cf, what = ctx.client("cloudfront"), f"distribution {dist_id}"
    got = call(cf, "create_invalidation", what, DistributionId=dist_id, InvalidationBatch={
        "Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": reference})
    inv_id = str(got["Invalidation"]["Id"])

    def probe() -> tuple[bool, str]:
        now = call(cf, "get_invalidation", what, DistributionId=dist_id, Id=inv_id)
        status = str(now["Invalidation"]["Status"])
        return status.lower() == "completed", status  # moto: COMPLETED; AWS: Completed

    status = str(got["Invalidation"]["Status"])
    if wait:
        ok, status = ctx.poll(probe, timeout=timeout, every=every,
                              what=f"waiting for invalidation {inv_id}")
        if not ok:
            raise KindError(f"invalidation {inv_id} of {what} is still {status} after "
                            f"{format_duration(timeout)}")
    return inv_id, status


def reference(ctx: RunContext, etag: str, paths: list[str], why: str = "") -> str:
    """A caller reference that is the same when a resumed run asks again, and differs
    when the distribution changed in between (its ETag moves)."""
    digest = hashlib.sha256("\n".join([etag, why, *paths]).encode()).hexdigest()
    return f"runbook-{ctx.run_id}-{digest[:16]}"
