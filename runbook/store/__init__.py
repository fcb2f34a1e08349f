"""Where run state lives: a ``Store`` holds runs (plan, events, files) and locks.

The executor writes run state only through a Store, so that a local folder (default
``.runbook/``, :mod:`runbook.store.local`) and an S3 prefix (:mod:`runbook.store.s3`)
are interchangeable. Events are appended one at a time and
each append is durable before it returns: a run killed at any instant is resumable from
what the store holds.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LockInfo:
    lock_id: str
    key: str
    run_id: str
    user: str
    host: str
    pid: int
    since: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        # Fields with defaults may be missing from locks written by older versions.
        required = ("lock_id", "key", "run_id", "user", "host", "pid", "since")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        missing = [k for k in required if k not in known]
        if missing:
            raise KeyError(missing[0])
        return cls(**known)


class Store(ABC):
    """A place for runs and locks."""

    url: str

    @abstractmethod
    def create_run(self, run_id: str) -> None: ...

    @abstractmethod
    def append_event(self, run_id: str, seq: int, event: dict[str, Any]) -> None:
        """Durably add event number ``seq`` of a run."""

    @abstractmethod
    def events(self, run_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def put(self, run_id: str, name: str, data: bytes) -> None: ...

    @abstractmethod
    def get(self, run_id: str, name: str) -> bytes | None: ...

    @abstractmethod
    def run_ids(self) -> Iterator[str]: ...

    @abstractmethod
    def lock(self, info: LockInfo) -> LockInfo | None:
        """Take the lock ``info.key``; return None, or the holder if it is taken."""

    @abstractmethod
    def lock_holder(self, key: str) -> LockInfo | None: ...

    @abstractmethod
    def unlock(self, key: str, lock_id: str) -> bool:
        """Release the lock if ``lock_id`` matches; False if it did not."""

    @abstractmethod
    def locks(self) -> list[LockInfo]: ...

    def last_event(self, run_id: str) -> dict[str, Any] | None:
        """The newest event of a run (None: no events, or no such run)."""
        from runbook.errors import StateError

        try:
            events = self.events(run_id)
        except StateError:
            return None
        return events[-1] if events else None


DEFAULT_LOCATION = ".runbook"


def no_run(run_id: str, where: str) -> str:
    """The message for a run id a store does not hold: often the wrong store was asked."""
    return (f"no run {run_id!r} in {where}; `runbook runs` lists the runs there. A run kept "
            "elsewhere (the plan's `state:`, an S3 bucket) needs --state LOCATION or "
            "RUNBOOK_STATE")


def resolve_location(option: str | None, *, plan_state: str | None = None,
                     plan_dir: Path | None = None) -> str:
    """Where state lives: ``--state``, then the plan's ``state:``, then $RUNBOOK_STATE
    (or the older $RUNBOOK_STATE_DIR), then ``.runbook``.

    A plan that names its state wins over the environment variable: it is the team's
    contract, and a variable left over in someone's shell must not split the locks. A
    relative folder in ``state:`` is relative to the plan's folder.
    """
    if option:
        return option
    if plan_state:
        if plan_state.startswith("s3://") or plan_dir is None or Path(plan_state).is_absolute():
            return plan_state
        return str(plan_dir / plan_state)
    return (os.environ.get("RUNBOOK_STATE") or os.environ.get("RUNBOOK_STATE_DIR")
            or DEFAULT_LOCATION)


def open_store(location: str | None, *, plan_state: str | None = None,
               plan_dir: Path | None = None) -> Store:
    """The store for a location (see :func:`resolve_location`): ``s3://bucket/prefix``
    or a folder."""
    where = resolve_location(location, plan_state=plan_state, plan_dir=plan_dir)
    if where.startswith("s3://"):
        from runbook.store.s3 import S3Store

        return S3Store(where)
    if "://" in where:
        from runbook.errors import UsageError

        raise UsageError(f"state location {where!r}: give a folder or s3://bucket/prefix")
    from runbook.store.local import LocalStore

    return LocalStore(where)
