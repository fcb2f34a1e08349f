"""Where run state lives: a ``Store`` holds runs (plan, events, files) and locks.

The executor writes run state only through a Store, so that a local folder (default
``.runbook/``) and, later, S3 are interchangeable. Events are appended one at a time and
each append is durable before it returns: a run killed at any instant is resumable from
what the store holds.
"""

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
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


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


def open_store(location: str | None) -> Store:
    """A store for ``location``: a folder path (default ``.runbook``)."""
    import os

    from runbook.store.local import LocalStore

    location = location or os.environ.get("RUNBOOK_STATE_DIR") or ".runbook"
    if location.startswith("s3://"):
        from runbook.errors import UsageError

        raise UsageError(f"state on S3 ({location}) is not available in this version; "
                         "use a local folder")
    return LocalStore(location)
