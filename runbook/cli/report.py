"""``runbook report RUN``: the run as a post-incident timeline.

Each event with its exact local and UTC time, the operator, every change with its diff,
each check with what it saw, rollbacks and skips with their reasons, and the total time
checks spent failing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from runbook.cli.live import short
from runbook.durations import format_duration
from runbook.engine.identity import describe_principal
from runbook.engine.journal import replay
from runbook.kinds.base import Diff


def _parse(at: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def duration(events: list[dict[str, Any]]) -> str:
    """From the first event to the last ("-" when unknown)."""
    if not events:
        return "-"
    first, last = _parse(str(events[0].get("at"))), _parse(str(events[-1].get("at")))
    if first is None or last is None:
        return "-"
    return format_duration(max((last - first).total_seconds(), 0.0))


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


def _line(e: dict[str, Any]) -> str | None:
    t = e["type"]
    step = f"step `{e['step']}`" if e.get("step") else ""
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
    if t == "stage.started":
        return f"stage **{e['stage']}** started" + (f": {e['title']}" if e.get("title") else "")
    if t == "gate":
        what = f"step `{e['step']}`" if e.get("step") else f"stage `{e['stage']}`"
        return f"gate of {what}: **{e['answer']}**"
    if t == "check":
        mark = "passed" if e["ok"] else "**FAILED**"
        extra = f" after {e['attempts']} tries" if e.get("attempts", 1) > 1 else ""
        if e.get("failing_for"):
            extra += f", failing for {e['failing_for']:.1f}s"
        return f"{e['phase']} check {mark}{extra}: {e['description']} - saw: {e['summary']}"
    if t == "intent":
        return f"{step}: about to {e['description']}"
    if t == "applied":
        outs = {k: v for k, v in (e.get("outputs") or {}).items() if k != "state_after"}
        return f"{step}: **changed**" + (f" (outputs: {short(outs, 120)})" if outs else "")
    if t == "verified":
        return f"{step}: verified"
    if t == "failed":
        return f"{step}: {e['phase']} **failed**: {e['error']}"
    if t == "step.skipped":
        return f"{step}: **skipped**: {e['reason']}"
    if t == "decision":
        why = f" - {e['reason']}" if e.get("reason") else ""
        return f"decision: **{e['choice']}**{why}" + (f" ({e['failure']})" if e.get("failure")
                                                      else "")
    if t.startswith("rollback."):
        detail = e.get("error") or e.get("detail") or e.get("reason") or ""
        return f"{step}: {t.replace('.', ' ')}" + (f": {detail}" if detail else "")
    if t == "resume.check":
        return f"{step}: {e['detail']}"
    if t == "soak":
        return f"stage `{e['stage']}` soaked: {e['rounds']} rounds passed"
    if t == "interrupted":
        return "**interrupted** (Ctrl-C)"
    if t == "lock.taken_over":
        holder = e.get("holder", {})
        return (f"**lock taken over** from run `{e.get('run_id')}` (pid {holder.get('pid')} "
                f"on {holder.get('host')}): {e.get('reason')}")
    if t == "run.finished":
        return f"run finished: **{e['outcome']}** (exit {e['exit_code']}): {e['message']}"
    return None


def markdown(run_id: str, events: list[dict[str, Any]]) -> str:
    state = replay(events)
    s = state.started
    out = [f"# Run {run_id}", ""]
    op = s.get("operator", {})
    rehearsal = s.get("rehearsal") or {}
    if "skipped" in rehearsal:
        # A production run without its rehearsal is the first thing a reviewer must see.
        out += [f"> **Rehearsal skipped.** {s.get('env')} requires a successful run on "
                f"{rehearsal.get('required', '?')} first; {op.get('user')} ran it without one, "
                f"giving this reason: \"{rehearsal['skipped']}\"", ""]
    out += [f"- plan: `{s.get('plan')}` ({s.get('plan_file')}), environment **{s.get('env')}**",
            f"- operator: {op.get('user')}@{op.get('host')} (pid {op.get('pid')})",
            f"- AWS principal: {describe_principal(op.get('aws'))}",
            f"- digest: `{s.get('digest')}`",
            f"- outcome: **{state.outcome}**"]
    # What a reader acts on comes first: steps that were never verified, and steps a
    # stopped rollback left applied with the command that goes on.
    if state.skipped:
        out.append("- not verified (skipped): " + "; ".join(
            f"`{step}` ({why})" for step, why in state.skipped.items()))
    end = state.finished or {}
    if end.get("still_applied"):
        out.append("- still applied: " + ", ".join(f"`{s}`" for s in end["still_applied"])
                   + (f"; go on with `{end['next_command']}`" if end.get("next_command")
                      else ""))
    if rehearsal.get("run_id"):
        out.append(f"- rehearsal: run `{rehearsal['run_id']}` on "
                   f"{rehearsal.get('required', '?')}, started {rehearsal.get('at')}"
                   + rehearsed_on(rehearsal.get("world"), s.get("env")))
    others = [e for e in events if e["type"] in ("run.resumed", "lock.broken")]
    for e in others:
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
    out.append(f"- checks failing: {failed_checks} check result(s) failed; checks spent "
               f"{failing:.1f}s failing in total")
    out += ["", "## Timeline", "", "| local time | UTC | event |", "| --- | --- | --- |"]
    for e in events:
        text = _line(e)
        if text is None:
            continue
        local, utc = _times(e["at"])
        out.append(f"| {local} | {utc} | {text.replace('|', '/')} |")
    changes = [e for e in events if e["type"] == "intent"]
    if changes:
        out += ["", "## Changes", ""]
        for e in changes:
            out.append(f"### `{e['step']}`: {e['description']}")
            out.append("")
            diff = Diff.from_json(e.get("diff") or {})
            for c in diff.changes:
                out.append(f"- `{c.path}`: `{short(c.old, 200)}` -> `{short(c.new, 200)}`")
            if diff.note:
                out.append(f"- note: {diff.note}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def as_json(run_id: str, events: list[dict[str, Any]]) -> str:
    state = replay(events)
    return json.dumps({"run_id": run_id, "outcome": state.outcome, "events": events},
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
