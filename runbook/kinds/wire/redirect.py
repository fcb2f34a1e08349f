"""Walking a redirect chain hop by hop, and loading redirect maps, for http.redirect(s).

The chain is walked by hand (never ``follow_redirects``) so that every hop is seen,
judged and reported, loops are caught, and each hop is dialled through the same
pins as the first.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from runbook.kinds.wire.common import status_text
from runbook.kinds.wire.net import WireError
from runbook.words import count

if TYPE_CHECKING:
    from runbook.kinds.wire.client import Client

_DEFAULT_PORTS = {"http": 80, "https": 443}
EXTRA_HOPS = 4  # walked past the limit to tell "too many hops" from "goes elsewhere"


# Already normal (lower-case scheme and host, a path of characters httpx leaves as they
# are, upper-case escapes, no fragment): returned as is, since a redirect map is made of
# these and walking it is CPU-bound.
_C = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})"
_NORMAL = re.compile(rf"(https?)://[a-z0-9-]+(?:\.[a-z0-9-]+)*(:[0-9]+)?"
                     rf"(?:/(?!\.\.?(?:[/?]|$)){_C}*)+(?:\?(?:{_C}|[/?])*)?")
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def normalise(url: str) -> str:
    """A URL as compared: encoded as httpx encodes it (IDNA host; spaces, non-ASCII as
    UTF-8 and other unsafe characters percent-encoded, escapes in upper case), scheme and
    host lower-case, default port and fragment dropped, an empty path written ``/``.
    So ``https://new/café`` and ``https://new/caf%c3%a9`` are the same URL."""
    m = _NORMAL.fullmatch(url)
    if m is not None and m.group(2) != (":80" if m.group(1) == "http" else ":443"):
        return url
    text = url.strip()
    import httpx

    # A URL httpx cannot read is compared as written; the request says what is wrong.
    with contextlib.suppress(httpx.InvalidURL, UnicodeError, ValueError):
        text = str(httpx.URL(text))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = _ESCAPE.sub(lambda e: e.group(0).upper(), parts.path or "/")
    query = _ESCAPE.sub(lambda e: e.group(0).upper(), parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def destination(source: str, target: str, *, keep_path: bool, keep_query: bool) -> str:
    """Where ``source`` must end up: ``target``, with the source's path appended to the
    target's path when ``keep_path``, and its query string carried when ``keep_query``."""
    if not keep_path and not keep_query:
        return normalise(target)
    s, t = urlsplit(source), urlsplit(target)
    path = t.path.rstrip("/") + (s.path or "/") if keep_path else t.path
    query = "&".join(q for q in (t.query, s.query) if q) if keep_query else t.query
    return normalise(urlunsplit((t.scheme, t.netloc, path, query, "")))


@dataclass(frozen=True)
class Hop:
    url: str
    status: int
    location: str | None

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "location": self.location}


# Why a redirect failed, in the words a map's failures are grouped by.
WRONG_STATUS, WRONG_TARGET, TOO_MANY_HOPS, UNREACHABLE = (
    "wrong status", "wrong target", "too many hops", "unreachable")
CAUSES = (WRONG_STATUS, WRONG_TARGET, TOO_MANY_HOPS, UNREACHABLE)


@dataclass
class Walk:
    """The verdict on one redirect, with every hop seen."""

    ok: bool
    outcome: str
    message: str
    source: str
    expected: str
    hops: list[Hop] = field(default_factory=list)
    cause: str = WRONG_TARGET  # one of CAUSES when not ok; "" when ok

    def as_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.expected, "ok": self.ok,
                "outcome": self.outcome, "cause": self.cause, "message": self.message,
                "hops": [h.as_json() for h in self.hops]}


def _same_site(a: str, b: str) -> bool:
    return urlsplit(a)[:2] == urlsplit(b)[:2]


def _why(got: str, expected: str, keep_path: bool, keep_query: bool) -> str:
    """The difference that is there, in words: a prefix missing or added in front of a
    path that otherwise matches, a path not kept, a query not kept."""
    g, e = urlsplit(got), urlsplit(expected)
    have, want = g.path or "/", e.path or "/"
    if have != want:
        if have != "/" and want.endswith(have):
            return f" (the prefix {want[:-len(have)]} is missing; the rest of the path matches)"
        if want != "/" and have.endswith(want):
            return f" (an extra prefix {have[:-len(want)]}; the rest of the path matches)"
        return " (path not kept)" if keep_path else ""
    if keep_query and g.query != e.query:
        return " (query not kept)"
    return ""


async def walk(client: Client, source: str, target: str, *, allowed: Sequence[int],
               hops: int, keep_path: bool = False, keep_query: bool = False) -> Walk:
    """Follow ``source`` until it reaches its destination, stops redirecting, loops or
    runs ``EXTRA_HOPS`` past ``hops``; judge status and hop count on the way."""
    expected = destination(source, target, keep_path=keep_path, keep_query=keep_query)
    result = Walk(False, "mismatch", "", source, expected)
    seen: list[str] = []  # filled from the second hop on: most walks end at the first
    url = source
    while True:
        try:
            got = await client.fetch(url, body=False)
        except WireError as exc:
            if not result.hops:
                result.outcome, result.message = exc.outcome, exc.message
                result.cause = UNREACHABLE
            else:
                result.message = (f"{source} redirects to {url}, not {expected} "
                                  f"(and {exc.message})")
            return result
        if not 300 <= got.status < 400:
            if not result.hops:
                result.message = (f"{source} answered {got.status}, not a redirect to "
                                  f"{expected}")
                result.cause = WRONG_STATUS
            else:
                n = len(result.hops)
                result.message = (f"{source} ends at {url} ({got.status}) after "
                                  f"{count(n, 'hop')}, not at {expected}")
            return result
        if got.location is None:
            result.hops.append(Hop(url, got.status, None))
            result.message = f"{url} answered {got.status} without a Location header"
            return result
        result.hops.append(Hop(url, got.status, got.location))
        here = expected if got.location == expected else normalise(got.location)
        if here == expected:
            return _judge(result, allowed, hops)
        if not seen:
            seen.append(normalise(source))
        if here in seen:
            loop = " -> ".join([*(h.url for h in result.hops), got.location])
            result.outcome, result.message = "loop", f"redirect loop: {loop}"
            result.cause = TOO_MANY_HOPS
            return result
        if len(result.hops) >= hops + EXTRA_HOPS:
            result.message = (f"{source} still redirects after {len(result.hops)} hops "
                              f"(at {got.location}) without reaching {expected}")
            result.cause = TOO_MANY_HOPS
            return result
        if _same_site(here, expected):
            # At the right site but the wrong page: walking on would only blur that.
            result.message = (f"{source} redirects to {got.location}, not {expected}"
                              f"{_why(here, expected, keep_path, keep_query)}")
            return result
        seen.append(here)
        url = got.location


def _judge(result: Walk, allowed: Sequence[int], hops: int) -> Walk:
    wrong = [h for h in result.hops if h.status not in allowed]
    n = len(result.hops)
    if wrong:
        h = wrong[0]
        result.message = f"{h.url} answered {h.status}, expected {status_text(allowed)}"
        result.cause = WRONG_STATUS
    elif n > hops:
        result.message = (f"{result.source} reaches {result.expected} after {n} hops; "
                          f"at most {hops} allowed")
        result.cause = TOO_MANY_HOPS
    else:
        result.ok, result.outcome, result.cause = True, "ok", ""
        result.message = (f"{result.source} -> {result.expected} "
                          f"({', '.join(str(h.status) for h in result.hops)})")
    return result


def load_map(path: Path) -> dict[str, str]:
    """Old -> new URLs from a CSV (two columns, an optional header row) or YAML (a
    mapping, or a list of ``{from, to}``). ValueError says what is wrong and where."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
        if rows and "://" not in rows[0][0]:
            rows = rows[1:]  # a header row
        out: dict[str, str] = {}
        for number, row in enumerate(rows, start=1):
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(f"{path}: row {number} needs two columns, old and new URL")
            out[row[0].strip()] = row[1].strip()
        return out
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(text)
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(i, dict) and {"from", "to"} <= set(i)
                                      for i in data):
        return {str(i["from"]): str(i["to"]) for i in data}
    raise ValueError(f"{path}: expected a mapping of old to new URLs or a list of "
                     "{from, to}")
