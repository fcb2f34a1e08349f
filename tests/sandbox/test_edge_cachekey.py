"""Cache policies and origin request policies at the edge: what goes into the cache key
and what reaches the origin (query strings, headers, cookies), managed and custom."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pytest

from runbook.sandbox.httpserver import Reply, WebServer
from tests.sandbox.test_edge_config import (
    HOST,
    SITE,
    behaviour,
    custom_origin,
    dist_config,
    s3_origin,
    world,
)

pytestmark = pytest.mark.slow

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"


def _items(values: list[str]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


CACHE_POLICY = {
    "Name": "api-key", "MinTTL": 0, "DefaultTTL": 3600, "MaxTTL": 86400,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": False,
        "QueryStringsConfig": {"QueryStringBehavior": "whitelist",
                               "QueryStrings": _items(["page"])},
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": _items(["X-Lang"])},
        "CookiesConfig": {"CookieBehavior": "whitelist", "Cookies": _items(["session"])}}}
REQUEST_POLICY = {
    "Name": "api-forward",
    "QueryStringsConfig": {"QueryStringBehavior": "all"},
    "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": _items(["X-Trace"])},
    "CookiesConfig": {"CookieBehavior": "none"}}


def _ask(look: Any, path: str, headers: dict[str, str]) -> httpx.Response:
    ctx = ssl.create_default_context(cafile=look.twin.ca_path)
    with httpx.Client(verify=ctx) as client:
        return client.get(f"https://127.0.0.1:{look.twin.edge.https.port}{path}",
                          headers={"Host": HOST, **headers}, extensions={"sni_hostname": HOST})


def test_what_is_keyed_and_what_is_forwarded(small_twin):
    seen: list[dict[str, Any]] = []

    def echo(req: Any) -> Reply:
        got = {"path": req.path, "lang": req.headers.get("X-Lang"),
               "trace": req.headers.get("X-Trace"), "cookie": req.headers.get("Cookie"),
               "agent": req.headers.get("User-Agent")}
        seen.append(got)
        return Reply(200, json.dumps(got), {"Content-Type": "application/json",
                                            "Cache-Control": "max-age=600"})

    with WebServer({"/api/items": echo, "/live/now": echo}) as server:
        config = dist_config(
            [s3_origin("site", "site"), custom_origin("api", "api.shop.test")],
            behaviour("site"),
            [behaviour("api", "/api/*", CachePolicyId="a1b2c3d4-0000-4000-8000-000000000001",
                       OriginRequestPolicyId="a1b2c3d4-0000-4000-8000-000000000002"),
             behaviour("api", "/live/*", CachePolicyId=CACHING_DISABLED,
                       OriginRequestPolicyId=ALL_VIEWER)])
        origins = f"""\
        origins:
          - {{domain: api.shop.test, url: "http://127.0.0.1:{server.port}"}}
        policies:
          - {{kind: cache, id: a1b2c3d4-0000-4000-8000-000000000001,
              config: {json.dumps(CACHE_POLICY)}}}
          - {{kind: origin_request, id: a1b2c3d4-0000-4000-8000-000000000002,
              config: {json.dumps(REQUEST_POLICY)}}}
"""
        _, look = small_twin(world(config, SITE, origins))
        first = _ask(look, "/api/items?page=1&utm=a", {
            "X-Lang": "en", "X-Trace": "t1", "Cookie": "session=s1; other=o1",
            "User-Agent": "tester"})
        assert first.headers["x-cache"] == "Miss from cloudfront"
        # the origin sees the key's and the origin request policy's values, nothing else
        assert first.json() == {"path": "/api/items?page=1&utm=a", "lang": "en",
                                "trace": "t1", "cookie": "session=s1", "agent": None}
        # what is not in the key does not make another object: the first answer again
        second = _ask(look, "/api/items?utm=b&page=1", {
            "X-Lang": "en", "X-Trace": "t2", "Cookie": "other=o2; session=s1"})
        assert second.headers["x-cache"] == "Hit from cloudfront"
        assert second.json()["trace"] == "t1" and len(seen) == 1
        # each value in the key does
        for path, headers in (("/api/items?page=2", {"X-Lang": "en", "Cookie": "session=s1"}),
                              ("/api/items?page=1", {"X-Lang": "fr", "Cookie": "session=s1"}),
                              ("/api/items?page=1", {"X-Lang": "en", "Cookie": "session=s2"})):
            assert _ask(look, path, headers).headers["x-cache"] == "Miss from cloudfront"
        assert len(seen) == 4
        # CachingDisabled with AllViewer: every request reaches the origin, with everything
        for n in range(2):
            live = _ask(look, f"/live/now?n={n}", {"User-Agent": "tester", "Cookie": "a=1"})
            assert live.json()["agent"] == "tester" and live.json()["cookie"] == "a=1"
        assert len(seen) == 6
