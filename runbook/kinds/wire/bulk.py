"""``http.redirects``: a whole map of redirects, checked concurrently, every failure kept.

``concurrency`` tasks share one event loop and one client: each task walks one redirect
at a time, so at most ``concurrency`` requests are in flight and no host sees more
connections than that; idle keep-alive connections pass from task to task, and each
carries many checks.

On screen the summary names the first :data:`SHOWN` failures grouped by cause (wrong
status, wrong target, too many hops, unreachable); ``failures`` in what the check saw
keeps every one, for the report; ``failures_csv`` writes them all to a file.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runbook.kinds.base import CheckResult
from runbook.kinds.wire.common import client_for
from runbook.kinds.wire.net import WireError
from runbook.kinds.wire.redirect import CAUSES, Walk, load_map, walk
from runbook.kinds.wire.redirprefix import is_prefix, probes, star_problem
from runbook.words import count

if TYPE_CHECKING:
    from runbook.context import RunContext
    from runbook.kinds.wire.client import Client
    from runbook.kinds.wire.common import RedirectOptions

T = TypeVar("T")
R = TypeVar("R")

TABLE_WIDTH = 60  # characters of a URL shown in the failure table
SHOWN = 20  # failures named on screen; the rest are counted, and all are in the data
CSV_COLUMNS = ("from", "to", "cause", "outcome", "status", "reached", "hops", "message")


def check_all(ctx: RunContext, p: RedirectOptions, *, inline: dict[str, str] | None,
              file: str | None, concurrency: int,
              failures_csv: str | None = None) -> CheckResult:
    """Check the map given ``inline`` or in ``file`` (relative to the plan's folder), with
    ``concurrency`` walks at once, each following the options ``p``; write the failures
    to ``failures_csv`` (relative to the plan's folder) when asked."""
    from runbook.kinds.wire.client import run

    if inline is not None:
        pairs = dict(inline)
    else:
        assert file is not None
        path = ctx.plan_dir / file
        try:
            pairs = load_map(path)
        except FileNotFoundError:
            return CheckResult.failed(f"the redirect map {path} does not exist", "error",
                                      file=str(path))
        except (OSError, ValueError) as exc:
            return CheckResult.failed(f"cannot read the redirect map: {exc}", "error",
                                      file=str(path))
    if not pairs:
        return CheckResult.failed("the redirect map is empty", "error", file=file)
    bad = next((why for s, t in pairs.items() if (why := star_problem(s, t))), None)
    if bad:
        return CheckResult.failed(f"the redirect map: {bad}", "error", file=file)
    asks = [(s, t, is_prefix(source)) for source, target in pairs.items()
            for s, t in probes(source, target)]
    try:
        client = client_for(ctx, p, [s for s, _, _ in asks])
    except WireError as exc:
        return CheckResult.failed(exc.message, exc.outcome, file=file)
    walks = run(_walk_all(client, asks, p, concurrency))
    failures = [w for w in walks if not w.ok]
    seen: dict[str, Any] = {
        "checked": len(walks), "passed": len(walks) - len(failures),
        "failures": [w.as_json() for w in failures], "table": table(failures)}
    note = ""
    if failures_csv:
        target = ctx.plan_dir / failures_csv
        try:
            write_csv(target, failures)
            seen["failures_csv"] = str(target)
        except OSError as exc:
            seen["failures_csv_error"] = str(exc)
            note = f" (the failures CSV {target} could not be written: {exc.strerror or exc})"
    if not failures:
        asked = "" if len(walks) == len(pairs) else \
            f" ({count(len(pairs), 'entry', 'entries')}; each prefix entry " \
            "asked at itself and a deeper path)"
        return CheckResult.passed(f"all {len(walks)} redirects work{asked}{note}", **seen)
    kinds = Counter(w.outcome for w in failures)
    outcome = next(iter(kinds)) if len(kinds) == 1 else "mismatch"
    return CheckResult.failed(summary(failures, len(walks)) + note, outcome, **seen)


def summary(failures: list[Walk], checked: int) -> str:
    """``N of M redirects failed (counts by cause)``, then the first SHOWN failures
    grouped by cause, one indented line each, and how many more there are."""
    causes = Counter(w.cause for w in failures)
    counts = ", ".join(f"{causes[c]} {c}" for c in CAUSES if causes[c])
    lines = [f"{len(failures)} of {checked} redirects failed ({counts})"
             + (":" if failures else "")]
    shown = failures[:SHOWN]
    for cause in CAUSES:
        group = [w for w in shown if w.cause == cause]
        if group:
            lines.append(f"  {cause} ({causes[cause]}):")
            lines += [f"    {w.message}" for w in group]
    if len(failures) > SHOWN:
        lines.append(f"  ... and {len(failures) - SHOWN} more: every failure is in the "
                     "report (and in `failures_csv`, when set)")
    return "\n".join(lines)


def write_csv(path: Path, failures: list[Walk]) -> None:
    """Every failure, one row each: where it went (the last hop's Location), the first
    status answered, the hop count, and the message shown on screen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for w in failures:
            writer.writerow([w.source, w.expected, w.cause, w.outcome,
                             w.hops[0].status if w.hops else "",
                             (w.hops[-1].location or "") if w.hops else "",
                             len(w.hops), w.message])


async def _walk_all(client: Client, pairs: list[tuple[str, str, bool]],
                    p: RedirectOptions, concurrency: int) -> list[Walk]:
    """Every walk, in the map's order. A prefix entry's probes already name the path
    they must reach, so ``keep_path`` does not append it again."""
    allowed = p.allowed()

    async def one(pair: tuple[str, str, bool]) -> Walk:
        return await walk(client, pair[0], pair[1], allowed=allowed, hops=p.hops,
                          keep_path=p.keep_path and not pair[2], keep_query=p.keep_query)

    async with client:
        return await each(pairs, one, concurrency)


async def each(items: Sequence[T], job: Callable[[T], Awaitable[R]], concurrency: int, *,
               tick: Callable[[int], None] | None = None) -> list[R]:
    """``job`` of every item, ``concurrency`` at a time, results in the items' order.
    ``tick(done)`` is called after each (the progress line of a long replay)."""
    import asyncio

    results: list[R | None] = [None] * len(items)
    todo = iter(range(len(items)))  # shared: each task takes the next entry
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in todo:
            results[i] = await job(items[i])
            if tick is not None:
                done += 1
                tick(done)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))
    return [r for r in results if r is not None]


def _cut(text: str) -> str:
    return text if len(text) <= TABLE_WIDTH else text[: TABLE_WIDTH - 3] + "..."


def table(failures: list[Walk]) -> str:
    """Every failure as a plain-text table: from, expected, what happened."""
    if not failures:
        return ""
    rows = [("from", "expected", "problem")]
    rows += [(_cut(w.source), _cut(w.expected), w.message) for w in failures]
    a = max(len(r[0]) for r in rows)
    b = max(len(r[1]) for r in rows)
    return "\n".join(f"{r[0]:<{a}}  {r[1]:<{b}}  {r[2]}" for r in rows)
