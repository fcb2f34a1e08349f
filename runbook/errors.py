"""The exception tree of runbook.

Everything a person can be told about goes through one of these; third-party
exceptions (boto3, dnspython, httpx, ruamel.yaml) are translated at the boundary
with ``raise Ours(...) from exc`` and never escape untranslated.

    RunbookError                 base: has ``message`` and optional ``source``; exit_code
    ├── PlanError                the plan is wrong (exit 2); carries every Problem at once
    ├── UsageError               a wrong option or argument (exit 2)
    ├── KindError                a check or action could not do its work (translated)
    │   ├── AwsError             an AWS API error: names the operation and resource
    │   └── NetworkError         DNS / HTTP / TLS transport trouble
    │       └── WireError        a request the wire kinds could not make, with its outcome
    ├── StateError               the journal or run store is unusable
    │   ├── LockHeldError        another run holds the plan+environment lock
    │   └── NoSuchRunError       a run id the store does not hold
    └── RefusedError             a guard refused to start (digest, rehearsal, protected env)

    KeyboardInterrupt
    └── Terminated               SIGTERM or SIGHUP: an interrupt nobody can answer
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from runbook.source import Source
from runbook.words import count

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a plan, with where it is."""

    message: str
    source: Source | None = None
    severity: Severity = "error"
    hint: str | None = None

    def __str__(self) -> str:
        text = self.message.rstrip(".")
        if self.hint:
            text += f"; {self.hint.rstrip('.')}"
        if self.source is not None:
            text += f" — {self.source}"
        return text


class RunbookError(Exception):
    """Base of runbook's own errors. ``str(err)`` is the one paragraph a person reads."""

    exit_code: int = 2

    def __init__(self, message: str, *, source: Source | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        if self.source is None:
            return self.message
        return f"{self.message.rstrip('.')} — {self.source}"


class PlanError(RunbookError):
    """A plan (or library step) that cannot be used; lists every problem found."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{count(len(errors), 'problem')} in the plan"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))

    def __str__(self) -> str:
        return self.message

    @classmethod
    def single(
        cls, message: str, source: Source | None = None, hint: str | None = None
    ) -> PlanError:
        return cls([Problem(message, source, "error", hint)])


class UsageError(RunbookError):
    exit_code = 2


class KindError(RunbookError):
    """A check or action could not do its work (not: a check that ran and found a mismatch)."""

    exit_code = 3

    @property
    def missing(self) -> str | None:
        """The resource it found missing ("bucket acme-docs-v2"), when that is why: the
        dry run then looks for an earlier step that creates it."""
        return None


class AwsError(KindError):
    pass


class NetworkError(KindError):
    pass


class StateError(RunbookError):
    exit_code = 3


class LockHeldError(StateError):
    exit_code = 2


class NoSuchRunError(StateError):
    """A run id the store does not hold: bad input, nothing was touched."""

    exit_code = 2


class RefusedError(RunbookError):
    exit_code = 2


@dataclass
class ProblemList:
    """Collects problems while loading so that all are reported at once."""

    items: list[Problem] = field(default_factory=list)

    def error(self, message: str, source: Source | None, hint: str | None = None) -> None:
        self.items.append(Problem(message, source, "error", hint))

    def warn(self, message: str, source: Source | None, hint: str | None = None) -> None:
        self.items.append(Problem(message, source, "warning", hint))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise PlanError(sorted(self.items, key=_order))


def _order(p: Problem) -> tuple[int, str, int, int]:
    s = p.source
    return (0 if p.severity == "error" else 1, s.file if s else "", s.line if s else 0,
            s.column if s else 0)


class Terminated(KeyboardInterrupt):
    """An interrupt nobody can answer: the process was told to stop (SIGTERM from a CI
    runner's cancel, systemd, `timeout`, `kill`; SIGHUP when its terminal or SSH session
    went away). The CLI raises it from its signal handler; a shell step passes it on to
    its command; the run journals it as an interrupt and leaves things as they are
    without asking (a menu would hold the process until it is killed outright). It exits
    128 + the signal's number, as a shell reports it: 143 for SIGTERM, 129 for SIGHUP."""

    def __init__(self, name: str = "SIGTERM") -> None:
        super().__init__(name)
        self.signal = name
        self.word = f"terminated ({name})"
        self.exit_code = 128 + int(signal.Signals[name])
