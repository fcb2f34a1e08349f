"""The one way the engine calls a kind's action: ``kind_call``.

A kind translates the errors it expects (AWS's, the network's) into runbook's own error
tree, with the plan line. Anything else it raises (a ``KeyError``, a ``TypeError``) is a
bug in the kind; it must still end as a journaled failure naming the step, never as an
exception that leaves a journal without an outcome. So every call into an action goes
through ``kind_call``: the gate's and the dry run's preview (snapshot, diff), the snapshot
before apply, apply, restore and the rollback's undo actions, the drift guard,
``restored`` (the proof), the settling of an interrupted step (snapshot, ``recover``).
Each caller handles ``RunbookError`` as the failure of its phase (``failed``,
``rollback.failed``, a preview's error); an interrupt (Ctrl-C) goes through untouched.
Checks have their own net (``executor._safe``: a check's bug is a failed check).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from runbook.errors import RunbookError
from runbook.plan.model import ActionSpec

T = TypeVar("T")

# The step and phase of the action call under way: ``RunContext.note`` journals a kind's
# milestone under them (``Executor.note``).
CALLING: ContextVar[tuple[str, str] | None] = ContextVar("CALLING", default=None)


class KindBugError(RunbookError):
    """A kind raised an exception that is not one of runbook's errors."""

    exit_code = 3


def kind_call(step: str, spec: ActionSpec, phase: str, fn: Callable[[], T]) -> T:
    """``fn()``; any exception but runbook's own and an interrupt becomes a KindBugError
    naming the step, the kind and the phase, with the plan line of the action."""
    token = CALLING.set((step, phase))
    try:
        return fn()
    except RunbookError:
        raise
    except Exception as exc:  # KeyboardInterrupt is no Exception: an interrupt goes through
        raise KindBugError(
            f"step {step}: {spec.kind} raised {type(exc).__name__} in {phase}: {exc} (a bug "
            "in the kind, not an answer from what it manages)", source=spec.source) from exc
    finally:
        CALLING.reset(token)
