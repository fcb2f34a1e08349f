"""The work under ``http.replay``: tally the logs, ask the URLs, group the failures.

A URL is followed hop by hop on the wire checks' client (never ``follow_redirects``),
as :func:`redirect.walk` follows a redirect, but with no destination known in advance:
it must *end* well, on the status the plan expects, within ``hops`` redirects.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from runbook.kinds.base import CheckResult
from runbook.kinds.wire.accesslog import Filter, Tally, tally_csv, tally_log, text_lines
from runbook.kinds.wire.common import client_for, status_matches, status_text
from runbook.kinds.wire.net import WireError
from runbook.kinds.wire.redirect import EXTRA_HOPS, TOO_MANY_HOPS, UNREACHABLE, WRONG_STATUS, Hop
from runbook.words import count

if TYPE_CHECKING:
    from runbook.context import RunContext
    from runbook.kinds.wire.client import Client
    from runbook.kinds.wire.replayopts import ReplayParams

WRONG_SITE = "wrong site"
CAUSES = (WRONG_STATUS, WRONG_SITE, TOO_MANY_HOPS, UNREACHABLE)
SHOWN = 20  # failures named on screen; every one is in the data and the CSV
CSV_COLUMNS = ("url", "requests", "cause", "outcome", "status", "reached", "hops",
               "message")
PROGRESS_EVERY = 0.5  # seconds between progress lines


@dataclass
class Asked:
    """One URL asked again: where it ended, and the verdict."""

    url: str
    requests: int  # how often it was asked in the window
    ok: bool = False
    outcome: str = "mismatch"
    cause: str = ""
    message: str = ""
    hops: list[Hop] = field(default_factory=list)
    status: int | None = None  # the final answer's status
    reached: str = ""  # the final URL

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "requests": self.requests, "ok": self.ok,
                "outcome": self.outcome, "cause": self.cause, "message": self.message,
                "status": self.status, "reached": self.reached,
                "hops": [h.as_json() for h in self.hops]}


@dataclass
class Replayed:
    results: list[Asked]
    requests: int  # the requests the replayed URLs stand for

    @property
    def failures(self) -> list[Asked]:
        # most requested first; the sort is stable, so ties keep the tally's order
        return sorted((a for a in self.results if not a.ok), key=lambda a: -a.requests)


def read(ctx: RunContext, p: ReplayParams, now: dt.datetime) -> Tally:
    """Tally the requests the plan's source holds (SourceError when it cannot be read)."""
    from runbook.kinds.wire.logsource import SourceError, files

    since = now - dt.timedelta(seconds=p.window)
    methods = frozenset(p.method)
    statuses = frozenset(str(s)[0] if str(s).endswith("xx") else str(s) for s in p.status)
    flt = Filter(host=p.host, methods=methods, statuses=statuses,
                 path_prefix=p.path_prefix,
                 since=since.strftime("%Y-%m-%d %H:%M:%S") if p.logs is not None else None,
                 until=None, keep_query=p.query == "keep")
    tally = Tally()
    if p.csv is not None:
        path = ctx.plan_dir / p.csv
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SourceError(f"cannot read the CSV of URLs {path}: "
                              f"{exc.strerror or exc}") from exc
        tally_csv(text, str(path), flt, tally)
        return tally
    assert p.logs is not None
    for number, log in enumerate(files(ctx, p.logs, since=since,
                                       distribution=p.distribution), 1):
        ctx.progress(f"reading access logs: file {number}, {tally.lines:,} lines so far")
        try:
            with log.open() as raw:
                tally_log(text_lines(raw, log.name), log.name, flt, tally)
        except OSError as exc:
            tally.malformed_line(log.name, 0, f"the file cannot be read: "
                                 f"{exc.strerror or exc}")
    return tally


def _target(url: str, at: str | None) -> str:
    if at is None:
        return url
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return at + rest


def replay(ctx: RunContext, p: ReplayParams, top: list[tuple[str, int]]
           ) -> Replayed | CheckResult:
    """Ask every URL of ``top`` as the plan says; progress goes to ``ctx.progress``."""
    from runbook.kinds.wire.client import run

    urls = [(_target(u, p.at), n) for u, n in top]
    try:
        # connect_to pins the logged hosts and the sites the URLs must reach
        origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}/" for u, _ in urls}
        origins |= {f"https://{h}/" for h in (p.ends_on,) if h}
        client = client_for(ctx, p, sorted(origins))
    except WireError as exc:
        return CheckResult.failed(exc.message, exc.outcome)
    results = run(_ask_all(ctx, client, urls, p))
    return Replayed(results, sum(n for _, n in urls))


async def _ask_all(ctx: RunContext, client: Client, urls: list[tuple[str, int]],
                   p: ReplayParams) -> list[Asked]:
    import asyncio

    from runbook.kinds.wire.bulk import each

    loop = asyncio.get_running_loop()
    total = len(urls)
    shown = [0.0]

    def tick(done: int) -> None:
        now = loop.time()
        if done == total or now - shown[0] >= PROGRESS_EVERY:
            shown[0] = now
            ctx.progress(f"replaying: {done:,} of {total:,} URLs asked")

    async def one(item: tuple[str, int]) -> Asked:
        return await follow(client, item[0], item[1], p)

    async with client:
        return await each(urls, one, p.concurrency, tick=tick)


async def follow(client: Client, url: str, requests: int, p: ReplayParams) -> Asked:
    """Ask ``url`` and follow its redirects until an answer that is not one; judge it."""
    asked = Asked(url, requests)
    here = url
    seen = {url}
    while True:
        try:
            got = await client.fetch(here, p.ask, body=False)
        except WireError as exc:
            asked.outcome, asked.cause = exc.outcome, UNREACHABLE
            asked.message = exc.message if not asked.hops else \
                f"{url} redirects to {here}, which fails: {exc.message}"
            return asked
        if 300 <= got.status < 400 and got.location is not None:
            asked.hops.append(Hop(here, got.status, got.location))
            if got.location in seen:
                chain = " -> ".join([*(h.url for h in asked.hops), got.location])
                asked.outcome, asked.cause = "loop", TOO_MANY_HOPS
                asked.message = f"redirect loop: {chain}"
                return asked
            if len(asked.hops) > p.hops + EXTRA_HOPS:
                asked.cause = TOO_MANY_HOPS
                asked.message = f"{url} still redirects after {len(asked.hops)} hops " \
                    f"(at {got.location})"
                return asked
            seen.add(got.location)
            here = got.location
            continue
        asked.status, asked.reached = got.status, here
        return _judge(asked, p)


def _judge(asked: Asked, p: ReplayParams) -> Asked:
    n = len(asked.hops)
    via = f" after {count(n, 'redirect')}" if n else ""
    end = f"{asked.reached} ({asked.status})" if n else str(asked.status)
    assert asked.status is not None
    if not status_matches(p.expect, asked.status):
        asked.cause = WRONG_STATUS
        asked.message = f"{asked.url} ends on {end}{via}, expected {status_text(p.expect)}"
    elif n > p.hops:
        asked.cause = TOO_MANY_HOPS
        asked.message = f"{asked.url} ends on {end}{via}; at most {p.hops} allowed"
    elif p.ends_on and (urlsplit(asked.reached).hostname or "") != p.ends_on.lower():
        asked.cause = WRONG_SITE
        asked.message = f"{asked.url} ends on {end}{via}, not on {p.ends_on}"
    else:
        asked.ok, asked.outcome = True, "ok"
        asked.message = f"{asked.url} ends on {end}{via}"
    return asked


def summary(failures: list[Asked], done: Replayed) -> str:
    """``N of M URLs failed (X of Y requests; counts by cause)``, then the first SHOWN
    failures by cause, most requested first."""
    causes = Counter(a.cause for a in failures)
    counts = ", ".join(f"{causes[c]} {c}" for c in CAUSES if causes[c])
    lost = sum(a.requests for a in failures)
    lines = [f"  {len(failures):,} of {len(done.results):,} URLs failed, {lost:,} of "
             f"{done.requests:,} requests ({counts}):"]
    shown = failures[:SHOWN]
    for cause in CAUSES:
        group = [a for a in shown if a.cause == cause]
        if group:
            lines.append(f"  {cause} ({causes[cause]}):")
            lines += [f"    [{count(a.requests, 'request', sep=',')}] "
                      f"{a.message}" for a in group]
    if len(failures) > SHOWN:
        lines.append(f"  ... and {len(failures) - SHOWN:,} more: every failure is in the "
                     "report (and in `failures_csv`, when set)")
    return "\n".join(lines)


def write_csv(path: Path, failures: list[Asked], secrets: set[str]) -> None:
    """Every failure, most requested first; secret values masked as the journal masks them."""
    def mask(value: object) -> str:
        text = str(value)
        for s in sorted(secrets, key=len, reverse=True):
            if s:
                text = text.replace(s, "***")
        return text

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for a in failures:
            writer.writerow([mask(v) for v in (a.url, a.requests, a.cause, a.outcome,
                                               a.status or "", a.reached, len(a.hops),
                                               a.message)])
