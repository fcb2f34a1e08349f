"""The interface every check and action kind implements.

A kind is a class with a ``kind`` name ("http.get"), a pydantic ``Params`` model that
validates its arguments (``runbook validate`` runs it on every step), and methods that
the executor calls; the executor, never the kind, decides when. Kinds never print and
never prompt: progress goes through ``ctx.progress`` and a person through ``ctx.operator``.

Checks are read-only and say what they saw::

    class Check:  run(ctx) -> CheckResult

A check may also read a ``baseline(ctx)`` when its stage starts; the executor journals
it and hands it back as ``check.before`` on every later ``run`` of that stage.

Actions change one thing and can put it back::

    snapshot(ctx) -> Snapshot              read-only: the state apply will change
    diff(ctx, snapshot) -> Diff            what apply would change, field by field
    apply(ctx, snapshot) -> Outputs        make the change; wait until it is live
    restore(ctx, snapshot, applied)        put back what snapshot recorded
    drifted(ctx, applied) -> str | None    has someone else changed it since apply?
    unchanged(before, now) -> bool         do two snapshots record the same state?
    restored(ctx, snapshot, applied)       None once the world reads back as the snapshot,
                                           else what still differs (the rollback proof)

``provable()`` is False when the snapshot records nothing to compare with (a shell
action without ``state``, a manual step): rollback then reports "undone, not proved",
and a crash between intent and outcome cannot be settled without a person.

Snapshots, outputs and observations are JSON-able dicts: they go into the journal, from
which a killed run is resumed or rolled back by another process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from runbook.kinds.sets import SetRules, in_set_order
from runbook.source import Source

if TYPE_CHECKING:
    from runbook.context import RunContext

Snapshot = dict[str, Any]
Outputs = dict[str, Any]


class Params(BaseModel):
    """Base of every kind's parameter model: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class CheckResult:
    """What a check saw.

    ``summary`` is one line for a person ("200 from https://x/, 'TIS' found"; on failure,
    why: "expected 200, got 403"). ``observed`` is the data behind it for the journal and
    report. ``outcome`` names the result for machines: "ok", "mismatch", "nxdomain",
    "servfail", "timeout", "unreachable", "error", ...
    """

    ok: bool
    summary: str
    observed: dict[str, Any] = field(default_factory=dict)
    outcome: str = ""

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", "ok" if self.ok else "mismatch")

    # ``summary`` and ``outcome`` are positional-only so that what a check saw may have
    # keys of those names: ``failed("...", "timeout", **seen)`` with "outcome" in seen.

    @classmethod
    def passed(cls, summary: str, /, **observed: Any) -> CheckResult:
        return cls(True, summary, dict(observed), "ok")

    @classmethod
    def failed(cls, summary: str, outcome: str = "mismatch", /,
               **observed: Any) -> CheckResult:
        return cls(False, summary, dict(observed), outcome)


@dataclass(frozen=True)
class Change:
    """One field an action would change: ``path`` like "Origins[0].OriginPath"."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Diff:
    """What apply would change. Empty ``changes`` means apply is a no-op.

    ``note`` says anything a reviewer must know that is not a field ("waits up to 25m
    for the distribution to deploy", "depends on the output of step alias").
    """

    changes: tuple[Change, ...] = ()
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": [{"path": c.path, "old": c.old, "new": c.new} for c in self.changes],
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Diff:
        return cls(
            tuple(Change(c["path"], c.get("old"), c.get("new")) for c in data.get("changes", [])),
            data.get("note"),
        )



class Kind(ABC, Generic[P]):
    """Common part of checks and actions: a name, typed params, the plan line."""

    kind: ClassVar[str]
    Params: ClassVar[type[Params]]
    summary: ClassVar[str] = ""  # one line for `runbook kinds`
    # It calls AWS: a plan that uses it proves its AWS settings (STS) before it starts.
    uses_aws: ClassVar[bool] = False

    def __init__(self, params: P, source: Source | None = None) -> None:
        self.params: P = params
        self.source = source

    @abstractmethod
    def describe(self) -> str:
        """One line of English: "https://x/ answers 200 and contains 'TIS'"."""


class Check(Kind[P]):
    role: ClassVar[str] = "check"
    # What ``baseline`` read when the stage began (from the journal on resume); the
    # executor sets it before every ``run``. None: the kind takes no baseline, or none
    # could be taken.
    before: dict[str, Any] | None = None

    def baseline(self, ctx: RunContext) -> dict[str, Any] | None:
        """Read-only: what to remember when the stage starts, for ``run`` to compare with
        (``cloudfront.metrics``: the error rate in the window before the change). The
        executor journals it, so a resumed run compares with the same baseline. Default:
        None, the check keeps nothing."""
        return None

    @abstractmethod
    def run(self, ctx: RunContext) -> CheckResult:
        """Look, never touch. Expectations not met: a failed CheckResult, not an exception.
        Raise KindError only when the check could not be asked at all (bad credentials)."""


class Action(Kind[P]):
    role: ClassVar[str] = "action"
    # name -> description, for ${steps.ID.NAME}; validated at plan load time.
    outputs: ClassVar[Mapping[str, str]] = {}
    # False for actions with nothing to undo (invalidate, wait, manual): rollback skips them.
    reversible: ClassVar[bool] = True
    # Why there is nothing to restore, for irreversible kinds (shown in plans and reports).
    irreversible_reason: ClassVar[str] = ""
    # True for actions that change nothing in the world (wait): no post checks needed.
    read_only: ClassVar[bool] = False
    # Lists in the snapshot that AWS keeps as sets (kinds/sets.py): compared in one order.
    sets: ClassVar[SetRules] = {}

    @classmethod
    def auto_rollback_gap(cls, params: Mapping[str, Any]) -> str | None:
        """Why ``rollback: auto`` would restore nothing for these params (a lint warning)."""
        return None

    @abstractmethod
    def snapshot(self, ctx: RunContext) -> Snapshot:
        """Read-only: record the state apply will change, enough for restore."""

    @abstractmethod
    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        """What apply would change compared with ``snapshot``. Read-only."""

    @abstractmethod
    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """Make the change and wait until it is live. Returns the declared outputs."""

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """The outputs apply would have returned, read from the world. Resume calls this
        when a run died after the change but before its outputs were journaled. Default:
        none (later ``${steps.ID.NAME}`` references to this step then fail clearly)."""
        return {}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        """Put back what ``snapshot`` recorded. Default: nothing (for irreversible kinds)."""
        return

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        """None if the resource is still as apply left it; else one line saying what differs."""
        return None

    def provable(self) -> bool:
        """Does the snapshot record the state apply changes, so that re-reading it proves
        a restore (and tells whether an interrupted apply happened)?"""
        return True

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        """Do two snapshots record the same state? Kinds whose snapshot carries a version
        stamp (an ETag that every write changes) compare without it. Lists named in
        ``sets`` compare as sets."""
        return bool(in_set_order(before, self.sets) == in_set_order(now, self.sets))

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        """The rollback proof: re-read the resource and compare it with ``snapshot``.
        None when it reads back as it was before the change; else what still differs."""
        now = self.snapshot(ctx)
        if self.unchanged(snapshot, now):
            return None
        where, then, seen = first_difference(in_set_order(snapshot, self.sets),
                                             in_set_order(now, self.sets))
        return f"{where or 'the state'} reads {_short(seen)}, not {_short(then)} as before"


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any]:
    """The first place two JSON-able values differ: (path, value in a, value in b)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return first_difference(a.get(key), b.get(key),
                                        f"{path}.{key}" if path else str(key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return path, a, b


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


AnyKind = type[Check[Any]] | type[Action[Any]]
