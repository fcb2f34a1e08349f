"""The local folder store: ``<dir>/runs/<run_id>/events.jsonl`` and ``<dir>/locks/``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runbook.errors import NoSuchRunError, StateError
from runbook.store.base import LockInfo, Store, no_run


class LocalStore(Store):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def _run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def _guard(self, action: str, fn: Any) -> Any:
        try:
            return fn()
        except OSError as exc:
            raise StateError(f"cannot {action} in the state folder {self.root}: "
                             f"{exc.strerror or exc}") from exc

    def create_run(self, run_id: str) -> None:
        self._guard("create a run", lambda: self._run_dir(run_id).mkdir(parents=True))

    def append_event(self, run_id: str, seq: int, event: dict[str, Any]) -> None:
        line = json.dumps(event, sort_keys=True, default=str) + "\n"

        def write() -> None:
            fd = os.open(self._run_dir(run_id) / "events.jsonl",
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

        self._guard("write the journal", write)

    def events(self, run_id: str) -> list[dict[str, Any]]:
        path = self._run_dir(run_id) / "events.jsonl"
        if not path.exists():
            raise NoSuchRunError(no_run(run_id, str(self.root)))
        out = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                # a torn last line is what a kill during write leaves: the event never happened
                if n == len(path.read_text().splitlines()):
                    break
                raise StateError(f"the journal {path} is damaged at line {n}") from None
        return out

    def put(self, run_id: str, name: str, data: bytes) -> None:
        def write() -> None:
            target = self._run_dir(run_id) / name
            tmp = target.with_suffix(target.suffix + ".tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(target)

        self._guard("write a run file", write)

    def get(self, run_id: str, name: str) -> bytes | None:
        path = self._run_dir(run_id) / name
        return path.read_bytes() if path.exists() else None

    def run_ids(self) -> Iterator[str]:
        runs = self.root / "runs"
        if runs.is_dir():
            yield from sorted(p.name for p in runs.iterdir() if p.is_dir())

    def _lock_path(self, key: str) -> Path:
        return self.root / "locks" / f"{key}.json"

    def lock(self, info: LockInfo) -> LockInfo | None:
        path = self._lock_path(info.key)
        self._guard("create the locks folder", lambda: path.parent.mkdir(parents=True,
                                                                         exist_ok=True))
        # The lock appears whole or not at all: written and synced under a name of its
        # own, then linked to its place (link fails if the place is taken). A process
        # killed before the link leaves only that hidden file, never an empty lock that
        # no run could read or take over.
        tmp = path.with_name(f".{info.key}.{info.lock_id}.tmp")

        def write() -> None:
            with open(tmp, "w") as fh:
                json.dump(info.to_json(), fh)
                fh.flush()
                os.fsync(fh.fileno())

        try:
            self._guard("write a lock", write)
            os.link(tmp, path)
        except FileExistsError:
            return self.lock_holder(info.key) or info
        except OSError as exc:
            raise StateError(f"cannot write a lock in the state folder {self.root}: "
                             f"{exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return None

    def lock_holder(self, key: str) -> LockInfo | None:
        path = self._lock_path(key)
        try:
            return LockInfo.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, KeyError, TypeError):
            return LockInfo("unreadable", key, "?", "?", "?", 0, "?")

    def unlock(self, key: str, lock_id: str) -> bool:
        holder = self.lock_holder(key)
        if holder is None or holder.lock_id != lock_id:
            return False
        self._lock_path(key).unlink(missing_ok=True)
        return True

    def locks(self) -> list[LockInfo]:
        folder = self.root / "locks"
        if not folder.is_dir():
            return []
        found = [self.lock_holder(p.stem) for p in sorted(folder.glob("*.json"))]
        return [f for f in found if f is not None]
