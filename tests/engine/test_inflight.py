"""What a step holds live, replayed from its journal (runbook/inflight.py): the last note's
``live`` field of the step, ended by its ``applied`` outcome, a rollback or a cleared note;
and what a finished run left live is what its ``run.finished`` says."""

from __future__ import annotations

from typing import Any

from runbook.engine.interrupt import choices, live_at_end, question, still_live
from runbook.engine.journal import replay
from runbook.inflight import Live

SPLIT = Live(now="visitors are split", leave="visitors stay split",
             rollback="pulls the traffic back", resume="runs every phase again")


def _events(*tail: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"seq": 1, "type": "run.started", "run_id": "r"},
            {"seq": 2, "type": "intent", "step": "switch", "snapshot": {"a": 1}},
            {"seq": 3, "type": "note", "step": "switch", "text": "phase 2",
             "data": {"phase": 2, "live": SPLIT.to_json()}},
            *tail]


def test_the_last_note_of_an_in_flight_step_is_what_is_live():
    state = replay(_events({"seq": 4, "type": "note", "step": "switch", "text": "passed",
                            "data": {"passed": True}}))
    assert state.live == {"switch": SPLIT}  # a note without `live` changes nothing
    assert question(state) == ("Interrupted while step switch was under way (between its "
                               "intent and its outcome). Live now (step switch): visitors "
                               "are split. What now?")
    assert choices(state) == [
        ("rollback", "roll back every applied step (step switch pulls the traffic back)"),
        ("leave", "leave things as they are: visitors stay split (resume or roll back "
                  "later)")]
    assert live_at_end(state) == {"switch": SPLIT}  # unfinished: what its notes say


def test_applied_a_rollback_or_a_cleared_note_ends_it():
    for end in ({"seq": 4, "type": "applied", "step": "switch", "outputs": {}},
                {"seq": 4, "type": "rollback.verified", "step": "switch"},
                {"seq": 4, "type": "note", "step": "switch", "text": "pulled back",
                 "data": {"live": None}}):
        assert replay(_events(end)).live == {}, end


def test_a_finished_run_left_live_what_its_run_finished_says():
    left = _events({"seq": 4, "type": "run.finished", "outcome": "interrupted",
                    "live": {"switch": SPLIT.to_json()}})
    assert live_at_end(replay(left)) == {"switch": SPLIT}
    # a throwaway twin's run: its notes said split, but the twin is gone with the process
    gone = _events({"seq": 4, "type": "run.finished", "outcome": "interrupted"})
    assert live_at_end(replay(gone)) == {}
    assert still_live({"switch": SPLIT}, "--state s r") == (
        "Still live from step switch: visitors are split. `runbook rollback --state s r` "
        "pulls the traffic back; `runbook resume --state s r` runs every phase again.")


def test_nothing_under_way_asks_as_before():
    state = replay([{"seq": 1, "type": "run.started"},
                    {"seq": 2, "type": "intent", "step": "a", "snapshot": {}},
                    {"seq": 3, "type": "applied", "step": "a", "outputs": {}}])
    assert question(state) == "Interrupted. What now?"
    assert choices(state)[1] == ("leave", "leave things as they are (resume or roll back "
                                          "later)")
