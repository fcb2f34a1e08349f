"""CloudFront's managed policies, by the ids AWS documents, in the shape the API gives
custom ones (``ResponseHeadersPolicyConfig``, ``CachePolicyConfig``,
``OriginRequestPolicyConfig``), so the edge applies both alike.

Pages: "Use managed response headers policies", "Use managed cache policies", "Use
managed origin request policies" (CloudFront Developer Guide)."""

from __future__ import annotations

from typing import Any


def _items(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": list(values)}


_SECURITY = {
    "ContentTypeOptions": {"Override": True},
    "FrameOptions": {"Override": False, "FrameOption": "SAMEORIGIN"},
    "ReferrerPolicy": {"Override": False, "ReferrerPolicy": "strict-origin-when-cross-origin"},
    "StrictTransportSecurity": {"Override": False, "AccessControlMaxAgeSec": 31536000,
                                "IncludeSubdomains": False, "Preload": False},
    "XSSProtection": {"Override": False, "Protection": True, "ModeBlock": True},
}
_SIMPLE_CORS = {
    "AccessControlAllowOrigins": _items(["*"]),
    "AccessControlAllowHeaders": _items([]),
    "AccessControlAllowMethods": _items(["ALL"]),
    "AccessControlAllowCredentials": False,
    "OriginOverride": False,
}
_PREFLIGHT_CORS = {
    **_SIMPLE_CORS,
    "AccessControlAllowHeaders": _items(["*"]),
    "AccessControlAllowMethods": _items(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST",
                                         "PUT"]),
}

RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "67f7725c-6f97-4210-82d7-5512b31e9d03": {
        "Name": "Managed-SecurityHeadersPolicy", "SecurityHeadersConfig": _SECURITY},
    "60669652-455b-4ae9-85a4-c4c02393f86c": {
        "Name": "Managed-SimpleCORS", "CorsConfig": _SIMPLE_CORS},
    "5cc3b908-e619-4b99-88e5-2cf7f45965bd": {
        "Name": "Managed-CORS-With-Preflight", "CorsConfig": _PREFLIGHT_CORS},
    "e61eb60c-9c35-4d20-a928-2b84e02af89c": {
        "Name": "Managed-CORS-and-SecurityHeadersPolicy", "CorsConfig": _SIMPLE_CORS,
        "SecurityHeadersConfig": _SECURITY},
    "eaab4381-ed33-4a86-88ca-d9558dc6cd63": {
        "Name": "Managed-CORS-with-preflight-and-SecurityHeadersPolicy",
        "CorsConfig": _PREFLIGHT_CORS, "SecurityHeadersConfig": _SECURITY},
}


def _params(*, gzip: bool, query: str = "none", headers: str = "none",
            cookies: str = "none") -> dict[str, Any]:
    return {"EnableAcceptEncodingGzip": gzip, "EnableAcceptEncodingBrotli": gzip,
            "QueryStringsConfig": {"QueryStringBehavior": query},
            "HeadersConfig": {"HeaderBehavior": headers},
            "CookiesConfig": {"CookieBehavior": cookies}}


CACHE: dict[str, dict[str, Any]] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": {
        "Name": "Managed-CachingOptimized", "MinTTL": 1, "DefaultTTL": 86400,
        "MaxTTL": 31536000, "ParametersInCacheKeyAndForwardedToOrigin": _params(gzip=True)},
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {
        "Name": "Managed-CachingDisabled", "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0,
        "ParametersInCacheKeyAndForwardedToOrigin": _params(gzip=False)},
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {
        "Name": "Managed-CachingOptimizedForUncompressedObjects", "MinTTL": 1,
        "DefaultTTL": 86400, "MaxTTL": 31536000,
        "ParametersInCacheKeyAndForwardedToOrigin": _params(gzip=False)},
}

ORIGIN_REQUEST: dict[str, dict[str, Any]] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": {
        "Name": "Managed-AllViewer", "HeadersConfig": {"HeaderBehavior": "allViewer"},
        "CookiesConfig": {"CookieBehavior": "all"},
        "QueryStringsConfig": {"QueryStringBehavior": "all"}},
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": {
        "Name": "Managed-AllViewerExceptHostHeader",
        "HeadersConfig": {"HeaderBehavior": "allExcept", "Headers": _items(["host"])},
        "CookiesConfig": {"CookieBehavior": "all"},
        "QueryStringsConfig": {"QueryStringBehavior": "all"}},
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": {
        "Name": "Managed-CORS-S3Origin",
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": _items([
            "origin", "access-control-request-headers", "access-control-request-method"])},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"}},
    "59781a5b-3903-41f3-afcb-af62929ccde1": {
        "Name": "Managed-CORS-CustomOrigin",
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": _items(["origin"])},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"}},
    "acba4595-bd28-49b8-b9fe-13317c0390fa": {
        "Name": "Managed-UserAgentRefererHeaders",
        "HeadersConfig": {"HeaderBehavior": "whitelist",
                          "Headers": _items(["user-agent", "referer"])},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"}},
}
