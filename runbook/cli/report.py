"""``runbook report RUN``: the run as a post-incident timeline.

It opens with a summary (outcome, what is still applied, skipped steps, time spent
waiting), then each event with its exact local and UTC time, the operator, every change
with its whole diff, each check with what it saw, every failing redirect of a redirect
map, rollbacks and skips with their reasons. Markdown for a wiki or a pull request,
JSON for machines, and plain text (the same events, no table syntax) on a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from runbook.cli.diffs import inline, one_line, plain
from runbook.cli.plantime import plan_time, scale_of
from runbook.cli.reportdata import Summary, answered, redirect_failures, summarize, titles
from runbook.durations import format_duration
from runbook.engine.identity import describe_principal
from runbook.engine.journal import replay
from runbook.kinds.base import Diff
from runbook.words import count


def _parse(at: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def seconds(events: list[dict[str, Any]]) -> float | None:
    """From the first event to the last (None when unknown)."""
    if not events:
        return None
    first, last = _parse(str(events[0].get("at"))), _parse(str(events[-1].get("at")))
    if first is None or last is None:
        return None
    return max((last - first).total_seconds(), 0.0)


def duration(events: list[dict[str, Any]]) -> str:
    """From the first event to the last ("-" when unknown)."""
    took = seconds(events)
    return "-" if took is None else format_duration(took)


def _who(op: dict[str, Any]) -> str:
    text = f"{op.get('user')}@{op.get('host')}"
    if op.get("aws", {}).get("arn"):
        text += f" as {op['aws']['arn']}"
    return text


def _times(at: str) -> tuple[str, str]:
    try:
        t = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at, at
    local = t.astimezone()
    return (local.strftime("%Y-%m-%d %H:%M:%S %Z"),
            t.strftime("%H:%M:%S.%f")[:-3] + " UTC")


def _line(e: dict[str, Any], names: dict[str, str] | None = None,
          scale: float | None = None) -> str | None:
    """One event in words (Markdown emphasis); ``names`` gives steps' titles."""
    t = e["type"]
    title = (names or {}).get(str(e.get("step")))
    step = f"step `{e['step']}`" + (f" ({title})" if title else "") if e.get("step") else ""
    if t == "run.started":
        op = e.get("operator", {})
        text = (f"run started by **{_who(op)}** on **{e['env']}**, plan "
                f"`{e['plan']}` (digest `{e['digest'][:12]}`)")
        if e.get("confirmed") not in (None, "not protected"):
            text += f"; protected environment confirmed ({e['confirmed']})"
        rehearsal = e.get("rehearsal")
        if rehearsal:
            text += ("; rehearsal **skipped**: " + rehearsal["skipped"]) if "skipped" in \
                rehearsal else (f"; rehearsed in run `{rehearsal.get('run_id')}`"
                                + rehearsed_on(rehearsal.get("world"), e.get("env")))
        return text
    if t == "run.resumed":
        op = e.get("operator", {})
        return f"**{e['mode']}** by {_who(op)} (run had {e['previous']})"
    if t == "lock.broken":
        by, holder = e.get("by", {}), e.get("holder", {})
        why = f": {e['reason']}" if e.get("reason") else ""
        return (f"**lock broken** by {by.get('user')}@{by.get('host')} (lock `{e['lock_id']}` "
                f"held by {holder.get('user')}@{holder.get('host')} pid {holder.get('pid')} "
                f"since {holder.get('since')}){why}")
    if t == "step.started":
        return f"{step} started"
    if t == "stage.started":
        return f"stage **{e['stage']}** started" + (f": {e['title']}" if e.get("title") else "")
    if t == "gate":
        what = f"step `{e['step']}`" if e.get("step") else f"stage `{e['stage']}`"
        return f"gate of {what}: **{e['answer']}**"
    if t == "check":
        mark = "passed" if e["ok"] else "**FAILED**"
        extra = f" after {e['attempts']} tries" if e.get("attempts", 1) > 1 else ""
        if e.get("failing_for"):
            extra += f", failing for {e['failing_for']:.1f}s" + (
                f" of plan time ({float(e['failing_for']) * scale:.1f}s real)" if scale else "")
        where = f" of {step}" if step else ""
        return (f"{e['phase']} check{where} {mark}{extra}: {e['description']} - saw: "
                f"{e['summary']}")
    if t == "intent":
        return f"{step}: about to {e['description']}"
    if t == "applied":
        outs = {k: v for k, v in (e.get("outputs") or {}).items() if k != "state_after"}
        return f"{step}: **changed**" + (f" (outputs: {one_line(outs)})" if outs else "")
    if t == "verified":
        return f"{step}: verified"
    if t == "failed":
        return f"{step}: {e['phase']} **failed**: {e['error']}"
    if t == "step.skipped":
        return f"{step}: **skipped**: {e['reason']}"
    if t == "decision" and answered(e):
        return f"{step}: decision: **{e['choice']}** ({answered(e)})"
    if t == "decision":
        why = f" - {e['reason']}" if e.get("reason") else ""
        return f"decision: **{e['choice']}**{why}" + (f" ({e['failure']})" if e.get("failure")
                                                      else "")
    if t.startswith("rollback."):
        detail = e.get("error") or e.get("detail") or e.get("reason") or ""
        return f"{step}: {t.replace('.', ' ')}" + (f": {detail}" if detail else "")
    if t == "resume.check":
        return f"{step}: {e['detail']}"
    if t == "note":
        return f"{step}: {e['text']}" if step else str(e["text"])
    if t == "soak":
        return f"stage `{e['stage']}` soaked: {count(e['rounds'], 'round')} passed"
    if t == "interrupted":
        flight = e.get("in_flight")
        live = "".join(f"; live then (step `{name}`): {one.get('now', '')}"
                       for name, one in (e.get("live") or {}).items())
        how = f"by {e['signal']}, nothing asked" if e.get("signal") else "Ctrl-C"
        return f"**interrupted** ({how})" + (f" while step `{flight}` was under way"
                                           if flight else "") + live
    if t == "lock.taken_over":
        holder = e.get("holder", {})
        return (f"**lock taken over** from run `{e.get('run_id')}` (pid {holder.get('pid')} "
                f"on {holder.get('host')}): {e.get('reason')}")
    if t == "run.finished":
        return f"run finished: **{e['outcome']}** (exit {e['exit_code']}): {e['message']}"
    return None


def _step_name(step: str, names: dict[str, str]) -> str:
    return f"`{step}`" + (f" ({names[step]})" if names.get(step) else "")


def summary_lines(summary: Summary, names: dict[str, str]) -> list[str]:
    """The summary as Markdown list items: what a reader needs before the timeline."""
    code = f" (exit {summary.exit_code})" if summary.exit_code is not None else ""
    out = [f"- outcome: **{summary.outcome}**{code}"
           + (f": {summary.message}" if summary.message else "")]
    applied = [_step_name(a["step"], names) + (" (verified)" if a["verified"] else
                                               " (not verified)" if not a["in_flight"] else
                                               " (may be half applied)")
               for a in summary.still_applied]
    out.append("- still applied: " + (", ".join(applied) if applied else "nothing"))
    for step, now in summary.live.items():
        out.append(f"- **still live** from {_step_name(step, names)}: {now}")
    skipped = [f"{_step_name(s['step'], names)}: {s['reason']}" for s in summary.skipped]
    out.append("- skipped: " + ("; ".join(skipped) if skipped else "none"))
    if summary.rolled_back:
        out.append("- rolled back: " + ", ".join(_step_name(s, names)
                                                 for s in summary.rolled_back))
    for text in summary.beyond:
        out.append(f"- **beyond the rollback**: {text}")
    parts = ", ".join(f"{k} {format_duration(v)}" for k, v in summary.waiting.items() if v)
    out.append(f"- time spent waiting: {plan_time(summary.waited, summary.time_scale)}"
               + (f" ({parts})" if parts else ""))
    for key, value in summary.extra.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        out.append(f"- {key.replace('_', ' ')}: {shown}")
    return out


def _details(run_id: str, events: list[dict[str, Any]]) -> list[str]:
    """Who ran what, where, when: Markdown list items."""
    s = replay(events).started
    op = s.get("operator", {})
    rehearsal = s.get("rehearsal") or {}
    out = [f"- plan: `{s.get('plan')}` ({s.get('plan_file')}), environment **{s.get('env')}**",
           f"- operator: {op.get('user')}@{op.get('host')} (pid {op.get('pid')})",
           f"- AWS principal: {describe_principal(op.get('aws'))}",
           f"- digest: `{s.get('digest')}`"]
    if rehearsal.get("run_id"):
        out.append(f"- rehearsal: run `{rehearsal['run_id']}` on "
                   f"{rehearsal.get('required', '?')}, started {rehearsal.get('at')}"
                   + rehearsed_on(rehearsal.get("world"), s.get("env")))
    for e in (e for e in events if e["type"] in ("run.resumed", "lock.broken")):
        who = e.get("operator") or e.get("by") or {}
        what = e.get("mode") if e["type"] == "run.resumed" else "lock broken"
        out.append(f"- {what} by {_who(who)} at {_times(e['at'])[1]}"
                   + (f" (AWS principal: {describe_principal(who.get('aws'))})"
                      if e["type"] == "run.resumed" else ""))
    first, last = events[0]["at"], events[-1]["at"]
    out.append(f"- started {_times(first)[0]} ({_times(first)[1]}), last event "
               f"{_times(last)[0]} ({_times(last)[1]}); took {duration(events)}")
    failing = sum(float(e.get("failing_for") or 0) for e in events if e["type"] == "check")
    failed_checks = sum(1 for e in events if e["type"] == "check" and not e["ok"])
    failed_for = plan_time(failing, scale_of(s)) if failing else "0s"
    out.append(f"- checks failing: {failed_checks} check result(s) failed; checks spent "
               f"{failed_for} failing in total")
    return out


def _skipped_rehearsal(events: list[dict[str, Any]]) -> str | None:
    s = replay(events).started
    rehearsal = s.get("rehearsal") or {}
    if "skipped" not in rehearsal:
        return None
    return (f"**Rehearsal skipped.** {s.get('env')} requires a successful run on "
            f"{rehearsal.get('required', '?')} first; {s.get('operator', {}).get('user')} ran "
            f"it without one, giving this reason: \"{rehearsal['skipped']}\"")


FAILURE_COLUMNS = ["from", "expected", "outcome", "what happened"]


def _failure_row(f: dict[str, Any]) -> list[str]:
    return [str(f.get("from", "")), str(f.get("to", "")), str(f.get("outcome", "")),
            str(f.get("message", ""))]


def _by_check(failures: list[dict[str, Any]],
              names: dict[str, str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Failures grouped by the check result that saw them, with a heading for each."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for f in failures:
        groups.setdefault(f.get("seq"), []).append(f)
    out = []
    for group in groups.values():
        f = group[0]
        where = f"{f.get('phase')} check" + (f" of step {_step_name(str(f['step']), names)}"
                                              if f.get("step") else "")
        out.append((f"{where}: {f.get('check')} ({len(group)} failed)", group))
    return out


def markdown(run_id: str, events: list[dict[str, Any]]) -> str:
    names = titles(events)
    out = [f"# Run {run_id}", ""]
    warning = _skipped_rehearsal(events)
    if warning:  # a production run without its rehearsal is the first thing to see
        out += [f"> {warning}", ""]
    out += ["## Summary", "", *summary_lines(summarize(events), names), ""]
    out += ["## Run", "", *_details(run_id, events)]
    out += ["", "## Timeline", "", "| local time | UTC | event |", "| --- | --- | --- |"]
    scale = scale_of(replay(events).started)
    for e in events:
        text = _line(e, names, scale)
        if text is None:
            continue
        local, utc = _times(e["at"])
        out.append(f"| {local} | {utc} | {_cell(text)} |")
    failures = redirect_failures(events)
    if failures:
        out += ["", f"## Redirect failures ({len(failures)})"]
        for heading, group in _by_check(failures, names):
            out += ["", f"{heading}:", "", "| " + " | ".join(FAILURE_COLUMNS) + " |",
                    "|" + " --- |" * len(FAILURE_COLUMNS)]
            out += ["| " + " | ".join(_cell(c) for c in _failure_row(f)) + " |"
                    for f in group]
    changes = [e for e in events if e["type"] == "intent"]
    if changes:
        out += ["", "## Changes", ""]
        for e in changes:
            out += [f"### {_step_name(e['step'], names)}: {e['description']}", ""]
            diff = Diff.from_json(e.get("diff") or {})
            for c in diff.changes:
                if inline(c.old, c.new):
                    out.append(f"- `{c.path}`: `{one_line(c.old)}` -> `{one_line(c.new)}`")
                else:
                    out += [f"- `{c.path}`:", "", "  ```diff",
                            *plain(c.old, c.new, "  "), "  ```", ""]
            if diff.note:
                out.append(f"- note: {diff.note}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    """Text in a Markdown table cell: a `|` would end the cell, a newline the row."""
    return text.replace("|", "\\|").replace("\n", "<br>")


def _words(text: str) -> str:
    """Markdown emphasis and code marks dropped, for a terminal."""
    return text.replace("**", "").replace("`", "")


def as_text(run_id: str, events: list[dict[str, Any]]) -> None:
    """The report for a terminal: the same events as the Markdown, as readable lines."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from runbook.cli.render import print_columns, stdout_console

    con = stdout_console()
    names = titles(events)
    con.print(f"[bold]Run {escape(run_id)}[/]")
    warning = _skipped_rehearsal(events)
    if warning:
        con.print(f"[bold red]{escape(_words(warning))}[/]")
    for line in summary_lines(summarize(events), names):
        con.print("  " + escape(_words(line[2:])))
    con.print()
    for line in _details(run_id, events):
        con.print("  " + escape(_words(line[2:])))
    con.print(f"\n[bold]Timeline[/] (local time, {_times(events[0]['at'])[0][-3:].strip()})")
    # Two columns: a long event wraps under its own text, not under the times.
    grid = Table.grid(padding=(0, 2), pad_edge=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    scale = scale_of(replay(events).started)
    for e in events:
        text = _line(e, names, scale)
        if text is None:
            continue
        if con.is_terminal:
            grid.add_row(_times(e["at"])[0][11:19], Text(_words(text)))
        else:  # a log: one line per event, nothing padded
            con.print(f"  {_times(e['at'])[0][11:19]}  {escape(_words(text))}")
    if con.is_terminal:
        con.print(grid)
    failures = redirect_failures(events)
    if failures:
        con.print(f"\n[bold]Redirect failures[/] ({len(failures)})")
        for heading, group in _by_check(failures, names):
            con.print(f"  {escape(_words(heading))}")
            print_columns(con, FAILURE_COLUMNS, [_failure_row(f) for f in group])
    changes = [e for e in events if e["type"] == "intent"]
    if changes:
        con.print("\n[bold]Changes[/]")
        for e in changes:
            con.print(f"  {escape(_words(_step_name(e['step'], names)))}: "
                      f"{escape(e['description'])}")
            diff = Diff.from_json(e.get("diff") or {})
            for c in diff.changes:
                lines = plain(c.old, c.new, "      ")
                if len(lines) == 1:
                    con.print(f"    {escape(c.path)}: {escape(lines[0].strip())}")
                else:
                    con.print(f"    {escape(c.path)}:")
                    for ln in lines:
                        con.print(escape(ln))
            if diff.note:
                con.print(f"    [dim]{escape(diff.note)}[/]")


def as_json(run_id: str, events: list[dict[str, Any]]) -> str:
    return json.dumps({"run_id": run_id, "outcome": summarize(events).outcome,
                       "summary": summarize(events).to_json(),
                       "redirect_failures": redirect_failures(events), "events": events},
                      indent=1, sort_keys=True)


def rehearsed_on(world: dict[str, Any] | None, env: str | None) -> str:
    """", on a copy of prod captured at T" for a rehearsal on a captured world."""
    if not world:
        return ""
    captured = world.get("captured")
    if not captured:
        return f", in the sandbox world {world.get('file')} (written by hand)"
    text = (f", on a copy of {captured.get('env')} captured at {captured.get('at')} "
            f"({world.get('file')})")
    if env and captured.get("env") != env:
        text += f": a copy of {captured.get('env')}, not of {env}"
    return text


def as_csv(events: list[dict[str, Any]]) -> str:
    """Every failing redirect of the run's redirect-map checks, one CSV row each."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["seq", "phase", "step", "check", *FAILURE_COLUMNS])
    for f in redirect_failures(events):
        writer.writerow([f.get("seq"), f.get("phase"), f.get("step") or "", f.get("check"),
                         *_failure_row(f)])
    return out.getvalue()
