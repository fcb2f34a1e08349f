"""What an interrupt says: the step that was under way, what its action holds live, and
what each way out does to it.

A Ctrl-C can land while a step's action is in flight: its intent is journaled, its change
has started, its outcome is not. "Before anything changed" is then false, and an action
that holds the world in a state of its own (``runbook/inflight.py``: a staged CloudFront
change routing 15% of visitors to a staging copy) leaves that state live whichever way the
person chooses. This module turns the run's state (what the journal replays) into the
interrupt menu's question and choices and the sentence the final line and the report add;
the executor asks and journals, the CLI shows. Nothing here knows a kind.
"""

from __future__ import annotations

from typing import Any

from runbook.engine.journal import RunState
from runbook.inflight import Live


def before(word: str = "interrupted") -> str:
    """The message of an interrupt that came before anything changed (``word``: how)."""
    return f"{word} before anything changed"


def in_flight(state: RunState) -> str | None:
    """The step whose intent is journaled and whose outcome is not."""
    rec = state.in_flight
    return rec.step if rec is not None else None


def question(state: RunState) -> str:
    """The menu's question: the step under way and what is live, before the choices."""
    step = in_flight(state)
    if state.rolling_back is not None:
        text = "Interrupted during the rollback" + (
            f", while step {state.undoing} was being rolled back" if state.undoing else "") + "."
    else:
        text = "Interrupted" + (f" while step {step} was under way (between its intent and "
                                "its outcome)" if step else "") + "."
    for name, live in state.live.items():
        text += f" Live now (step {name}): {live.now}."
    return text + " What now?"


def choices(state: RunState) -> list[tuple[str, str]]:
    """Roll back or leave, each saying what it does to what is live."""
    undo = "; ".join(f"step {name} {live.rollback}" for name, live in state.live.items())
    stays = "; ".join(live.leave for live in state.live.values())
    again = "go on with the rollback" if state.rolling_back is not None else \
        "roll back every applied step"
    return [("rollback", again + (f" ({undo})" if undo else "")),
            ("leave", "leave things as they are" + (f": {stays}" if stays else "")
             + " (resume or roll back later)")]


def left(state: RunState, *, run: str | None, word: str = "interrupted") -> str:
    """The interrupted outcome's message when the person leaves things as they are
    (``run``: what the later commands take, the run id with ``--state`` when needed;
    None when no later command can go on, against a throwaway twin; ``word``: how it
    was stopped)."""
    if state.rolling_back is not None:
        return _left_rolling_back(state, run, word)
    step = in_flight(state)
    during = f" while step {step} was under way" if step is not None else ""
    if step is not None and step in state.live:
        # the final line's "still live" sentence names what is live and both commands
        return f"{word}{during}; left as it is"
    applied = list(state.applied)
    what = f" with {len(applied)} step(s) applied ({', '.join(applied)})" if applied else ""
    goes_on = f"; `runbook resume {run}` goes on, `runbook rollback {run}` undoes them" \
        if run is not None and applied else ""
    return f"{word}{during}; left as it is{what}{goes_on}"


def _left_rolling_back(state: RunState, run: str | None, word: str) -> str:
    """Stopped half-way back: only `runbook rollback` goes on (resume refuses: it would
    apply again what the rollback undid)."""
    during = " during the rollback" + (f", while step {state.undoing} was being rolled back"
                                       if state.undoing else "")
    still = list(state.applied)
    what = f" with {len(still)} step(s) still applied ({', '.join(still)})" if still else ""
    goes_on = f"; `runbook rollback {run}` goes on (not resume: it would apply again what " \
        "the rollback undid)" if run is not None and still else ""
    return f"{word}{during}; left as it is{what}{goes_on}"


def still_live(live: dict[str, Live], run: str) -> str:
    """What the final line and the report add while something is live: what, and the two
    commands that end it (``run``: the run id, with ``--state`` when it is needed)."""
    return " ".join(
        f"Still live from step {name}: {one.now}. `runbook rollback {run}` {one.rollback}; "
        f"`runbook resume {run}` {one.resume}." for name, one in live.items())


def rolling_back_json(state: RunState) -> dict[str, str]:
    """The `interrupted` event's fields for an interrupt during a rollback (none else)."""
    if state.rolling_back is None:
        return {}
    return {"rolling_back": state.rolling_back,
            **({"undoing": state.undoing} if state.undoing else {})}


def live_json(live: dict[str, Live]) -> dict[str, dict[str, str]]:
    return {name: one.to_json() for name, one in live.items()}


def live_at_end(state: RunState) -> dict[str, Live]:
    """What a run left live: as its last ``run.finished`` says (the engine knew, at the
    end, whether the world it changed outlives it); while it is unfinished, its notes'."""
    if state.finished is None:
        return dict(state.live)
    said: Any = state.finished.get("live") or {}
    out = {str(k): Live.from_json(v) for k, v in said.items()} if isinstance(said, dict) \
        else {}
    return {k: v for k, v in out.items() if v is not None}
