"""What a program started in a person's terminal has, for the tests that drive runbook
through pexpect.

A terminal's foreground job gets Ctrl-C (SIGINT) and Ctrl-\\ (SIGQUIT) with their default
actions, and Python turns SIGINT into KeyboardInterrupt. A test run started in the
background of a non-interactive shell (``python -m pytest -n auto &``, ``nohup ... &``,
some CI and agent runners) has both *ignored*, as POSIX requires of asynchronous lists
without job control; every process it starts inherits that, Python leaves an ignored
SIGINT ignored, and a Ctrl-C a test sends then reaches a runbook that never sees it (the
test times out). ``pexpect.spawn(..., preexec_fn=foreground_signals)`` gives the child
what a terminal gives it, however the suite was started.
"""

from __future__ import annotations

import signal


def foreground_signals() -> None:
    """Run in the child between fork and exec: SIGINT and SIGQUIT back to their default
    actions (an ignored signal stays ignored across exec; a default one does not)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
