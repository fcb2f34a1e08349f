"""A response headers policy applied to what the edge answers, as CloudFront applies it
("Understand response headers policies"): security headers, CORS headers (for a request
with an ``Origin`` header that the policy allows), custom headers, and headers removed.
A header the origin sent is kept unless the policy's ``Override`` says otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.sandbox.httpserver import Reply


def _items(value: Any) -> list[Any]:
    return list((value or {}).get("Items") or []) if isinstance(value, dict) else []


def apply(policy: dict[str, Any], request_headers: Mapping[str, str], reply: Reply) -> Reply:
    headers = dict(reply.headers)
    lower = {k.lower(): k for k in headers}

    def put(name: str, value: str, override: bool) -> None:
        existing = lower.get(name.lower())
        if existing is not None and not override:
            return
        if existing is not None:
            del headers[existing]
        headers[name] = value
        lower[name.lower()] = name

    for name, value, override in _security(policy.get("SecurityHeadersConfig") or {}):
        put(name, value, override)
    origin = next((v for k, v in request_headers.items() if k.lower() == "origin"), None)
    cors = policy.get("CorsConfig")
    if cors and origin:
        allowed = _items(cors.get("AccessControlAllowOrigins"))
        if "*" in allowed or origin in allowed:
            override = bool(cors.get("OriginOverride"))
            put("Access-Control-Allow-Origin", "*" if "*" in allowed else origin, override)
            if cors.get("AccessControlAllowCredentials"):
                put("Access-Control-Allow-Credentials", "true", override)
            exposed = _items(cors.get("AccessControlExposeHeaders"))
            if exposed:
                put("Access-Control-Expose-Headers", ", ".join(exposed), override)
    for custom in _items(policy.get("CustomHeadersConfig")):
        put(str(custom["Header"]), str(custom["Value"]), bool(custom.get("Override")))
    for removed in _items(policy.get("RemoveHeadersConfig")):
        key = lower.pop(str(removed["Header"]).lower(), None)
        if key is not None:
            headers.pop(key, None)
    return Reply(reply.status, reply.body, headers, reply.delay)


def _security(config: dict[str, Any]) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    if "ContentTypeOptions" in config:
        out.append(("X-Content-Type-Options", "nosniff",
                    bool(config["ContentTypeOptions"].get("Override"))))
    frame = config.get("FrameOptions")
    if frame:
        out.append(("X-Frame-Options", str(frame["FrameOption"]), bool(frame.get("Override"))))
    referrer = config.get("ReferrerPolicy")
    if referrer:
        out.append(("Referrer-Policy", str(referrer["ReferrerPolicy"]),
                    bool(referrer.get("Override"))))
    csp = config.get("ContentSecurityPolicy")
    if csp:
        out.append(("Content-Security-Policy", str(csp["ContentSecurityPolicy"]),
                    bool(csp.get("Override"))))
    hsts = config.get("StrictTransportSecurity")
    if hsts:
        value = f"max-age={int(hsts['AccessControlMaxAgeSec'])}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        out.append(("Strict-Transport-Security", value, bool(hsts.get("Override"))))
    xss = config.get("XSSProtection")
    if xss:
        value = "1" if xss.get("Protection") else "0"
        if xss.get("Protection") and xss.get("ModeBlock"):
            value += "; mode=block"
        elif xss.get("Protection") and xss.get("ReportUri"):
            value += f"; report={xss['ReportUri']}"
        out.append(("X-XSS-Protection", value, bool(xss.get("Override"))))
    return out
