"""Shared fixtures for the whole suite. Keep this file small and generic.

``cli(*args, cwd=None, input=None)``
    Run ``runbook ARGS...`` in-process through typer's CliRunner (on ``runbook.cli.app.app``)
    and return a ``CliResult(code, stdout, stderr)``. stdout and stderr are kept apart
    (click >= 8.2 always separates them), so a test can assert that errors go to stderr.
    ``cwd`` changes the working folder for the call (file names in messages are shown
    relative to it). Exceptions that escape the app are re-raised, not swallowed.

``plans_dir``
    The folder of plan fixtures, ``tests/plans`` (bad-*.yaml, good-*.yaml, steps/).

``moto_endpoint``
    One moto server on loopback for the whole session (the AWS kinds' and the S3 store's
    tests). moto keeps its state in the process, not the server, so one server is all a
    process can honestly have; tests reset it or use names of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PLANS = Path(__file__).parent / "plans"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


@contextmanager
def _chdir(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None) -> CliResult:
    from typer.testing import CliRunner

    from runbook.cli.app import app

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    with _chdir(cwd):
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


@pytest.fixture
def plans_dir() -> Path:
    return PLANS


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
