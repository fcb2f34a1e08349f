"""What a run is asked to do and how it ended: the executor's small shared types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from runbook.kinds.base import Diff
from runbook.plan.model import Stage, Step

# Exit codes of a run (docs/plan-format.md)
OK, ROLLED_BACK, BAD_INPUT, LOOK, INTERRUPTED = 0, 1, 2, 3, 130
FailureMode = Literal["ask", "rollback", "stop"]


@dataclass(frozen=True)
class RunOptions:
    yes: bool = False
    step_mode: bool = False
    start_at: str | None = None
    on_failure: FailureMode = "ask"


@dataclass(frozen=True)
class Preview:
    """What a step's action would change, for gates and dry runs."""

    step: Step
    description: str
    diff: Diff | None = None
    waiting_for: str | None = None  # "the output of step alias": cannot be known yet
    error: str | None = None


class Display(Protocol):
    def progress(self, text: str) -> None: ...

    def gate(self, stage: Stage, previews: list[Preview]) -> None: ...


class NullDisplay:
    def progress(self, text: str) -> None:
        return None

    def gate(self, stage: Stage, previews: list[Preview]) -> None:
        return None


@dataclass
class Outcome:
    exit_code: int
    outcome: str
    message: str


class Stop(Exception):
    """Ends the walk of a plan with this outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
