"""The shell kind's command: a timeout kills it with everything it started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds import check
from tests.engine.test_sigterm import _gone


def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path) -> None:
    cls = check("shell")
    assert cls is not None
    shell = cls(cls.Params.model_validate({
        "run": ["sh", "-c", "sleep 30 & echo $! > sleeper.pid; wait"], "timeout": "1s"}))
    ctx = RunContext()
    ctx.plan_dir = tmp_path
    with pytest.raises(KindError, match=r"did not finish within 1s"):
        shell.run(ctx)
    assert _gone(int((tmp_path / "sleeper.pid").read_text()))


def test_a_command_reads_no_terminal(tmp_path: Path) -> None:
    """runbook's own input stays open and silent, as a terminal nobody types into would:
    the command's `read` still ends at once, on end-of-file."""
    cls = check("shell")
    assert cls is not None
    shell = cls(cls.Params.model_validate({
        "run": ["sh", "-c", "read answer; echo read:$?:$answer"], "contains": "read:1:",
        "timeout": "10s"}))
    ctx = RunContext()
    ctx.plan_dir = tmp_path
    silent, keep = os.pipe()
    saved = os.dup(0)
    os.dup2(silent, 0)
    try:
        r = shell.run(ctx)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, silent, keep):
            os.close(fd)
    assert r.ok, r.summary
