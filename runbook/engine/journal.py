"""The write-ahead journal of one run, and its replay.

Every event is a JSON object ``{"v": 1, "seq": N, "at": UTC ISO time, "type": ...}``
appended durably through the Store before the executor goes on. Secrets are masked
before anything is written. ``replay`` rebuilds what a run did from its events alone:
that is how ``resume``, ``rollback`` and ``report`` work in another process.

Event types: run.started, run.finished, stage.started, stage.done, gate, step.started,
step.skipped, check, intent, applied, verified, failed, decision, interrupted,
rollback.started, rollback.restored, rollback.verified (the restore is proved: the
resource reads back as its snapshot and the step's ``verify`` checks pass), rollback.undone
(undone, not proved: the kind keeps no snapshot), rollback.drift, rollback.failed,
rollback.skipped, resume.check, lock.taken_over, soak, baseline (what a check read when its
stage started, engine/baseline.py), note (a kind's milestone inside its step, with the phase
of the call: ``RunContext.note``; replay reads only its ``live`` field: what the step's
action holds live while it is under way, ``runbook/inflight.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook.inflight import Live
from runbook.plan.template import redact
from runbook.store import Store

SCHEMA_VERSION = 1
# Test-only fault injection: kill -9 this process right after writing the event named by
# "TYPE", "TYPE:STEP" or "seq:N" (the N-th event of the run), or at a named point
# ("lock": a run has taken its lock and written no event yet).
CRASH_ENV = "RUNBOOK_CRASH_AFTER"


def crash_point(name: str) -> None:
    """Test-only: kill -9 this process here when RUNBOOK_CRASH_AFTER names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Journal:
    def __init__(self, store: Store, run_id: str, secrets: set[str] | None = None,
                 listener: Callable[[dict[str, Any]], None] | None = None,
                 seq: int = 0) -> None:
        self.store = store
        self.run_id = run_id
        self.secrets = secrets if secrets is not None else set()
        self.listener = listener
        self.seq = seq
        self._crash = os.environ.get(CRASH_ENV)

    @classmethod
    def reopen(cls, store: Store, run_id: str, **kw: Any) -> tuple[Journal, list[dict[str, Any]]]:
        events = store.events(run_id)
        seq = max((e.get("seq", 0) for e in events), default=0)
        return cls(store, run_id, seq=seq, **kw), events

    def write(self, type_: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        event = {"v": SCHEMA_VERSION, "seq": self.seq, "at": utc_now(), "type": type_,
                 **redact(_jsonable(fields), self.secrets)}
        self.store.append_event(self.run_id, self.seq, event)
        if self.listener is not None:
            self.listener(event)
        self._maybe_crash(event)
        return event

    def _maybe_crash(self, event: dict[str, Any]) -> None:
        if not self._crash:
            return
        want_type, _, want_step = self._crash.partition(":")
        if want_type == "seq":
            if str(event["seq"]) == want_step:
                os.kill(os.getpid(), signal.SIGKILL)
            return
        if event["type"] == want_type and (not want_step or event.get("step") == want_step):
            os.kill(os.getpid(), signal.SIGKILL)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@dataclass
class AppliedStep:
    """A step whose action ran (or may have run) and is not yet rolled back."""

    step: str
    snapshot: dict[str, Any]
    params: dict[str, Any]
    outputs: dict[str, Any] | None  # None: intent written, applied not (in flight)
    verified: bool = False
    restored: bool = False  # rolled back, but the restore is not proved yet


@dataclass
class RunState:
    """What a run did, rebuilt from its events."""

    run_id: str = ""
    started: dict[str, Any] = field(default_factory=dict)
    finished: dict[str, Any] | None = None
    applied: dict[str, AppliedStep] = field(default_factory=dict)  # in apply order
    skipped: dict[str, str] = field(default_factory=dict)
    rolled_back: list[str] = field(default_factory=list)
    gates: set[str] = field(default_factory=set)
    stages_done: set[str] = field(default_factory=set)
    steps_done: set[str] = field(default_factory=set)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # engine/baseline.py
    # step id -> what its action holds live while under way (the last note's ``live``)
    live: dict[str, Live] = field(default_factory=dict)
    # why the run is being rolled back, once a rollback was chosen or began: from then on
    # the run only goes backwards (resume would apply again what the rollback undid)
    rolling_back: str | None = None
    undoing: str | None = None  # the step whose rollback began and has not ended
    last_seq: int = 0

    @property
    def in_flight(self) -> AppliedStep | None:
        return next((a for a in self.applied.values() if a.outputs is None), None)

    @property
    def outcome(self) -> str:
        return str(self.finished.get("outcome")) if self.finished else "unfinished"


def track_live(state: RunState, event: dict[str, Any]) -> None:
    """A note's ``live`` field, kept (or cleared) for its step; anything else, ignored."""
    data = event.get("data") if event.get("type") == "note" else None
    if not isinstance(data, dict) or "live" not in data or not event.get("step"):
        return
    live = Live.from_json(data["live"])
    if live is None:
        state.live.pop(str(event["step"]), None)
    else:
        state.live[str(event["step"])] = live


def replay(events: list[dict[str, Any]]) -> RunState:
    state = RunState()
    for e in events:
        t = e.get("type")
        step = e.get("step", "")
        state.last_seq = max(state.last_seq, int(e.get("seq", 0)))
        if t == "run.started":
            state.started = e
            state.run_id = e.get("run_id", "")
        elif t == "run.finished":
            state.finished = e
        elif t == "run.resumed":
            state.finished = None
            if e.get("mode") == "rollback":
                state.rolling_back = state.rolling_back or str(
                    e.get("why") or "`runbook rollback` was run")
        elif t == "decision" and e.get("choice") == "rollback":
            state.rolling_back = state.rolling_back or str(
                e.get("failure") or e.get("reason") or "a rollback was chosen")
        elif t == "rollback.started":
            state.rolling_back = state.rolling_back or "a rollback began"
            state.undoing = step
        elif t == "gate" and e.get("answer") == "yes":
            state.gates.add(e.get("stage", ""))
        elif t == "stage.done":
            state.stages_done.add(e.get("stage", ""))
        elif t == "baseline":
            state.baselines[str(e.get("key", ""))] = e.get("data") or {}
        elif t == "intent":
            state.applied.pop(step, None)
            state.applied[step] = AppliedStep(step, e.get("snapshot") or {},
                                              e.get("params") or {}, None)
        elif t == "applied" and step in state.applied:
            state.applied[step].outputs = e.get("outputs") or {}
            state.outputs[step] = e.get("outputs") or {}
            state.live.pop(step, None)  # what was live while under way is over
        elif t == "note":
            track_live(state, e)
        elif t == "verified":
            if step in state.applied:
                state.applied[step].verified = True
            state.steps_done.add(step)
        elif t == "step.skipped":
            state.skipped[step] = e.get("reason", "")
            state.steps_done.add(step)
        elif t == "rollback.restored" and step in state.applied:
            state.applied[step].restored = True
        elif t in ("rollback.verified", "rollback.undone"):
            state.undoing = None
            state.live.pop(step, None)
            if step in state.applied:
                del state.applied[step]
                state.rolled_back.append(step)
                state.steps_done.discard(step)
                state.outputs.pop(step, None)
        elif t == "rollback.skipped":
            state.undoing = None
            state.live.pop(step, None)
            state.applied.pop(step, None)
            state.rolled_back.append(step)
    return state
