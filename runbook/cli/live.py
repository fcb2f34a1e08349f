"""The live view of a run: each journal event as a line, a spinner for polling, diffs at
gates. This is render code; it only listens."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from runbook.engine.executor import Preview
from runbook.kinds.base import Diff
from runbook.plan.model import Stage


def short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_lines(diff: Diff, indent: str = "      ") -> list[str]:
    lines = [f"{indent}[cyan]{escape(c.path)}[/]: [red]{escape(short(c.old))}[/] -> "
             f"[green]{escape(short(c.new))}[/]" for c in diff.changes]
    if diff.empty:
        lines.append(f"{indent}[dim]no change: already as planned[/]")
    if diff.note:
        lines.append(f"{indent}[dim]{escape(diff.note)}[/]")
    return lines


class LiveView:
    def __init__(self, console: Console) -> None:
        self.con = console
        self._status: Status | None = None
        self.steps_total = 0

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def progress(self, text: str) -> None:
        if not self.con.is_terminal:
            return
        if self._status is None:
            self._status = self.con.status(escape(text))
            self._status.start()
        else:
            self._status.update(escape(text))

    def gate(self, stage: Stage, previews: list[Preview]) -> None:
        self._stop()
        if stage.notes:
            self.con.print(f"  [dim]{escape(stage.notes.strip())}[/]")
        self.con.print("  [bold]what this stage will change:[/]")
        for p in previews:
            self.con.print(f"    step [bold]{p.step.id}[/]: {escape(p.description)}")
            if p.diff is not None:
                for line in diff_lines(p.diff):
                    self.con.print(line)
            elif p.waiting_for:
                self.con.print(f"      [dim]known once earlier steps have run "
                               f"({escape(p.waiting_for)})[/]")
            elif p.error:
                self.con.print(f"      [red]cannot preview: {escape(p.error)}[/]")

    def event(self, e: dict[str, Any]) -> None:
        self._stop()
        t = e["type"]
        p = self.con.print
        step = e.get("step")
        if t == "run.started":
            p(f"[bold]run {e['run_id']}[/]: plan {e['plan']} on [bold]{e['env']}[/] "
              f"(digest {e['digest'][:12]}) by {e['operator']['user']}@{e['operator']['host']}")
        elif t == "run.resumed":
            p(f"[bold]{e['mode']}[/] of this run (it had {e['previous']})")
        elif t == "stage.started":
            title = f" - {escape(e['title'])}" if e.get("title") else ""
            p(f"\n[bold]== stage {e['stage']}{title}[/]")
        elif t == "check":
            if e["phase"] == "dry-run":
                return
            mark = "[green]ok[/]" if e["ok"] else "[red]FAIL[/]"
            tries = f" after {e['attempts']} tries" if e.get("attempts", 1) > 1 else ""
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
            for line in diff_lines(Diff.from_json(e.get("diff") or {})):
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
        elif t == "soak":
            p(f"  soak passed: {e['rounds']} rounds")
        elif t == "interrupted":
            p("  [red]interrupted[/]")
        elif t == "run.finished":
            style = "green" if e["exit_code"] == 0 else \
                "yellow" if e["exit_code"] in (1, 4) else "red"
            p(f"\n[bold {style}]{e['outcome']}[/]: {escape(e['message'])} "
              f"(exit {e['exit_code']})")
