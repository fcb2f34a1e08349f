"""The event object CloudFront Functions pass to ``handler``, built from an HTTP request
(and, for viewer-response, the response), as the event structure page documents it:
header names lowercased, a repeated header's values in ``multiValue``, the Cookie header
parsed into ``cookies`` and left out of ``headers``, the query string's parameters (values
as the viewer sent them, still percent-encoded) with ``multiValue`` for a repeated name,
Set-Cookie parsed into the response's ``cookies`` with their attributes."""

from __future__ import annotations

import http
import secrets
from collections.abc import Iterable
from typing import Any

Pairs = Iterable[tuple[str, str]]


def _add(into: dict[str, Any], name: str, entry: dict[str, str]) -> None:
    found = into.get(name)
    if found is None:
        into[name] = dict(entry)
        return
    values = found.setdefault("multiValue", [{k: v for k, v in found.items()
                                              if k != "multiValue"}])
    values.append(dict(entry))


def headers(pairs: Pairs, *, skip: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name.lower() != skip:
            _add(out, name.lower(), {"value": value})
    return out


def querystring(raw: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, raw.split("&")):
        name, _, value = part.partition("=")
        _add(out, name, {"value": value})
    return out


def request_cookies(pairs: Pairs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name.lower() != "cookie":
            continue
        for part in value.split(";"):
            key, eq, val = part.strip().partition("=")
            if key and eq:
                _add(out, key, {"value": val})
    return out


def response_cookies(pairs: Pairs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name.lower() != "set-cookie":
            continue
        first, _, attributes = value.partition(";")
        key, _, val = first.strip().partition("=")
        if key:
            _add(out, key, {"value": val, "attributes": attributes.strip()})
    return out


def viewer_request(method: str, target: str, pairs: Pairs, *, ip: str, domain: str,
                   dist_id: str, event_type: str = "viewer-request") -> dict[str, Any]:
    pairs = list(pairs)
    path, _, raw_query = target.partition("?")
    return {"version": "1.0",
            "context": {"distributionDomainName": domain, "distributionId": dist_id,
                        "eventType": event_type, "requestId": request_id()},
            "viewer": {"ip": ip},
            "request": {"method": method, "uri": path, "querystring": querystring(raw_query),
                        "headers": headers(pairs, skip="cookie"),
                        "cookies": request_cookies(pairs)}}


def response(status: int, pairs: Pairs) -> dict[str, Any]:
    pairs = list(pairs)
    try:
        description = http.HTTPStatus(status).phrase
    except ValueError:
        description = ""
    return {"statusCode": status, "statusDescription": description,
            "headers": headers(pairs, skip="set-cookie"), "cookies": response_cookies(pairs)}


def request_id() -> str:
    """A request id shaped like CloudFront's (56 characters of URL-safe base64)."""
    return secrets.token_urlsafe(42)[:56]
