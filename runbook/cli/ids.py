"""Run and lock ids as people type them: whole, a unique prefix, or ``last``.

Ids are long (``20261201T132923Z-tss-url-migration-prod-5f2a``) and copied from
``runbook runs`` into ``report``, ``resume``, ``rollback`` and ``unlock``; a prefix that
names one id is enough, and an ambiguous one is refused with the candidates named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.errors import StateError, UsageError

if TYPE_CHECKING:
    from runbook.store import Store
    from runbook.store.base import LockInfo

LAST = "last"


def _pick(text: str, ids: list[str], what: str, where: str) -> str | None:
    """The one id ``text`` names (whole or as a prefix); None when none matches."""
    if text in ids:
        return text
    matches = sorted(i for i in ids if i.startswith(text))
    if len(matches) > 1:
        raise UsageError(f"{what} {text!r} is the start of {len(matches)} ids in {where}: "
                         f"{', '.join(matches)}; give more of the id")
    return matches[0] if matches else None


def _started_at(store: Store, run_id: str) -> str:
    try:
        events = store.events(run_id)
    except StateError:
        return ""
    return str(events[0].get("at", "")) if events else ""


def resolve_run(store: Store, text: str) -> str:
    """The run id ``text`` names: an id, a unique prefix of one, or ``last`` (the run
    started most recently). An id that matches nothing is returned as given, for the
    store to say there is no such run."""
    ids = list(store.run_ids())
    if text == LAST:
        if not ids:
            raise StateError(f"no runs in {store.url}, so there is no last run. A run kept "
                             "elsewhere (the plan's `state:`, an S3 bucket) needs --state "
                             "LOCATION or RUNBOOK_STATE")
        # Ids start with their UTC start second; runs started in the same second are
        # ordered by their first event's millisecond time.
        newest = max(i[:16] for i in ids)
        tied = [i for i in ids if i[:16] == newest]
        return tied[0] if len(tied) == 1 else max(tied, key=lambda i: _started_at(store, i))
    return _pick(text, ids, "run id", store.url) or text


def resolve_lock(store: Store, text: str, held: list[LockInfo] | None = None) -> str:
    """The lock id ``text`` names among the held locks (``last``: the newest lock)."""
    locks = store.locks() if held is None else held
    if text == LAST:
        if not locks:
            raise StateError(f"no locks held in {store.url}")
        return max(locks, key=lambda i: i.since).lock_id
    return _pick(text, [i.lock_id for i in locks], "lock id", store.url) or text
