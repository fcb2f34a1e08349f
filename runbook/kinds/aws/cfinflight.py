"""What a staged change (``cloudfront.staged_update``) holds live while it is under way, in
the words the interrupt menu, the final line and the report use (``runbook/inflight.py``).

``resume`` is said as ``StagedUpdate.recover`` does it: before promotion it runs ``apply``
again, which finds the staging copy and sets the policy back to the header phase first;
after promotion it finishes the clean-up. ``rollback`` is said as ``restore`` does it.
"""

from __future__ import annotations

from runbook.durations import format_duration
from runbook.inflight import Live

AGAIN = ("finds the staging copy and runs the schedule again from phase 1, the header phase "
         "(visitors back on the primary first), with every phase's hold, checks and gate, "
         "then promotes, cleans up and goes on with the plan")


def pull_back(primary: str) -> str:
    return ("pulls the traffic back: the policy disabled first (every request on "
            f"{primary}'s own configuration at once), then detached and deleted, and the "
            f"staging copy deleted; {primary}'s configuration is never replaced")


def live_copy(primary: str, staging: str) -> dict[str, str]:
    """The staging copy made, no policy yet."""
    return Live(now=f"the staging copy {staging} of {primary} exists with the change; no "
                    f"request reaches it (every visitor is on {primary}'s own configuration)",
                leave="every visitor stays on the primary; the staging copy stays",
                rollback=f"deletes the staging copy; {primary}'s configuration is never "
                         "replaced",
                resume=AGAIN).to_json()


def live_phase(primary: str, staging: str, policy: str, *, header: str | None,
               weight: float | None, idle: float | None) -> dict[str, str]:
    """A phase's traffic set: the header phase (``header``: "NAME: value") or a weight."""
    if header is not None:
        return Live(now=f"only requests carrying {header} reach the staging copy {staging} "
                        f"of {primary} (continuous deployment policy {policy}); every "
                        "visitor is on the primary's own configuration",
                    leave="visitors stay on the primary; the staging copy and its policy stay",
                    rollback=pull_back(primary), resume=AGAIN).to_json()
    sticky = f", sessions sticky for {format_duration(idle)} idle" if idle else ""
    return Live(now=f"visitors are split: {weight or 0:.0%} of requests to {primary} go to "
                    f"its staging copy {staging} (continuous deployment policy "
                    f"{policy}{sticky})",
                leave="visitors stay split", rollback=pull_back(primary),
                resume=AGAIN).to_json()


def live_promoted(primary: str, staging: str) -> dict[str, str]:
    """Promoted, not cleaned up yet."""
    return Live(now=f"{primary} serves the promoted configuration to every visitor; its "
                    f"staging copy {staging} and the policy are not cleaned up yet",
                leave="the promoted configuration stays; so do the staging copy and the policy",
                rollback=f"writes {primary}'s snapshot back (promotion undone) and deletes "
                         "the policy and the staging copy",
                resume="finishes the clean-up (the policy detached and deleted, the staging "
                       "copy deleted), then goes on with the plan").to_json()
