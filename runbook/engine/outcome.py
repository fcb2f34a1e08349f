"""What a run is asked to do and how it ended: the executor's small shared types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from runbook.errors import RunbookError
from runbook.kinds.base import Diff
from runbook.plan.model import Stage, Step

# Exit codes of a run (docs/plan-format.md): 0 every step applied and verified; 1 stopped
# and every applied step rolled back; 2 bad input, nothing changed; 3 a person must look;
# 4 finished, but some step(s) were skipped and so not verified; 130 interrupted (Ctrl-C);
# 143 and 129 interrupted by SIGTERM and SIGHUP (128 + the signal's number, as a shell
# reports it: errors.Terminated), left as it is.
OK, ROLLED_BACK, BAD_INPUT, LOOK, SKIPPED, INTERRUPTED = 0, 1, 2, 3, 4, 130
# How a run ended (the journal's run.finished "outcome"); only "succeeded" is a rehearsal.
SUCCEEDED, WITH_SKIPS = "succeeded", "finished_with_skips"
ROLLED_BACK_OUTCOMES = ("rolled_back", "rolled_back_unproved")
# A run that ended one of these ways has nothing left to resume.
FINISHED = (SUCCEEDED, WITH_SKIPS, *ROLLED_BACK_OUTCOMES, "declined")
FailureMode = Literal["ask", "rollback", "stop"]


@dataclass(frozen=True)
class RunOptions:
    yes: bool = False
    step_mode: bool = False
    start_at: str | None = None
    on_failure: FailureMode = "ask"


@dataclass(frozen=True)
class Answers:
    """What a person says before being asked: whether an interrupted step ran.

    A step killed between its intent and its outcome whose kind keeps no snapshot cannot
    be decided from the evidence. In a terminal, resume and rollback ask "Did it run?";
    without one, ``--assume STEP=ran|not-run --reason TEXT`` gives the answer ahead. Both
    are journaled as a ``decision`` with who gave it (``by``).
    """

    ran: Mapping[str, bool] = field(default_factory=dict)  # step id -> it ran
    reason: str = ""
    by: Mapping[str, Any] = field(default_factory=dict)  # Identity.to_json() of the person


@dataclass(frozen=True)
class Preview:
    """What a step's action would change, for gates and dry runs."""

    step: Step
    description: str
    diff: Diff | None = None
    waiting_for: str | None = None  # "the output of step alias": cannot be known yet
    error: str | None = None
    cause: RunbookError | None = field(default=None, compare=False)  # the error, whole


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
    # A rollback that stopped: the steps still applied (in apply order) and the command
    # that goes on once a person has looked.
    still_applied: tuple[str, ...] = ()
    next_command: str | None = None
    journaled: bool = True  # False: nothing ran, so no run.finished event shows it


class Stop(Exception):
    """Ends the walk of a plan with this outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
