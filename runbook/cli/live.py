"""The live view of a run: each journal event as a line, a spinner for polling, diffs at
gates. This is render code; it only listens."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from runbook.cli.diffs import block, inline, one_line
from runbook.cli.drawing import whole
from runbook.cli.plantime import faster, scale_of
from runbook.cli.reportdata import answered
from runbook.durations import format_duration
from runbook.engine.executor import Preview
from runbook.kinds.base import Diff
from runbook.plan.model import Stage
from runbook.words import count

_STYLE = {"-": "red", "+": "green", " ": "dim", "~": "dim italic"}


def diff_lines(diff: Diff, indent: str = "      ") -> list[str]:
    """Every changed value whole (see cli/diffs.py), as rich markup lines."""
    lines = []
    for c in diff.changes:
        if inline(c.old, c.new):
            lines.append(f"{indent}[cyan]{escape(c.path)}[/]: [red]{escape(one_line(c.old))}[/]"
                         f" -> [green]{escape(one_line(c.new))}[/]")
            continue
        lines.append(f"{indent}[cyan]{escape(c.path)}[/]:")
        for ln in block(c.old, c.new):
            sign = " " if ln.sign == "~" else ln.sign
            lines.append(f"{indent}  [{_STYLE[ln.sign]}]{sign} {escape(ln.text)}[/]")
    if diff.empty:
        lines.append(f"{indent}[dim]no change: already as planned[/]")
    if diff.note:
        lines.append(f"{indent}[dim]{escape(diff.note)}[/]")
    return lines


# A diff longer than this, shown whole at the gate, is not shown again at its step.
SHOWN_AGAIN = 3

# What changes from one progress message of a wait to the next without news: counters.
_COUNTERS = re.compile(r"\b(attempt|round) \d+|[\d.]+[a-z]*( [\d.]+[a-z]+)* left|"
                       r"\b\d+ of \d+\b")


@dataclass
class _Wait:
    """One wait (a polling check, a soak, an action waiting on AWS) seen through its
    progress messages."""

    started: float
    key: str
    text: str


class LiveView:
    """Each event as a line. A wait is one live line on a terminal; without one, a line
    when it starts, one when its answer changes, and its end is one line."""

    def __init__(self, console: Console) -> None:
        self.con = console
        self._status: Status | None = None
        self._wait: _Wait | None = None
        self._soak: dict[str, tuple[bool, str]] = {}  # check description -> last answer
        self._soak_started: float | None = None
        self.steps_total = 0
        self._scale: float | None = None  # a sandbox twin's time scale, from run.started
        self._shown: dict[str, Any] = {}  # step id -> the diff shown whole at its gate
        self._stage: str | None = None  # the stage whose header was printed last
        self._resumed = False
        self._began = time.monotonic()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    @whole
    def progress(self, text: str) -> None:
        key = _COUNTERS.sub("#", text)
        if self._wait is None:
            self._wait = _Wait(time.monotonic(), key, text)
            if not self.con.is_terminal:
                self.con.print(f"  waiting: {escape(text)}")
        elif key != self._wait.key:
            if not self.con.is_terminal:
                self.con.print(f"  still waiting: {escape(text)}")
            self._wait.key = key
        self._wait.text = text
        if not self.con.is_terminal:
            return
        if self._status is None:
            self._status = self.con.status(escape(text))
            self._status.start()
        else:
            self._status.update(escape(text))

    def _end_wait(self) -> str:
        """Close the wait in progress; how long it took (empty: there was none)."""
        if self._wait is None:
            return ""
        took = format_duration(max(time.monotonic() - self._wait.started, 0.0))
        self._wait = None
        return took

    @whole
    def gate(self, stage: Stage, previews: list[Preview]) -> None:
        self._stop()
        if stage.notes:
            self.con.print(f"  [dim]{escape(stage.notes.strip())}[/]")
        self.con.print("  [bold]what this stage will change:[/]")
        for p in previews:
            self.con.print(f"    step [bold]{p.step.id}[/]: {escape(p.description)}")
            if p.diff is not None:
                self._shown[p.step.id] = p.diff.to_json()
                for line in diff_lines(p.diff):
                    self.con.print(line)
            elif p.waiting_for:
                self.con.print(f"      [dim]known once earlier steps have run "
                               f"({escape(p.waiting_for)})[/]")
            elif p.error:
                self.con.print(f"      [red]cannot preview: {escape(p.error)}[/]")

    def _soak_check(self, e: dict[str, Any]) -> None:
        """A soak re-runs its checks every round: a line when it starts, and a check's
        line only when its answer differs from the round before."""
        if self._soak_started is None:
            self._soak_started = time.monotonic()
            self.con.print(f"  soaking stage {escape(str(e.get('stage')))}: re-running its "
                           "checks until the soak time is over")
        answer = (bool(e["ok"]), str(e.get("outcome") or ""))
        if self._soak.get(e["description"]) == answer:
            return
        self._soak[e["description"]] = answer
        mark = "[green]ok[/]" if e["ok"] else "[red]FAIL[/]"
        self.con.print(f"  {mark} soak: {escape(e['description'])} - {escape(e['summary'])}")

    @whole
    def event(self, e: dict[str, Any]) -> None:
        self._stop()
        t = e["type"]
        p = self.con.print
        step = e.get("step")
        if t == "check" and e.get("phase") == "soak":
            self._soak_check(e)  # a soak is one wait across its rounds
            return
        took = self._end_wait()
        if took and t not in ("check", "soak"):
            # an interrupt cut the wait short: it did not end on its own
            ended = "stopped waiting" if t == "interrupted" else "done waiting"
            p(f"  [dim]{ended} after {took}[/]")
        stage = e.get("stage")
        if t == "stage.started" and stage == self._stage:
            return  # a resumed stage: its header came with its first event, above
        if t not in ("stage.started", "gate", "run.resumed") and self._resumed \
                and isinstance(stage, str) and stage != self._stage:
            # resume settles a step before it walks on: the header goes first
            self._stage = stage
            p(f"\n[bold]== stage {escape(stage)}[/] (resumed)")
        if t == "run.started":
            self._scale, self._began = scale_of(e), time.monotonic()
            p(f"[bold]run {e['run_id']}[/]: plan {e['plan']} on [bold]{e['env']}[/] "
              f"(digest {e['digest'][:12]}) by {e['operator']['user']}@{e['operator']['host']}")
        elif t == "run.resumed":
            self._resumed, self._stage = e.get("mode") == "resume", None
            before = "none: it ended without a word (killed?)" \
                if e["previous"] == "unfinished" else e["previous"]
            p(f"[bold]{e['mode']}[/] of this run (its outcome so far: {before})")
        elif t == "stage.started":
            self._stage = stage
            title = f" - {escape(e['title'])}" if e.get("title") else ""
            p(f"\n[bold]== stage {e['stage']}{title}[/]")
        elif t == "check":
            if e["phase"] == "dry-run":
                return
            mark = "[green]ok[/]" if e["ok"] else "[red]FAIL[/]"
            tries = f" after {e['attempts']} tries" if e.get("attempts", 1) > 1 else ""
            if tries and took:  # real time; against a twin, plan time runs faster
                tries += f" in {took}" + (" real" if self._scale else "")
            where = f" [dim]({escape(e['source'])})[/]" if not e["ok"] and e.get("source") \
                else ""
            p(f"  {mark} {e['phase']}: {escape(e['description'])} - "
              f"{escape(e['summary'])}{tries}{where}")
        elif t == "gate":
            p(f"  gate {'passed' if e['answer'] == 'yes' else '[red]declined[/]'}")
        elif t == "step.started":
            p(f"  [bold]step {step}[/]" + (f": {escape(e['title'])}" if e.get("title") else ""))
        elif t == "intent":
            p(f"  -> {escape(e['description'])}")
            lines = diff_lines(Diff.from_json(e.get("diff") or {}))
            if len(lines) > SHOWN_AGAIN and self._shown.get(str(step)) == (e.get("diff") or {}):
                p(f"      [dim]the change shown at the gate above ({len(lines)} lines)[/]")
            else:
                for line in lines:
                    p(line)
        elif t == "applied":
            p("  applied" + (" (recovered on resume)" if e.get("recovered") else ""))
        elif t == "verified":
            p(f"  [green]step {step} verified[/]")
        elif t == "failed":
            where = f" [dim]({escape(e['source'])})[/]" if e.get("source") else ""
            p(f"  [red]{e['phase']} failed: {escape(e['error'])}[/]{where}")
        elif t == "step.skipped":
            p(f"  [yellow]step {step} skipped: {escape(e['reason'])}[/]")
        elif t == "decision" and answered(e):
            p(f"  step {step}: decision: [bold]{e['choice']}[/] ({escape(answered(e) or '')})")
        elif t == "decision":
            why = f" ({escape(e['reason'])})" if e.get("reason") else ""
            p(f"  decision: [bold]{e['choice']}[/]{why}")
        elif t == "rollback.started":
            p(f"  [yellow]rolling back step {step}[/]")
        elif t == "rollback.restored":
            p(f"  restored step {step}")
        elif t == "rollback.verified":
            p(f"  [green]step {step} rolled back and verified[/] [dim]({e.get('proof')}"
              + (f"; {e['checks']} verify check(s) pass" if e.get("checks") else "") + ")[/]")
        elif t == "rollback.undone":
            p(f"  [yellow]step {step} undone, not proved[/] ({escape(e['reason'])})")
        elif t == "rollback.skipped":
            p(f"  step {step}: nothing to restore ({escape(e['reason'])})")
        elif t in ("rollback.failed", "rollback.drift"):
            p(f"  [red]step {step}: {escape(e.get('error') or e.get('detail') or '')}[/]")
        elif t == "resume.check":
            p(f"  step {step}: {escape(e['detail'])}")
        elif t == "note":
            p(f"  {escape(e['text'])}")
        elif t == "soak":
            took = format_duration(time.monotonic() - self._soak_started) \
                if self._soak_started is not None else ""
            self._soak, self._soak_started = {}, None
            p(f"  soak passed: {count(e['rounds'], 'round')}" + (f" in {took}" if took else ""))
        elif t == "interrupted":
            flight = e.get("in_flight")
            how = f" by {escape(str(e['signal']))}" if e.get("signal") else ""
            p(f"  [red]interrupted[/]{how}" + (f" while step {escape(str(flight))} was under way "
                                          "(between its intent and its outcome)" if flight else ""))
            for name, live in (e.get("live") or {}).items():
                p(f"  [bold]live now[/] (step {escape(str(name))}): "
                  f"{escape(str(live.get('now', '')))}")
        elif t == "run.finished":
            style = "green" if e["exit_code"] == 0 else \
                "yellow" if e["exit_code"] in (1, 4) else "red"
            p(f"\n[bold {style}]{e['outcome']}[/]: {escape(e['message'])} "
              f"(exit {e['exit_code']})")
            if self._scale is not None:
                took = format_duration(time.monotonic() - self._began)
                p(f"[dim]plan time: `within`, `every`, `soak`, the time left while waiting and "
                  f"the report's waiting are plan seconds; {faster(self._scale)} (this "
                  f"took {took} real)[/]")
