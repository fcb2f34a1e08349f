"""Where run state lives: a ``Store`` holds runs (plan, events, files) and locks.

The executor writes run state only through a Store, so that a local folder (default
``.runbook/``, :mod:`runbook.store.local`) and an S3 prefix (:mod:`runbook.store.s3`)
are interchangeable. Events are appended one at a time and
each append is durable before it returns: a run killed at any instant is resumable from
what the store holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from runbook.store.base import DEFAULT_LOCATION, LockInfo, Store, no_run, state_option

__all__ = ["DEFAULT_LOCATION", "LockInfo", "Store", "no_run", "open_store", "resolve_location",
           "state_option"]


def resolve_location(option: str | None, *, plan_state: str | None = None,
                     plan_dir: Path | None = None) -> str:
    """Where state lives: ``--state``, then the plan's ``state:``, then $RUNBOOK_STATE
    (or the older $RUNBOOK_STATE_DIR), then ``.runbook``.

    A plan that names its state wins over the environment variable: it is the team's
    contract, and a variable left over in someone's shell must not split the locks. A
    relative folder in ``state:`` is relative to the plan's folder.
    """
    if option:
        return option
    if plan_state:
        if plan_state.startswith("s3://") or plan_dir is None or Path(plan_state).is_absolute():
            return plan_state
        return str(plan_dir / plan_state)
    return (os.environ.get("RUNBOOK_STATE") or os.environ.get("RUNBOOK_STATE_DIR")
            or DEFAULT_LOCATION)


def open_store(location: str | None, *, plan_state: str | None = None,
               plan_dir: Path | None = None) -> Store:
    """The store for a location (see :func:`resolve_location`): ``s3://bucket/prefix``
    or a folder."""
    where = resolve_location(location, plan_state=plan_state, plan_dir=plan_dir)
    if where.startswith("s3://"):
        from runbook.store.s3 import S3Store

        return S3Store(where)
    if "://" in where:
        from runbook.errors import UsageError

        raise UsageError(f"state location {where!r}: give a folder or s3://bucket/prefix")
    from runbook.store.local import LocalStore

    return LocalStore(where)
