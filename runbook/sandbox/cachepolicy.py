"""What goes into the cache key and what reaches the origin, as a behaviour's cache policy
and origin request policy say ("Control the cache key with a policy", "Control origin
requests with a policy"), or its legacy ``ForwardedValues`` without a cache policy.

Query strings, headers and cookies each have a behaviour: ``none``, ``whitelist`` (the
names listed), ``allExcept``, ``all`` (headers: ``allViewer``). What is in the cache key
is forwarded to the origin too; an origin request policy forwards more, without keying
on it. The cache policy's TTLs bound how long an object lives.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from runbook.sandbox.origins import Outgoing

DEFAULT_TTL = 86400.0
MAX_TTL = 31536000.0


@dataclass(frozen=True)
class Pick:
    """Which names of one kind (query strings, headers or cookies) are taken."""

    behaviour: str = "none"
    names: frozenset[str] = frozenset()

    def takes(self, name: str) -> bool:
        if self.behaviour in ("all", "allViewer", "allViewerAndWhitelistCloudFront"):
            return True
        if self.behaviour == "whitelist":
            return name in self.names
        if self.behaviour == "allExcept":
            return name not in self.names
        return False

    def union(self, other: Pick) -> Pick:
        """What either takes (a cache key's names plus an origin request policy's)."""
        if self.behaviour == "none":
            return other
        if other.behaviour == "none":
            return self
        for pick in (self, other):
            if pick.behaviour not in ("whitelist", "allExcept"):
                return pick  # all, allViewer
        if self.behaviour == other.behaviour == "whitelist":
            return Pick("whitelist", self.names | other.names)
        if self.behaviour == other.behaviour == "allExcept":
            return Pick("allExcept", self.names & other.names)
        listed, excepted = (self, other) if self.behaviour == "whitelist" else (other, self)
        return Pick("allExcept", excepted.names - listed.names)


@dataclass(frozen=True)
class Rules:
    ttl: tuple[float, float, float]  # min, default, max (twin seconds)
    key_query: Pick
    key_headers: Pick
    key_cookies: Pick
    query: Pick  # forwarded to the origin (the key's and the origin request policy's)
    headers: Pick
    cookies: Pick
    encodings: frozenset[str] = frozenset()  # gzip, br: in the key and compressible


def _items(value: Any) -> list[Any]:
    return list((value or {}).get("Items") or []) if isinstance(value, dict) else []


def _pick(config: dict[str, Any] | None, what: str, *, lower: bool = False) -> Pick:
    """``what``: QueryStrings, Headers or Cookies, in a policy's ``{what}Config``."""
    config = config or {}
    singular = {"QueryStrings": "QueryString", "Headers": "Header", "Cookies": "Cookie"}[what]
    behaviour = str(config.get(f"{singular}Behavior") or "none")
    names = [str(n) for n in _items(config.get(what))]
    return Pick(behaviour, frozenset(n.lower() if lower else n for n in names))


def rules_for(behaviour: dict[str, Any],
              policy: Callable[[str, str], dict[str, Any] | None]) -> Rules:
    """The rules of ``behaviour``; ``policy(noun, id)`` finds a policy's configuration."""
    cache_id = str(behaviour.get("CachePolicyId") or "")
    request_id = str(behaviour.get("OriginRequestPolicyId") or "")
    request = policy("OriginRequestPolicy", request_id) if request_id else None
    extra_q = _pick((request or {}).get("QueryStringsConfig"), "QueryStrings")
    extra_h = _pick((request or {}).get("HeadersConfig"), "Headers", lower=True)
    extra_c = _pick((request or {}).get("CookiesConfig"), "Cookies")
    cache = policy("CachePolicy", cache_id) if cache_id else None
    if cache is not None:
        params = cache.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
        q = _pick(params.get("QueryStringsConfig"), "QueryStrings")
        h = _pick(params.get("HeadersConfig"), "Headers", lower=True)
        c = _pick(params.get("CookiesConfig"), "Cookies")
        encodings = {e for e, on in (("gzip", params.get("EnableAcceptEncodingGzip")),
                                     ("br", params.get("EnableAcceptEncodingBrotli"))) if on}
        ttl = (float(cache.get("MinTTL") or 0), float(cache.get("DefaultTTL") or 0),
               float(cache.get("MaxTTL") or 0))
        return Rules(ttl, q, h, c, q.union(extra_q), h.union(extra_h), c.union(extra_c),
                     frozenset(encodings))
    legacy = behaviour.get("ForwardedValues") or {}
    keys = [str(k) for k in _items(legacy.get("QueryStringCacheKeys"))]
    q = Pick("none") if not legacy.get("QueryString") else (
        Pick("whitelist", frozenset(keys)) if keys else Pick("all"))
    headers = [str(n).lower() for n in _items(legacy.get("Headers"))]
    h = Pick("all") if "*" in headers else Pick("whitelist", frozenset(headers)) \
        if headers else Pick("none")
    cookies = legacy.get("Cookies") or {}
    forward = str(cookies.get("Forward") or "none")
    c = Pick("whitelist", frozenset(str(n) for n in _items(cookies.get("WhitelistedNames")))) \
        if forward == "whitelist" else Pick(forward)
    ttl = (float(behaviour.get("MinTTL") or 0),
           float(behaviour["DefaultTTL"]) if behaviour.get("DefaultTTL") is not None
           else DEFAULT_TTL,
           float(behaviour["MaxTTL"]) if behaviour.get("MaxTTL") is not None else MAX_TTL)
    return Rules(ttl, q, h, c, q.union(extra_q), h.union(extra_h), c.union(extra_c))


def _query(raw: str, pick: Pick) -> list[tuple[str, str]]:
    pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True)
    return [(k, v) for k, v in pairs if pick.takes(k)]


def _cookies(headers: Mapping[str, str]) -> dict[str, str]:
    raw = next((v for k, v in headers.items() if k.lower() == "cookie"), "")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header: CloudFront forwards what it can read
        return {}
    return {k: m.value for k, m in jar.items()}


def key_parts(rules: Rules, query: str, headers: Mapping[str, str]) -> tuple[str, str]:
    """(the query in the key, the headers and cookies in the key), normalised: the same
    values in another order are the same key."""
    q = urllib.parse.urlencode(sorted(_query(query, rules.key_query)))
    lower = {k.lower(): v for k, v in headers.items()}
    parts = [f"h:{k}={v}" for k, v in sorted(lower.items())
             if k not in ("cookie", "host", "accept-encoding") and rules.key_headers.takes(k)]
    parts += [f"c:{k}={v}" for k, v in sorted(_cookies(headers).items())
              if rules.key_cookies.takes(k)]
    if rules.encodings:
        accepted = lower.get("accept-encoding", "")
        parts += [f"e:{e}" for e in sorted(rules.encodings) if e in accepted]
    return q, "&".join(parts)


# headers CloudFront never forwards as they came (hop-by-hop, or its own)
_NEVER = {"connection", "keep-alive", "transfer-encoding", "upgrade", "content-length",
          "proxy-connection", "te", "trailer", "cookie", "host"}


def outgoing(rules: Rules, path: str, query: str, headers: Mapping[str, str]) -> Outgoing:
    """The request as it reaches the origin: the query strings, headers and cookies the
    rules forward (Host only when forwarded; otherwise the origin's own name)."""
    q = urllib.parse.urlencode(_query(query, rules.query))
    sent = [(k, v) for k, v in headers.items()
            if k.lower() not in _NEVER and rules.headers.takes(k.lower())]
    if rules.headers.takes("host"):
        sent += [(k, v) for k, v in headers.items() if k.lower() == "host"]
    cookies = [f"{k}={v}" for k, v in _cookies(headers).items() if rules.cookies.takes(k)]
    if cookies:
        sent.append(("Cookie", "; ".join(cookies)))
    return Outgoing(path, q, tuple(sent))
