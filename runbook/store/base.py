"""The store's vocabulary: a ``Store`` (runs and locks), ``LockInfo``, and the message for
a run a store does not hold. ``local`` and ``s3`` implement it; the package chooses one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
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


def state_option(store: Store) -> str:
    """The ``--state`` a command needs to reach this store again ("" for the default)."""
    return "" if store.url == DEFAULT_LOCATION else f"--state {store.url} "


def no_run(run_id: str, where: str) -> str:
    """The message for a run id a store does not hold: often the wrong store was asked."""
    return (f"no run {run_id!r} in {where}; `runbook runs` lists the runs there. A run kept "
            "elsewhere (the plan's `state:`, an S3 bucket) needs --state LOCATION or "
            "RUNBOOK_STATE")
