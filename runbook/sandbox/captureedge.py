"""What capture copies for the edge to serve a captured distribution as prod serves it:
the LIVE code and configuration of every CloudFront Function its behaviours use, the
keys of their KeyValueStores (at most ``KEY_CAP`` a store, which the output states), and
the custom cache, origin request and response headers policies its behaviours name. (The
distribution's own configuration, custom error responses included, is copied whole by
``capture``; buckets' website configurations by ``website``.)

Reads only: DescribeFunction, GetFunction, ListKeyValueStores, ListKeys, Get*Policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.context import RunContext
from runbook.kinds.aws.common import call, call_or_none, items, pages
from runbook.sandbox import managedpolicies

KEY_CAP = 1000  # keys copied from one KeyValueStore

_POLICIES = (("CachePolicyId", "cache", "get_cache_policy", "CachePolicy"),
             ("OriginRequestPolicyId", "origin_request", "get_origin_request_policy",
              "OriginRequestPolicy"),
             ("ResponseHeadersPolicyId", "response_headers", "get_response_headers_policy",
              "ResponseHeadersPolicy"))
_MANAGED = {**managedpolicies.CACHE, **managedpolicies.ORIGIN_REQUEST,
            **managedpolicies.RESPONSE_HEADERS}


def _behaviours(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [config.get("DefaultCacheBehavior") or {}, *items(config.get("CacheBehaviors"))]


def edge_parts(ctx: RunContext, dists: list[dict[str, Any]], notes: list[str], *,
               key_cap: int = KEY_CAP) -> dict[str, Any]:
    """World-file data: ``functions``, ``key_value_stores`` and ``policies``."""
    configs = [d["DistributionConfig"] for d in dists]
    functions, store_arns = _functions(ctx, configs, notes)
    return {"functions": functions,
            "key_value_stores": _stores(ctx, sorted(store_arns), notes, key_cap),
            "policies": _policies(ctx, configs, notes)}


def _functions(ctx: RunContext, configs: list[Mapping[str, Any]],
               notes: list[str]) -> tuple[list[dict[str, Any]], set[str]]:
    cf = ctx.client("cloudfront")
    arns = sorted({str(a["FunctionARN"]) for c in configs for b in _behaviours(c)
                   for a in items(b.get("FunctionAssociations"))})
    out, stores = [], set()
    for arn in arns:
        name = arn.rsplit("/", 1)[-1]
        got = call_or_none(cf, "describe_function", f"function {name}",
                           missing={"NoSuchFunctionExists"}, Name=name, Stage="LIVE")
        if got is None:
            notes.append(f"function {name} has no LIVE stage")
            continue
        config = got["FunctionSummary"]["FunctionConfig"]
        code = call(cf, "get_function", f"function {name}", Name=name, Stage="LIVE")
        body = code["FunctionCode"]
        text = (body.read() if hasattr(body, "read") else bytes(body)).decode()
        linked = [str(s["KeyValueStoreARN"]) for s in
                  items(config.get("KeyValueStoreAssociations"))]
        stores.update(linked)
        out.append({"name": name, "arn": arn, "runtime": str(config.get("Runtime") or ""),
                    "comment": str(config.get("Comment") or ""), "code": text,
                    "key_value_stores": linked})
    return out, stores


def _stores(ctx: RunContext, arns: list[str], notes: list[str],
            key_cap: int) -> list[dict[str, Any]]:
    from runbook.kinds.aws.redirects import kvs_client

    if not arns:
        return []
    cf = ctx.client("cloudfront")
    names = {str(s["ARN"]): str(s["Name"]) for s in pages(
        cf, "list_key_value_stores", "KeyValueStoreList.Items", "KeyValueStores")}
    kvs = kvs_client(ctx)
    out = []
    for arn in arns:
        keys: dict[str, str] = {}
        token: str | None = None
        while True:
            kw: dict[str, Any] = {"KvsARN": arn, "MaxResults": 50}
            if token:
                kw["NextToken"] = token
            got = call(kvs, "list_keys", f"KeyValueStore {arn}", **kw)
            for item in got.get("Items") or []:
                if len(keys) >= key_cap:
                    break
                keys[str(item["Key"])] = str(item["Value"])
            token = got.get("NextToken")
            if not token or len(keys) >= key_cap:
                break
        if token:
            notes.append(f"KeyValueStore {names.get(arn, arn)}: more than {key_cap} keys; the "
                         f"first {key_cap} were copied")
        out.append({"name": names.get(arn, arn.rsplit("/", 1)[-1]), "arn": arn, "keys": keys})
    return out


def _policies(ctx: RunContext, configs: list[Mapping[str, Any]],
              notes: list[str]) -> list[dict[str, Any]]:
    cf = ctx.client("cloudfront")
    out = []
    for field, kind, getter, noun in _POLICIES:
        named = sorted({str(b.get(field)) for c in configs for b in _behaviours(c)
                        if b.get(field)} - set(_MANAGED))
        for policy_id in named:
            got = call_or_none(cf, getter, f"{noun} {policy_id}",
                               missing={f"NoSuch{noun}"}, Id=policy_id)
            if got is None:
                notes.append(f"{noun} {policy_id} does not exist")
                continue
            out.append({"kind": kind, "id": policy_id,
                        "config": got[noun][f"{noun}Config"]})
    return out


def website(site: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A bucket's website configuration as PutBucketWebsite takes it (None: none, or a
    redirect of every request, which ``website_redirect`` keeps)."""
    if not site or site.get("RedirectAllRequestsTo"):
        return None
    return {k: site[k] for k in ("IndexDocument", "ErrorDocument", "RoutingRules")
            if site.get(k)}


def describe(world: Mapping[str, Any]) -> list[str]:
    """What the edge parts hold, for capture's output."""
    stores = world.get("key_value_stores") or []
    if not (world.get("functions") or stores or world.get("policies")):
        return []
    keys = sum(len(s["keys"]) for s in stores)
    return [f"{len(world.get('functions') or [])} function(s) (LIVE code), {len(stores)} "
            f"KeyValueStore(s) ({keys} key(s); at most {KEY_CAP} a store), "
            f"{len(world.get('policies') or [])} custom policy(ies)"]
