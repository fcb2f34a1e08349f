"""Output that nobody reads any more does not stop a run.

A run's output is for the person watching; its journal is the record. When stdout or
stderr goes away in the middle of a run (`runbook run ... | head`, a terminal closed, an
SSH session lost), the next write fails (BrokenPipeError, EIO). Before, that failure went
up through the journal's listener and ended the run half-way with exit 1 and no word in
its journal. ``Outlet`` wraps the stream: the first failed write points the stream's file
descriptor at /dev/null (what Python's documentation advises for a closed pipe), so this
write and every later one succeed unseen, and the run goes on to its end and journals it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

GONE = (errno.EPIPE, errno.EIO, errno.ECONNRESET)


class Outlet:
    """``stream``, but a write or flush to a reader that is gone is dropped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._lose(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self._lose(exc)

    def _lose(self, exc: OSError) -> None:
        if exc.errno not in GONE:
            raise exc
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """While a command runs, its stdout and stderr are Outlets."""
    if isinstance(sys.stdout, Outlet) or sys.stdout is None or sys.stderr is None:
        yield
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Outlet(out), Outlet(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
