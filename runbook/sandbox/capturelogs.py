"""``runbook sandbox capture --logs HOURS``: the last hours of a distribution's access
logs, copied into the world as its traffic, so a copy of prod replays real traffic.

For each captured distribution whose standard logging (legacy) is on, the files of the
window under its logging bucket and prefix are read (reads only) and tallied as
``http.replay`` tallies them; the :data:`URLS_CAP` most requested URLs (``--logs-cap``)
become the world distribution's ``logs.traffic`` (URL -> requests), and the logging
bucket joins the world, so the twin's edge writes its own logs there too. The window is
at most :data:`MAX_HOURS`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from runbook.context import RunContext

URLS_CAP = 1000  # distinct URLs copied per distribution, most requested first
MAX_HOURS = 168.0  # a week: logs older than that are not copied


def add_logs(ctx: RunContext, world: dict[str, Any], *, hours: float, cap: int = URLS_CAP,
             now: dt.datetime, notes: list[str]) -> None:
    """Give each captured distribution that logs its last ``hours`` of traffic (capped)."""
    from runbook.kinds.wire.accesslog import Filter, Tally, tally_log, text_lines
    from runbook.kinds.wire.logsource import SourceError, s3_files, wanted
    from runbook.sandbox.edgelog import logging_of

    hours = min(hours, MAX_HOURS)
    since = now - dt.timedelta(hours=hours)
    flt = Filter(since=since.strftime("%Y-%m-%d %H:%M:%S"), keep_query=True)
    have = {b["name"] for b in world["buckets"]}
    for dist in world["distributions"]:
        target = logging_of(dist.get("config") or {})
        if target is None:
            continue
        bucket, prefix = target
        tally = Tally()
        try:
            for log in s3_files(ctx, f"s3://{bucket}/{prefix}"):
                if wanted(log.name, since=since, distribution=dist["id"]):
                    with log.open() as raw:
                        tally_log(text_lines(raw, log.name), log.name, flt, tally)
        except SourceError as exc:
            notes.append(f"the access logs of {dist['id']} were not copied: {exc}")
            continue
        top = tally.top(cap)
        dist["logs"] = {"bucket": bucket, "prefix": prefix, "traffic": dict(top)}
        if bucket not in have:
            world["buckets"].append({"name": bucket})
            have.add(bucket)
        cut = f" (the {cap:,} most requested of {len(tally.counts):,})" \
            if len(tally.counts) > cap else ""
        notes.append(f"{dist['id']}: {sum(n for _, n in top):,} requests to {len(top):,} "
                     f"URLs{cut} from its access logs of the last {hours:g}h "
                     f"({tally.files} files, {tally.malformed} malformed lines skipped)")
