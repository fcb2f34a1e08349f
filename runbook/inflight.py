"""What a step's action leaves live while it is under way: the ``live`` field of a note.

Most actions change the world in one call, so that between their intent and their outcome
there is nothing for a person to know. A few hold the world in a state of their own for
a while: a staged CloudFront change routes 15% of visitors to a staging copy for its hold
time. When such a run is interrupted, or stopped, the person must be told what is live
and what each way out does to it. The action says so as it goes, in the note it writes at
each milestone (``ctx.note(text, live=Live(...).to_json())``), and clears it
(``live=None``) once nothing of the kind is left; the engine reads the last one back from
the journal for the interrupt menu, the final line and the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Live:
    """Each field is a clause a sentence is built around, in the action's words."""

    now: str  # what is live: "visitors are split: 15% of requests to E1 go to ..."
    leave: str  # what leaving it as it is means: "visitors stay split"
    rollback: str  # what `runbook rollback` does to it: "pulls the traffic back: ..."
    resume: str  # what `runbook resume` does with it: "runs every phase again ..."

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Live | None:
        """The ``live`` field of a note read back; None when it is cleared or not one."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(**{k: str(data[k]) for k in ("now", "leave", "rollback", "resume")})
        except KeyError:
            return None
