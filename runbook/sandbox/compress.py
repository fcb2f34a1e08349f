"""Compression at the edge, as CloudFront documents it ("Serve compressed files"): with
``Compress: true`` on the behaviour, an answer of 1,000 to 10,000,000 bytes, of a type
CloudFront compresses, not already encoded by the origin, is compressed for a viewer
whose ``Accept-Encoding`` takes it: Brotli first, then gzip, each only when the cache
policy enables it (legacy ``ForwardedValues`` behaviours: both). Brotli needs the
``brotli`` package; without it the edge offers gzip only.
"""

from __future__ import annotations

import gzip
import importlib
from collections.abc import Mapping
from typing import Any

from runbook.sandbox.httpserver import Reply

SMALLEST, LARGEST = 1_000, 10_000_000
_TYPES = """
application/dash+xml application/eot application/font application/font-sfnt
application/javascript application/json application/opentype application/otf application/pdf
application/pkcs7-mime application/protobuf application/rss+xml application/truetype
application/ttf application/vnd.apple.mpegurl application/vnd.mapbox-vector-tile
application/vnd.ms-fontobject application/wasm application/xhtml+xml application/xml
application/x-font-opentype application/x-font-truetype application/x-font-ttf
application/x-httpd-cgi application/x-javascript application/x-mpegurl application/x-opentype
application/x-otf application/x-perl application/x-ttf font/eot font/opentype font/otf font/ttf
image/svg+xml text/css text/csv text/html text/javascript text/js text/plain text/richtext
text/tab-separated-values text/xml text/x-script text/x-component text/x-java-source
"""
TYPES = frozenset(_TYPES.split())  # the types CloudFront compresses


def _brotli() -> Any:
    try:
        return importlib.import_module("brotli")
    except ModuleNotFoundError:
        return None


BROTLI = _brotli()


def _accepts(header: str) -> set[str]:
    out = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if params.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        out.add(name.strip().lower())
    return out


def compress(reply: Reply, request_headers: Mapping[str, str],
             enabled: frozenset[str] | None) -> Reply:
    """``reply`` compressed when CloudFront would; ``enabled``: the encodings the cache
    policy enables (None: a legacy behaviour, both)."""
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    headers = {k.lower(): k for k in reply.headers}
    kind = str(reply.headers.get(headers.get("content-type", ""), "")).split(";")[0].strip()
    if reply.status != 200 or "content-encoding" in headers or kind.lower() not in TYPES \
            or not SMALLEST <= len(body) <= LARGEST:
        return reply
    accepted = _accepts(next((v for k, v in request_headers.items()
                              if k.lower() == "accept-encoding"), ""))
    allowed = {"gzip", "br"} if enabled is None else set(enabled)
    if "br" in accepted and "br" in allowed and BROTLI is not None:
        encoding, packed = "br", BROTLI.compress(body)
    elif "gzip" in accepted and "gzip" in allowed:
        encoding, packed = "gzip", gzip.compress(body, mtime=0)
    else:
        return reply
    out = {k: v for k, v in reply.headers.items() if k.lower() not in ("etag", "content-length")}
    out["Content-Encoding"] = encoding
    return Reply(reply.status, packed, out, reply.delay)
