"""What a report says before its timeline, computed from the journal alone.

The outcome is the journal's own word (``run.finished``'s ``outcome``), never a list
kept here: a new outcome shows up in reports as soon as the engine writes it. Fields of
``run.finished`` this module does not know are kept in ``extra`` and shown as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from runbook.cli.plantime import scale_of
from runbook.engine.interrupt import live_at_end
from runbook.engine.journal import replay

# run.finished fields the summary shows in its own words; any other is shown as given.
# still_applied: the summary reads it from the replayed state, with titles
# live: the summary reads it with engine/interrupt.py (what a run left live)
_KNOWN = {"v", "seq", "at", "type", "outcome", "exit_code", "message", "still_applied", "live"}


@dataclass
class Summary:
    outcome: str
    exit_code: int | None
    message: str
    still_applied: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    waiting: dict[str, float] = field(default_factory=dict)  # plan seconds
    time_scale: float | None = None  # real seconds per plan second (a sandbox twin)
    live: dict[str, str] = field(default_factory=dict)  # step -> what it left live
    # what a rollback could not reach (a 301 browsers keep), as its restore noted it
    beyond: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def waited(self) -> float:
        return sum(self.waiting.values())

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "exit_code": self.exit_code, "message": self.message,
                "still_applied": self.still_applied, "skipped": self.skipped,
                "rolled_back": self.rolled_back, **({"live": self.live} if self.live else {}),
                **({"beyond_rollback": self.beyond} if self.beyond else {}),
                "waiting_seconds": {**{k: round(v, 3) for k, v in self.waiting.items()},
                                    "total": round(self.waited, 3)},
                **({"time_scale": self.time_scale} if self.time_scale else {}),
                **self.extra}


def _at(e: dict[str, Any]) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(e.get("at")).replace("Z", "+00:00"))
    except ValueError:
        return None


def _between(a: dict[str, Any], b: dict[str, Any]) -> float:
    start, end = _at(a), _at(b)
    return max((end - start).total_seconds(), 0.0) if start and end else 0.0


def titles(events: list[dict[str, Any]]) -> dict[str, str]:
    """Each step's title, as the run announced it."""
    return {str(e["step"]): str(e["title"]) for e in events
            if e.get("type") == "step.started" and e.get("step") and e.get("title")}


def waiting(events: list[dict[str, Any]], scale: float | None = None) -> dict[str, float]:
    """Seconds spent waiting: actions applying (a CloudFront update waits until it is
    deployed), checks polling until they passed or gave up, stages soaking. In plan
    seconds: checks count on the plan's clock, and the real time between events is
    divided by ``scale`` when the run's time was scaled (a sandbox twin)."""
    applying = polling = soaking = 0.0
    intent: dict[str, dict[str, Any]] = {}
    soak_start: dict[str, dict[str, Any]] = {}
    for e in events:
        t = e.get("type")
        if t == "intent":
            intent[str(e.get("step"))] = e
        elif t in ("applied", "failed") and str(e.get("step")) in intent:
            applying += _between(intent.pop(str(e.get("step"))), e)
        elif t == "check" and e.get("phase") == "soak":
            soak_start.setdefault(str(e.get("stage")), e)
        elif t == "check":
            polling += float(e.get("failing_for") or 0)
        elif t == "soak" and str(e.get("stage")) in soak_start:
            soaking += _between(soak_start.pop(str(e.get("stage"))), e)
    if scale:
        applying, soaking = applying / scale, soaking / scale
    return {"actions": applying, "polling checks": polling, "soaks": soaking}


def summarize(events: list[dict[str, Any]]) -> Summary:
    state = replay(events)
    names = titles(events)
    done = state.finished or {}
    code = done.get("exit_code")
    summary = Summary(state.outcome, int(code) if isinstance(code, int) else None,
                      str(done.get("message") or ""))
    summary.still_applied = [{"step": a.step, "title": names.get(a.step),
                              "verified": a.verified, "in_flight": a.outputs is None}
                             for a in state.applied.values()]
    summary.skipped = [{"step": s, "title": names.get(s), "reason": why}
                       for s, why in state.skipped.items()]
    summary.rolled_back = list(state.rolled_back)
    summary.live = {step: live.now for step, live in live_at_end(state).items()}
    summary.beyond = [f"{e.get('step')}: {e['text']}" for e in events
                      if e.get("type") == "note" and (e.get("data") or {}).get("cached_301")]
    summary.time_scale = scale_of(state.started)
    summary.waiting = waiting(events, summary.time_scale)
    summary.extra = {k: v for k, v in done.items() if k not in _KNOWN}
    return summary


def redirect_failures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every failing entry of every redirect-map check, with the check that saw it."""
    out = []
    for e in events:
        observed = e.get("observed") if e.get("type") == "check" else None
        failures = observed.get("failures") if isinstance(observed, dict) else None
        if not isinstance(failures, list):
            continue
        for f in failures:
            if isinstance(f, dict):
                out.append({"seq": e.get("seq"), "phase": e.get("phase"),
                            "step": e.get("step"), "check": e.get("description"), **f})
    return out


def answered(e: dict[str, Any]) -> str | None:
    """Who said whether an interrupted step ran, and how: "answered in a terminal by
    alice@laptop", or "assumed with --assume by ci@runner: the log shows it ran"; None
    for a decision that is not such an answer."""
    given = e.get("given")
    if given is None:
        return None
    by = e.get("by") or {}
    who = f"{by.get('user', '?')}@{by.get('host', '?')}"
    if given == "terminal":
        return f"answered in a terminal by {who}"
    return f"assumed with {given} by {who}: {e.get('because') or 'no reason given'}"
