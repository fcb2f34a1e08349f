"""``http.redirects``: a whole map of redirects, checked concurrently, every failure kept.

``concurrency`` tasks share one event loop and one client: each task walks one redirect
at a time, so at most ``concurrency`` requests are in flight and no host sees more
connections than that; idle keep-alive connections pass from task to task, and each
carries many checks.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from runbook.kinds.base import CheckResult
from runbook.kinds.wire.common import client_for
from runbook.kinds.wire.redirect import Walk, load_map, walk

if TYPE_CHECKING:
    from runbook.context import RunContext
    from runbook.kinds.wire.client import Client
    from runbook.kinds.wire.common import RedirectOptions

TABLE_WIDTH = 60  # characters of a URL shown in the failure table


def check_all(ctx: RunContext, p: RedirectOptions, *, inline: dict[str, str] | None,
              file: str | None, concurrency: int) -> CheckResult:
    """Check the map given ``inline`` or in ``file`` (relative to the plan's folder), with
    ``concurrency`` walks at once, each following the options ``p``."""
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
    walks = run(_walk_all(client_for(ctx, p, pairs), list(pairs.items()), p, concurrency))
    failures = [w for w in walks if not w.ok]
    seen = {"checked": len(walks), "passed": len(walks) - len(failures),
            "failures": [w.as_json() for w in failures], "table": table(failures)}
    if not failures:
        return CheckResult.passed(f"all {len(walks)} redirects work", **seen)
    kinds = Counter(w.outcome for w in failures)
    outcome = next(iter(kinds)) if len(kinds) == 1 else "mismatch"
    why = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    return CheckResult.failed(
        f"{len(failures)} of {len(walks)} redirects failed ({why}); first: "
        f"{failures[0].message}", outcome, **seen)


async def _walk_all(client: Client, pairs: list[tuple[str, str]], p: RedirectOptions,
                    concurrency: int) -> list[Walk]:
    """Every walk, in the map's order."""
    import asyncio

    allowed = p.allowed()
    walks: list[Walk | None] = [None] * len(pairs)
    todo = iter(range(len(pairs)))  # shared: each task takes the next entry

    async def worker() -> None:
        for i in todo:
            source, target = pairs[i]
            walks[i] = await walk(client, source, target, allowed=allowed, hops=p.hops,
                                  keep_path=p.keep_path, keep_query=p.keep_query)

    async with client:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(pairs)))))
    return [w for w in walks if w is not None]


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
