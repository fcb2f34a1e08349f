"""Compression at the edge: gzip (and br when the brotli package is installed) by
Accept-Encoding, within CloudFront's sizes and types, only where the behaviour asks."""

from __future__ import annotations

import gzip
import ssl
from typing import Any

import httpx
import pytest

from runbook.sandbox.compress import BROTLI
from tests.sandbox.test_edge_config import HOST, behaviour, dist_config, s3_origin, site, world

pytestmark = pytest.mark.slow

BIG = "<p>" + "compressible text " * 200 + "</p>"  # ~3.6 KB of text/html
SMALL = "<p>tiny</p>"  # under 1,000 bytes: never compressed


def _raw(look: Any, path: str, encoding: str | None) -> tuple[httpx.Headers, bytes]:
    """The answer's headers and body as they came over the wire (undecoded)."""
    ctx = ssl.create_default_context(cafile=look.twin.ca_path)
    headers = {"Host": HOST, "Accept-Encoding": encoding or "identity"}
    with httpx.Client(verify=ctx) as client, client.stream(
            "GET", f"https://127.0.0.1:{look.twin.edge.https.port}{path}", headers=headers,
            extensions={"sni_hostname": HOST}) as got:
        return got.headers, b"".join(got.iter_raw())


def test_compress_by_accept_encoding_size_and_type(small_twin):
    objects = ('{big.html: "' + BIG + '", small.html: "' + SMALL + '", raw/big.html: "'
               + BIG + '"}')
    config = dist_config([s3_origin("site", "site")], behaviour("site", Compress=True),
                         [behaviour("site", "/raw/*", Compress=False)])
    _, look = small_twin(world(config, site(objects)))
    headers, body = _raw(look, "/big.html", "gzip, deflate")
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).decode() == BIG and len(body) < len(BIG)
    headers, body = _raw(look, "/big.html", None)
    assert "content-encoding" not in headers and body.decode() == BIG
    headers, body = _raw(look, "/small.html", "gzip")  # under 1,000 bytes
    assert "content-encoding" not in headers and body.decode() == SMALL
    headers, _ = _raw(look, "/raw/big.html", "gzip")  # the behaviour does not compress
    assert "content-encoding" not in headers
    headers, _ = _raw(look, "/big.html", "br, gzip")
    assert headers["content-encoding"] == ("br" if BROTLI is not None else "gzip")
