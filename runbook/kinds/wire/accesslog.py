"""Reading CloudFront standard access logs: which URLs were asked, how often.

The format is the documented W3C one, in both delivery layouts (legacy standard logging
and standard logging v2 to S3): a file (gzip or not) of tab-separated lines under
``#Version:`` and ``#Fields:`` headers. The fields are found by the names in
``#Fields`` (v2 lets a distribution choose them and their order), so a file need only
hold ``date``, ``time``, ``cs-method``, ``cs-uri-stem`` and ``sc-status``; the host is
``x-host-header`` (the name the visitor asked for), else ``cs(Host)`` (the
distribution's own domain).

Lines are tallied as they are read, never kept: a day of a busy site is millions of lines
and :class:`Tally` holds one counter per distinct URL. A line that does not fit its
header is counted as malformed, and the first :data:`SHOWN_BAD` are kept with file and
line number. This module is the hot loop of ``http.replay`` (bench/bench_replay.py).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

SHOWN_BAD = 5  # malformed lines named in the summary; the rest are counted
NEEDED = ("date", "time", "cs-method", "cs-uri-stem", "sc-status")


@dataclass(frozen=True)
class Filter:
    """Which logged requests count. ``since``/``until`` are "YYYY-MM-DD HH:MM:SS" in UTC,
    as the logs write time (None: no bound); ``statuses`` holds codes ("200") and
    classes ("2"); empty sets let everything through."""

    host: str | None = None
    methods: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    path_prefix: str = ""
    since: str | None = None
    until: str | None = None
    keep_query: bool = True
    # runbook's own checks (User-Agent "runbook (+wire checks)") are not visitors
    skip_agent: str = "runbook"


@dataclass
class Tally:
    """What the logs said: requests per URL, and what could not be read."""

    counts: dict[str, int] = field(default_factory=dict)
    lines: int = 0  # request lines read (headers and blank lines not counted)
    matched: int = 0  # of which passed the filter
    files: int = 0
    malformed: int = 0
    bad: list[str] = field(default_factory=list)  # "file, line N: why", the first few
    first: str | None = None  # earliest and latest time of a matched request
    last: str | None = None

    def malformed_line(self, where: str, number: int, why: str) -> None:
        self.malformed += 1
        if len(self.bad) < SHOWN_BAD:
            self.bad.append(f"{where}, line {number}: {why}")

    def top(self, n: int) -> list[tuple[str, int]]:
        """The ``n`` most requested URLs, most first (ties by URL, so runs agree)."""
        import heapq

        return heapq.nsmallest(n, self.counts.items(), key=lambda kv: (-kv[1], kv[0]))


def text_lines(raw: IO[bytes], name: str) -> Iterator[str]:
    """The lines of a log file, gunzipped when it is gzip (by its magic bytes, not its
    name: v2 may deliver plain files). Bytes that are not UTF-8 are replaced."""
    head = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    stream: IO[bytes] = raw
    if head == b"\x1f\x8b" or (not head and name.endswith(".gz")):
        stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    yield from io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="\n")


def tally_log(lines: Iterable[str], where: str, flt: Filter, tally: Tally) -> None:
    """Add the requests of one log file to ``tally``."""
    tally.files += 1
    index: dict[str, int] | None = None
    number = 0
    host_wanted = flt.host.lower() if flt.host else None
    prefix = flt.path_prefix
    methods, statuses = flt.methods, flt.statuses
    since, until, keep_query = flt.since, flt.until, flt.keep_query
    counts = tally.counts
    lines_read = matched = 0
    # "" sorts before any time and "~" after: no None test in the loop
    first, last = tally.first or "~", tally.last or ""
    # field positions, set from the #Fields header
    i_date = i_time = i_method = i_stem = i_status = i_query = i_host = i_proto = 0
    i_agent = -1
    skip_agent = flt.skip_agent
    cut = 0
    try:
        for number, line in enumerate(lines, 1):
            if line.startswith("#"):
                if line.startswith("#Fields:"):
                    names = line[8:].split()
                    index = {n: i for i, n in enumerate(names)}
                    missing = [n for n in NEEDED if n not in index]
                    if missing:
                        tally.malformed_line(where, number, "the #Fields header lacks "
                                             + ", ".join(missing))
                        index = None
                        continue
                    i_date, i_time = index["date"], index["time"]
                    i_method, i_stem = index["cs-method"], index["cs-uri-stem"]
                    i_status = index["sc-status"]
                    i_query = index.get("cs-uri-query", -1)
                    i_host = index.get("x-host-header", index.get("cs(Host)", -1))
                    i_proto = index.get("cs-protocol", -1)
                    i_agent = index.get("cs(User-Agent)", -1) if skip_agent else -1
                    cut = max(i_date, i_time, i_method, i_stem, i_status, i_query, i_host,
                              i_proto, i_agent) + 1
                continue
            if len(line) < 2:
                continue
            lines_read += 1
            if index is None:
                tally.malformed_line(where, number, "a request line before any #Fields "
                                     "header")
                continue
            f = line.rstrip("\r\n").split("\t", cut)
            if len(f) < cut:
                tally.malformed_line(where, number, f"{len(f)} fields, the header names "
                                     f"{len(index)}")
                continue
            status = f[i_status]
            if statuses and status not in statuses and status[:1] not in statuses:
                continue
            if methods and f[i_method] not in methods:
                continue
            stem = f[i_stem]
            if prefix and not stem.startswith(prefix):
                continue
            if i_agent >= 0 and f[i_agent].startswith(skip_agent):
                continue
            host = f[i_host] if i_host >= 0 else ""
            if host_wanted is None:
                host = host.lower()
            elif host != host_wanted:
                host = host.lower()
                if host != host_wanted:
                    continue
            when = f[i_date] + " " + f[i_time]
            if len(when) != 19 or when[4] != "-" or when[13] != ":":
                tally.malformed_line(where, number, f"the time {when!r} is not "
                                     "YYYY-MM-DD HH:MM:SS")
                continue
            if since is not None and when < since:
                continue
            if until is not None and when >= until:
                continue
            if stem[:1] != "/":
                tally.malformed_line(where, number, f"the path {stem[:60]!r} does not "
                                     "start with /")
                continue
            scheme = f[i_proto] if i_proto >= 0 else "https"
            if scheme != "https" and scheme != "http":
                scheme = "https"  # ws, wss: the page behind it is asked over https
            if keep_query and i_query >= 0 and (query := f[i_query]) != "-" and query:
                url = f"{scheme}://{host}{stem}?{query}"
            else:
                url = f"{scheme}://{host}{stem}"
            counts[url] = counts.get(url, 0) + 1
            matched += 1
            if when > last:
                last = when
            if when < first:
                first = when
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        tally.malformed_line(where, number + 1, f"the file cannot be read on: {exc}")
    tally.lines += lines_read
    tally.matched += matched
    tally.first = first if first != "~" else None
    tally.last = last or None


def tally_csv(text: str, where: str, flt: Filter, tally: Tally) -> None:
    """Add the rows of a CSV of ``url[,count]`` (an optional header row) to ``tally``;
    only the host and path prefix filters apply (a CSV has no time, method or status)."""
    from urllib.parse import urlsplit

    tally.files += 1
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not any(c.strip() for c in row):
            continue
        url = row[0].strip()
        if number == 1 and "://" not in url:
            continue  # a header row
        tally.lines += 1
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            tally.malformed_line(where, number, f"{url[:60]!r} is not an http(s) URL")
            continue
        try:
            count = int(row[1]) if len(row) > 1 and row[1].strip() else 1
        except ValueError:
            tally.malformed_line(where, number, f"the count {row[1]!r} is not a number")
            continue
        if flt.host and parts.hostname != flt.host.lower():
            continue
        if flt.path_prefix and not (parts.path or "/").startswith(flt.path_prefix):
            continue
        if not flt.keep_query:
            url = url.split("?", 1)[0]
        tally.counts[url] = tally.counts.get(url, 0) + count
        tally.matched += count
