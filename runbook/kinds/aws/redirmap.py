"""The redirect map of ``cloudfront.redirects``: read from the formats ``http.redirects``
reads, checked against AWS's quotas, turned into KeyValueStore entries, and the function
code rendered from our one template (``redirects.js``). Private to ``redirects.py``.

The same file drives the action and the post check ``http.redirects``: a CSV may carry a
third column (the status of that row) and a YAML list item a ``status`` and a
``keep_query``; ``http.redirects`` reads the first two columns and ``from``/``to`` only.

Prefix entries (``https://old/docs/*``, ``kinds/wire/redirprefix.py``) are stored under
their own key (``/docs/*``), and one reserved key, :data:`DEPTHS_KEY`, lists the depths
(segments before the ``*``) at which prefixes exist. On a miss of the exact path the
function reads that key and then asks only those ancestors of the path, longest first.
Why not one key listing the prefixes themselves: a value is at most 1 KB, which would
cap a map at a few dozen prefixes; why not every ancestor of the path: a deep path would
cost a read per segment. Depths are capped at :data:`MAX_DEPTH`, so a request costs at
most 3 + MAX_DEPTH + 1 reads and, for a map with prefixes at one depth, 4.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from runbook.errors import KindError
from runbook.kinds.wire.redirprefix import is_prefix, star_problem

STATUSES = (301, 302, 307, 308)
# AWS's documented quotas: CloudFront Functions (function size) and KeyValueStore
# (store size, key and value lengths).
FUNCTION_SIZE = 10 * 1024
STORE_SIZE = 5 * 1024 * 1024
KEY_SIZE = 512
VALUE_SIZE = 1024
# characters a browser sends unescaped in a path; '%' kept so escapes stay as written
_SAFE = "/%:@!$&'()*+,;=-._~"
# Not a path (a path starts with /): it cannot collide with an entry.
DEPTHS_KEY = "runbook:prefix-depths"
MAX_DEPTH = 8  # segments before a prefix's `*`: bounds the function's reads per request


@dataclass(frozen=True)
class Entry:
    source: str  # the old URL as the map wrote it (for messages)
    key: str  # the path the function looks up
    location: str
    status: int
    keep_query: bool
    message: str | None = None  # the bookmark page's message, for HTML navigations
    seconds: int = 5  # before the page forwards
    to_origin: bool = False  # with a message: other requests go on to the origin

    @property
    def depth(self) -> int | None:
        """Segments before the ``*`` of a prefix entry; None for an exact one."""
        return self.key[:-2].count("/") if self.key.endswith("/*") else None

    def value(self) -> str:
        data: dict[str, Any] = {"s": self.status, "l": self.location}
        if self.keep_query:
            data["q"] = 1
        if self.message:
            data["m"], data["t"] = self.message, self.seconds
            if self.to_origin:
                data["o"] = 1
        return json.dumps(data, separators=(",", ":"))


def store_keys(entries: list[Entry]) -> dict[str, str]:
    """What the KeyValueStore holds for ``entries``: one key each, and the depths of the
    prefixes under :data:`DEPTHS_KEY` when there are any."""
    out = {e.key: e.value() for e in entries}
    depths = sorted({d for e in entries if (d := e.depth) is not None}, reverse=True)
    if depths:
        out[DEPTHS_KEY] = json.dumps(depths, separators=(",", ":"))
    return out


def _extras(path: Path) -> dict[str, dict[str, Any]]:
    """old URL -> {status, keep_query} given beside it in the file (CSV third column,
    YAML list keys)."""
    text = path.read_text(encoding="utf-8")
    out: dict[str, dict[str, Any]] = {}
    if path.suffix.lower() == ".csv":
        for row in csv.reader(io.StringIO(text)):
            if len(row) >= 3 and "://" in row[0] and row[2].strip():
                out[row[0].strip()] = {"status": row[2].strip()}
        return out
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(text)
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and "from" in item:
                out[str(item["from"])] = {k: item[k] for k in ("status", "keep_query")
                                          if k in item}
    return out


def read(plan_dir: Path, inline: dict[str, str] | None, file: str | None, *, status: int,
         keep_query: bool) -> list[Entry]:
    """The map's entries, every one checked; KindError names the first bad entry."""
    from runbook.kinds.wire.redirect import load_map

    extras: dict[str, dict[str, Any]] = {}
    if inline is not None:
        pairs, where = dict(inline), "the inline map"
    else:
        assert file is not None
        path = plan_dir / file
        where = str(path)
        try:
            pairs = load_map(path)
            extras = _extras(path)
        except FileNotFoundError as exc:
            raise KindError(f"the redirect map {path} does not exist") from exc
        except (OSError, ValueError) as exc:
            raise KindError(f"cannot read the redirect map: {exc}") from exc
    if not pairs:
        raise KindError(f"{where} has no redirects")
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for source, target in pairs.items():
        extra = extras.get(source, {})
        entry = _entry(source, target, extra, status, keep_query, where)
        if entry.key in seen:
            raise KindError(f"{where}: {source} and {seen[entry.key]} are the same path "
                            f"{entry.key} on different hosts; the function matches paths "
                            "only: give each host its own step and distribution")
        seen[entry.key] = source
        entries.append(entry)
    check_size(entries, where)
    return entries


def _entry(source: str, target: str, extra: dict[str, Any], status: int, keep_query: bool,
           where: str) -> Entry:
    s = urlsplit(source)
    if s.scheme not in ("http", "https") or not s.hostname:
        raise KindError(f"{where}: entry {source!r}: the old URL must be absolute "
                        "(https://host/path)")
    if s.query or s.fragment:
        raise KindError(f"{where}: entry {source}: the old URL has a query string or "
                        "fragment; the function matches paths only")
    star = star_problem(source, target)
    if star:
        raise KindError(f"{where}: {star}")
    t = urlsplit(target)
    if not (t.scheme in ("http", "https") and t.hostname) and not target.startswith("/"):
        raise KindError(f"{where}: entry {source}: the new URL {target!r} must be absolute "
                        "or a path starting with /")
    try:
        code = int(extra.get("status", status))
    except ValueError:
        code = 0
    if code not in STATUSES:
        raise KindError(f"{where}: entry {source}: status {extra.get('status')} is not "
                        "one of 301, 302, 307, 308")
    keep = extra.get("keep_query", keep_query)
    entry = Entry(source, quote(s.path or "/", safe=_SAFE), target, code, bool(keep))
    if is_prefix(source) and (entry.depth or 0) > MAX_DEPTH:
        raise KindError(f"{where}: entry {source}: a prefix is at most {MAX_DEPTH} segments "
                        "deep (the function asks each depth that holds one)")
    if len(entry.key.encode()) > KEY_SIZE:
        raise KindError(f"{where}: entry {source}: its path is {len(entry.key.encode())} "
                        f"bytes; a KeyValueStore key is at most {KEY_SIZE}")
    if len(entry.value().encode()) > VALUE_SIZE:
        raise KindError(f"{where}: entry {source}: its value (status and new URL) is "
                        f"{len(entry.value().encode())} bytes; a KeyValueStore value is at "
                        f"most {VALUE_SIZE}")
    return entry


def check_size(entries: list[Entry], where: str) -> None:
    total = 0
    for e in entries:
        total += len(e.key.encode()) + len(e.value().encode())
        if total > STORE_SIZE:
            raise KindError(f"{where}: the map passes the KeyValueStore's {STORE_SIZE // 2**20}"
                            f" MB at entry {e.source} ({len(entries)} entries in all): split "
                            "it, or shorten the URLs")


def template() -> str:
    return resources.files("runbook.kinds.aws").joinpath("redirects.js").read_text("utf-8")


def code(store_id: str) -> bytes:
    """The function's code for the store ``store_id`` (checked against the size quota)."""
    out = template().replace("__KVS_ID__", store_id).encode()
    if len(out) > FUNCTION_SIZE:  # only if the template grows past the quota
        raise KindError(f"the redirect function is {len(out)} bytes; CloudFront Functions "
                        f"are at most {FUNCTION_SIZE}")
    return out


def digest(data: bytes | dict[str, str]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def label(key: str) -> str:
    """A KeyValueStore key as people read it in a diff."""
    if key.endswith("/*"):
        return f"redirect {key} (every path under {key[:-1]})"
    return f"redirect {key}"


def show(value: str | None) -> str | None:
    """A KeyValueStore value as people read it in a diff: "301 https://new/x (query kept)",
    "301 https://new/help/<rest of the path>"."""
    if value is None:
        return None
    try:
        data = json.loads(value)
        where = str(data["l"])
        where = where[:-1] + "<rest of the path>" if where.endswith("*") else where
        out = f"{data['s']} {where}" + (" (query kept)" if data.get("q") else "")
        if data.get("m"):
            out += (" (browsers: the bookmark page; others: the origin)" if data.get("o")
                    else " (browsers: the bookmark page)")
        return out
    except (ValueError, KeyError, TypeError):
        return value
