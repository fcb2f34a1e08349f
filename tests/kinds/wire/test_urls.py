"""The shortcuts taken with plain URLs give what the general parsers give."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from runbook.kinds.wire.client import _split
from runbook.kinds.wire.redirect import normalise

URLS = [
    "http://127.0.0.1:8080/old/5", "https://new.example.test/page/5", "http://a.test",
    "https://a.test:443", "http://a.test:80/x", "http://A.Test/X?Y=1", "http://a.test?x=1",
    "http://a.test/x?y=%41&z=/a/../b", "http://a.test/x/..y/.z", "http://a.test/a/../b",
    "http://a.test/./x", "http://a.test/x/..", "http://a.test/%7e/%zz?q=a b",
    "http://a.test/x#frag", "https://bücher.example.test/", "http://[::1]:8080/x",
    "HTTP://a.test/", "http://a.test./x", "http://user@a.test/", "https://a.test:8443/",
]


def _httpx(url: str) -> tuple[tuple[str, str, int], str, str]:
    u = httpx.URL(url)
    port = u.port or {"http": 80, "https": 443}[u.scheme]
    return (u.scheme, u.raw_host.decode(), port), u.netloc.decode(), u.raw_path.decode()


@pytest.mark.parametrize("url", URLS)
def test_split_agrees_with_httpx(url: str) -> None:
    assert _split(url) == _httpx(url)


def _slow_normalise(url: str) -> str:
    """httpx's encoding, then urlsplit: what the fast path must agree with."""
    parts = urlsplit(str(httpx.URL(url.strip())))
    host = (parts.hostname or "").rstrip(".")
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    path, query = (re.sub(r"%[0-9a-f]{2}", lambda m: m.group(0).upper(), x, flags=re.I)
                   for x in (parts.path or "/", parts.query))
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


@pytest.mark.parametrize("url", URLS)
def test_normalise_agrees_with_urlsplit(url: str) -> None:
    assert normalise(url) == _slow_normalise(url)


@pytest.mark.parametrize(("a", "b"), [
    ("https://new.test/café", "https://new.test/caf%C3%A9"),
    ("https://new.test/caf%c3%a9", "https://new.test/caf%C3%A9"),
    ("https://new.test/a b", "https://new.test/a%20b"),
    ("https://bücher.test/", "https://xn--bcher-kva.test/"),
    ("https://new.test/?q=é", "https://new.test/?q=%C3%A9"),
])
def test_a_plan_may_write_a_url_raw_or_encoded(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)
