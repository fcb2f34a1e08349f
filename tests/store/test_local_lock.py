"""The local store's lock appears whole or not at all: a process that dies while writing
it leaves no empty lock file, which no later run could read or take over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runbook.store.base import LockInfo
from runbook.store.local import LocalStore


def _info(lock_id: str) -> LockInfo:
    return LockInfo(lock_id, "files@default", "run-1", "ana", "host", 4242,
                    "2026-12-07T10:00:00Z")


def test_a_process_dying_while_it_writes_its_lock_leaves_no_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)

    def dies(*_: Any, **__: Any) -> None:
        raise SystemExit("killed while writing the lock")

    with monkeypatch.context() as m:
        m.setattr(json, "dump", dies)
        with pytest.raises(SystemExit):
            store.lock(_info("first"))
    assert store.lock_holder("files@default") is None
    assert store.locks() == []
    assert list((tmp_path / "locks").iterdir()) == []  # nor its hidden draft
    assert store.lock(_info("second")) is None  # the next run simply takes it
    holder = store.lock_holder("files@default")
    assert holder is not None and holder.lock_id == "second"
    assert store.lock(_info("third")) == holder  # and it is a lock: the next is refused
    assert store.unlock("files@default", "second")
    assert store.lock_holder("files@default") is None
