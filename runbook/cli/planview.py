"""``runbook plan``'s output: the dry run as text (a terminal), Markdown (a review: a
pull-request comment, a wiki page) or JSON (a machine). All three show the same things:
every check and what it saw, the checks that may pass only after an earlier step, every
diff with its values whole, and the digest that ``run --digest`` binds to."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook.engine.dryrun import CheckLine, DryRun
    from runbook.errors import Problem
    from runbook.plan.model import Plan

FORMATS = ("text", "markdown", "json")
_MARK = {"ok": "ok", "fail": "FAIL", "not yet": "not yet", "later": "later"}


def status(line: CheckLine) -> str:
    """ok, fail, not yet (fails now, may pass after an earlier step), later (needs the
    output of an earlier step, so it could not run)."""
    if line.result is None:
        return "later"
    if line.result.ok:
        return "ok"
    return "not yet" if line.later else "fail"


def _summary(line: CheckLine) -> str:
    if line.result is None:
        return "needs the output of an earlier step"
    return line.result.summary


def _headline(line: CheckLine) -> str:
    """A check expected to fail before the plan runs ("not yet") in one line: the first
    line of what it saw (20 failing redirects are one fact here, not 20)."""
    first, _, rest = _summary(line).partition("\n")
    return first.rstrip(":") + (" (details in `--format json`)" if rest.strip() else "")


def as_json(plan: Plan, result: DryRun, warnings: list[Problem], secrets: set[str]) -> str:
    from runbook.plan.describe import describe
    from runbook.plan.template import redact

    data = {
        "plan": plan.name,
        "environment": plan.environment.name,
        "digest": plan.digest,
        "could_start": result.could_start,
        "checks": [{"where": c.where, "check": describe(c.spec), "kind": c.spec.kind,
                    "status": status(c), "summary": _summary(c),
                    "outcome": c.result.outcome if c.result is not None else None}
                   for c in result.checks],
        "changes": [{"step": pv.step.id, "title": pv.step.title, "action": pv.description,
                     "diff": pv.diff.to_json() if pv.diff is not None else None,
                     "waiting_for": pv.waiting_for, "error": pv.error,
                     "after": result.after.get(pv.step.id),
                     "against_now": result.against_now.get(pv.step.id)}
                    for pv in result.previews],
        "warnings": [str(w) for w in warnings],
    }
    return json.dumps(redact(data, secrets), indent=2, default=str) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _value(value: Any) -> list[str]:
    """A value whole: one line when short, indented JSON when long."""
    if isinstance(value, str) and "\n" not in value:
        return [json.dumps(value)]
    one = json.dumps(value, default=str)
    if len(one) <= 70:
        return [one]
    return json.dumps(value, indent=2, default=str).splitlines()


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks inside."""
    ticks = "`" * max(3, *(_ticks(line) + 1 for line in lines))
    return "\n".join([f"{ticks}diff", *lines, ticks])


def _ticks(line: str) -> int:
    run = best = 0
    for ch in line:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best


def as_markdown(plan: Plan, result: DryRun, warnings: list[Problem],
                secrets: set[str]) -> str:
    from runbook.plan.describe import describe
    from runbook.plan.template import redact

    out = [f"## Dry run of `{plan.name}` on `{plan.environment.name}`", "",
           "Nothing was changed. Digest: `" + plan.digest + "` (`runbook run --digest` "
           "refuses any other plan).", ""]
    out.append("**The plan can start**: its first stage's checks pass." if result.could_start
               else "**The plan cannot start now**: a check of its first stage fails.")
    counts: dict[str, int] = {}
    for c in result.checks:
        counts[status(c)] = counts.get(status(c), 0) + 1
    out += ["", "### Checks", "",
            ", ".join(f"{n} {_MARK[s]}" for s, n in counts.items()) or "no checks", ""]
    if result.checks:
        out += ["| | where | check | saw |", "| --- | --- | --- | --- |"]
        for c in result.checks:
            saw = _headline(c) + " (may pass once earlier steps have run)" \
                if status(c) == "not yet" else _summary(c)
            out.append(f"| {_MARK[status(c)]} | {_cell(c.where)} | "
                       f"{_cell(redact(describe(c.spec), secrets))} | "
                       f"{_cell(redact(saw, secrets))} |")
    out += ["", "### Changes", ""]
    if not result.previews:
        out.append("The plan has no steps.")
    for pv in result.previews:
        title = f" ({pv.step.title})" if pv.step.title else ""
        out += [f"#### Step `{pv.step.id}`{_cell(title)}", "",
                redact(pv.description, secrets), ""]
        if pv.diff is not None:
            lines: list[str] = []
            for ch in pv.diff.changes:
                lines.append(f"@ {ch.path}")
                lines += [f"- {v}" for v in _value(redact(ch.old, secrets))]
                lines += [f"+ {v}" for v in _value(redact(ch.new, secrets))]
            if lines:
                out += [_fence(lines), ""]
            else:
                out += ["No change: already as planned.", ""]
            if pv.diff.note:
                out += [f"_{redact(pv.diff.note, secrets)}_", ""]
            if pv.step.id in result.against_now:
                out += [f"Against the state now: {redact(result.against_now[pv.step.id], secrets)}",
                        ""]
        elif pv.step.id in result.after:  # needs what an earlier step creates
            out += [f"Not yet: {redact(result.after[pv.step.id], secrets)}", ""]
        elif pv.waiting_for:
            out += [f"Known once earlier steps have run: {redact(pv.waiting_for, secrets)}", ""]
        else:
            out += [f"**Cannot preview**: {redact(pv.error or '', secrets)}", ""]
    if warnings:
        out += ["### Warnings", ""] + [f"- {_cell(str(w))}" for w in warnings] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def print_text(plan: Plan, result: DryRun, warnings: list[Problem]) -> None:
    from rich.markup import escape

    from runbook.cli.live import diff_lines
    from runbook.cli.render import print_problems, stdout_console
    from runbook.plan.describe import describe

    con = stdout_console()
    con.print(f"[bold]dry run[/] of {plan.name} on [bold]{plan.environment.name}[/]: nothing "
              "is changed")
    con.print("\n[bold]checks[/]")
    for line in result.checks:
        desc = escape(f"{line.where}: {describe(line.spec)}")
        state = status(line)
        if state == "later":
            con.print(f"  [dim]later[/] {desc} - needs the output of an earlier step")
        elif state == "ok":
            con.print(f"  [green]ok[/]    {desc} - {escape(_summary(line))}")
        elif state == "not yet":
            con.print(f"  [yellow]not yet[/] {desc} - {escape(_headline(line))} "
                      "[dim](may pass once earlier steps have run)[/]")
        else:
            con.print(f"  [red]FAIL[/]  {desc} - {escape(_summary(line))}")
    con.print("\n[bold]changes[/]")
    for pv in result.previews:
        con.print(f"  step [bold]{pv.step.id}[/]: {escape(pv.description)}")
        if pv.diff is not None:
            for d in diff_lines(pv.diff):
                con.print(d)
            if pv.step.id in result.against_now:
                con.print(f"      [yellow]against the state now:[/] "
                          f"{escape(result.against_now[pv.step.id])}")
        elif pv.step.id in result.after:  # needs what an earlier step creates
            con.print(f"      [yellow]not yet[/] {escape(result.after[pv.step.id])}")
        elif pv.waiting_for:
            con.print(f"      [dim]known once earlier steps have run: "
                      f"{escape(pv.waiting_for)}[/]")
        else:
            con.print(f"      [red]cannot preview: {escape(pv.error or '')}[/]")
    if warnings:
        print_problems(warnings)
    con.print(f"\ndigest: {plan.digest}", markup=False)
    if result.could_start:
        con.print("the plan can start: its first stage's checks pass", markup=False)
    else:
        con.print("[red]the plan cannot start now: a check of its first stage fails[/]")


def show(fmt: str, plan: Plan, result: DryRun, warnings: list[Problem],
         secrets: set[str]) -> None:
    if fmt == "text":
        print_text(plan, result, warnings)
        return
    if warnings:  # on stderr too: a person reading the log sees them
        from runbook.cli.render import print_problems

        print_problems(warnings)
    # a document: written as is, never wrapped or styled
    sys.stdout.write(as_json(plan, result, warnings, secrets) if fmt == "json"
                     else as_markdown(plan, result, warnings, secrets))
