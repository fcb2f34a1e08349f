"""Lock hygiene: how old a lock is, whether its run still shows signs of life, and the
heartbeat that a live run leaves so that a long wait at a gate does not look dead.

A lock is *probably stale* when its process is gone (same host, dead pid), when its run
has shown no sign of life (an event or a heartbeat) for longer than ``stale_after`` (its
lease ran out), or when the lock cannot be read. Only a person breaks a lock that may
guard changes, by its id (``runbook unlock``); the next run takes over by itself only a
lock whose holder is provably gone (``LockView.gone``: the first two) and whose run
changed nothing or finished (``engine/runs.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from runbook.durations import format_duration
from runbook.errors import RunbookError
from runbook.store.base import LockInfo, Store

DEFAULT_STALE_AFTER = 15 * 60.0
HEARTBEAT_FILE = "heartbeat.json"
HEARTBEAT_EVERY = 60.0
UNREADABLE = "the lock object cannot be read"


def parse_time(text: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_gone(info: LockInfo) -> bool:
    """The holder ran on this host and its process no longer exists."""
    return info.host == socket.gethostname() and info.pid > 0 and not pid_alive(info.pid)


@dataclass(frozen=True)
class LockView:
    info: LockInfo
    age: float | None           # seconds since the lock was taken
    quiet: float | None         # seconds since the run's last event or heartbeat
    stale: str | None           # why it is probably stale; None: it looks alive

    @property
    def gone(self) -> str | None:
        """Why the holder is provably gone: its process is dead (same host), or its lease
        ran out (no event or heartbeat for longer than ``stale_after``, while a live run
        beats every minute). None otherwise; an unreadable lock is only probably stale."""
        return None if self.stale == UNREADABLE else self.stale

    def describe(self) -> str:
        i = self.info
        text = f"run {i.run_id} by {i.user} on {i.host} (pid {i.pid}) since {i.since}"
        if self.age is not None:
            text += f" ({ago(self.age)})"
        text += f", lock id {i.lock_id}"
        if self.stale:
            text += f"; {self.stale}, so the lock is probably stale"
        return text


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return f"{format_duration(max(seconds, 0.0) // 1)} ago"


def last_sign_of_life(store: Store, run_id: str) -> dt.datetime | None:
    times = []
    try:
        last = store.last_event(run_id)
        if last is not None:
            times.append(parse_time(str(last.get("at", ""))))
        beat = store.get(run_id, HEARTBEAT_FILE)
        if beat:
            times.append(parse_time(str(json.loads(beat).get("at", ""))))
    except (RunbookError, ValueError):
        pass
    found = [t for t in times if t is not None]
    return max(found) if found else None


def inspect(store: Store, info: LockInfo, stale_after: float = DEFAULT_STALE_AFTER,
            now: dt.datetime | None = None) -> LockView:
    now = now or dt.datetime.now(dt.UTC)
    since = parse_time(info.since)
    age = (now - since).total_seconds() if since else None
    last = last_sign_of_life(store, info.run_id) if info.run_id not in ("", "?") else None
    quiet_from = last or since
    quiet = (now - quiet_from).total_seconds() if quiet_from else None
    stale = None
    if process_gone(info):
        stale = f"its process (pid {info.pid} on {info.host}) is gone"
    elif quiet is not None and quiet > stale_after:
        stale = (f"its run has shown no sign of life for {format_duration(quiet // 1)} "
                 f"(more than {format_duration(stale_after)})")
    elif info.lock_id in ("unreadable", "unknown"):
        stale = UNREADABLE
    return LockView(info, age, quiet, stale)


class Heartbeat:
    """While a run holds its lock, write ``heartbeat.json`` every minute (best effort).

    The journal is silent while an operator thinks at a gate or CloudFront deploys; the
    heartbeat tells ``runbook locks`` on another machine that the run is still alive.
    """

    def __init__(self, store: Store, run_id: str, every: float = HEARTBEAT_EVERY) -> None:
        self.store = store
        self.run_id = run_id
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runbook-heartbeat",
                                        daemon=True)

    def _beat(self) -> None:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        # A missed beat only makes the lock look older; it must never stop the run.
        with contextlib.suppress(Exception):
            self.store.put(self.run_id, HEARTBEAT_FILE,
                           json.dumps({"at": at, "pid": os.getpid()}).encode())

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._beat()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def lock_json(view: LockView) -> dict[str, Any]:
    return {**view.info.to_json(), "age_seconds": view.age, "quiet_seconds": view.quiet,
            "probably_stale": view.stale}
