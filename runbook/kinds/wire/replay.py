"""``http.replay``: the URLs people really use, asked again of the new site.

The ``top`` most requested distinct URLs of a window are read from CloudFront's access
logs (:mod:`accesslog`, from files or S3 through :mod:`logsource`) or from a CSV, then
each is asked (GET or HEAD) on the HTTP engine of the other http kinds, ``concurrency``
at a time with :func:`bulk.each`, following redirects hop by hop. A URL passes when it
ends on ``expect`` (2xx by default) after at most ``hops`` redirects (and on the host
``ends_on`` names, when given). An old address's URLs are asked as they were logged, so
they go through its redirect; ``at`` asks them of another site instead.

Failures are grouped by cause and the most requested come first: a broken URL that a
thousand visitors use matters before one used once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from runbook.context import RunContext
from runbook.durations import format_duration
from runbook.kinds import register
from runbook.kinds.base import Check, CheckResult
from runbook.kinds.wire.common import rate_text, status_text
from runbook.kinds.wire.replayopts import ReplayParams
from runbook.words import count

if TYPE_CHECKING:
    from runbook.kinds.wire.accesslog import Tally
    from runbook.kinds.wire.replayrun import Replayed

@register
class HttpReplay(Check[ReplayParams]):
    kind = "http.replay"
    Params = ReplayParams
    summary = "the most requested URLs of the access logs still work on the new site"

    def describe(self) -> str:
        p = self.params
        where = f"the CSV {p.csv}" if p.csv else \
            f"the access logs of the last {format_duration(p.window)}"
        what = f"the {p.top:,} most requested URLs" + (f" of {p.host}" if p.host else "")
        end = f"end on {status_text(p.expect)} within {count(p.hops, 'redirect')}"
        extra = [f"asked of {p.at}"] if p.at else []
        if p.ends_on:
            extra.append(f"on {p.ends_on}")
        if p.rate:
            extra.append(f"at most {rate_text(p.rate)} a host")
        return f"{what} in {where} {end}" + (f" ({', '.join(extra)})" if extra else "")

    def run(self, ctx: RunContext) -> CheckResult:
        from runbook.kinds.wire import replayrun
        from runbook.kinds.wire.logsource import SourceError

        p = self.params
        try:
            tally = replayrun.read(ctx, p, _now())
        except SourceError as exc:
            return CheckResult.failed(str(exc), "error")
        read = _read_text(tally, p)
        seen: dict[str, Any] = {"lines": tally.lines, "files": tally.files,
                                "matched": tally.matched, "distinct": len(tally.counts),
                                "malformed": tally.malformed, "malformed_lines": tally.bad,
                                "first": tally.first, "last": tally.last}
        if not tally.counts:
            why = f"no request matched in {read}, so nothing was replayed"
            if p.no_data == "pass":
                return CheckResult(True, f"{why}; no_data: pass counts that as passed",
                                   seen, "no_data")
            return CheckResult.failed(f"{why}; no_data: fail counts that as failed (no "
                                      "data proves nothing)", "no_data", **seen)
        top = tally.top(p.top)
        done = replayrun.replay(ctx, p, top)
        if isinstance(done, CheckResult):
            return done
        return _verdict(ctx, p, done, read, seen)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _read_text(tally: Tally, p: ReplayParams) -> str:
    what = f"{count(tally.lines, 'line', sep=',')} of {count(tally.files, 'file')}"
    bits = [f"host {p.host}"] if p.host else []
    if p.path_prefix:
        bits.append(f"paths under {p.path_prefix}")
    if p.logs is not None:
        bits.append(f"the last {format_duration(p.window)}")
    text = what + (f" ({', '.join(bits)})" if bits else "")
    if tally.malformed:
        text += f"; {count(tally.malformed, 'malformed line', sep=',')} skipped: " \
            + "; ".join(tally.bad) + (" ..." if tally.malformed > len(tally.bad) else "")
    return text


def _verdict(ctx: RunContext, p: ReplayParams, done: Replayed, read: str,
             seen: dict[str, Any]) -> CheckResult:
    from runbook.kinds.wire.replayrun import summary, write_csv

    failures = done.failures
    seen.update({"replayed": len(done.results), "passed": len(done.results) - len(failures),
                 "requests": done.requests,
                 "failures": [f.as_json() for f in failures]})
    note = ""
    if p.failures_csv and failures:
        target = ctx.plan_dir / p.failures_csv
        try:
            write_csv(target, failures, ctx.secrets)
            seen["failures_csv"] = str(target)
        except OSError as exc:
            note = f" (the failures CSV {target} could not be written: {exc.strerror or exc})"
    head = f"replayed the {len(done.results):,} most requested URLs ({done.requests:,} " \
           f"requests) from {read}"
    if not failures:
        return CheckResult.passed(f"{head}: all end on {status_text(p.expect)}{note}", **seen)
    return CheckResult.failed(f"{head}:\n{summary(failures, done)}{note}", "mismatch", **seen)

