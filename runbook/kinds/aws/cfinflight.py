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
               weight: float | None, idle: float | None, pending: bool = False
               ) -> dict[str, str]:
    """A phase's traffic set: the header phase (``header``: "NAME: value") or a weight;
    ``pending``: written before the policy update, which may or may not have landed."""
    if header is not None:
        return Live(now=f"only requests carrying {header} reach the staging copy {staging} "
                        f"of {primary} (continuous deployment policy {policy}); every "
                        "visitor is on the primary's own configuration",
                    leave="visitors stay on the primary; the staging copy and its policy stay",
                    rollback=pull_back(primary), resume=AGAIN).to_json()
    sticky = f", sessions sticky for {format_duration(idle)} idle" if idle else ""
    share = (f"{weight or 0:.0%} of requests to {primary} go to its staging copy {staging} "
             f"(continuous deployment policy {policy}{sticky})")
    if pending:
        return Live(now=f"visitors may be split: the policy was being updated so that {share}",
                    leave="visitors stay as the policy has them (split, if its update landed)",
                    rollback=pull_back(primary), resume=AGAIN).to_json()
    return Live(now=f"visitors are split: {share}", leave="visitors stay split",
                rollback=pull_back(primary), resume=AGAIN).to_json()


def live_promoted(primary: str, staging: str) -> dict[str, str]:
    """Promoted, not cleaned up yet."""
    return Live(now=f"{primary} serves the promoted configuration to every visitor; its "
                    f"staging copy {staging} and the policy are not cleaned up yet",
                leave="the promoted configuration stays; so do the staging copy and the policy",
                rollback=f"writes {primary}'s snapshot back (promotion undone) and deletes "
                         "the policy and the staging copy",
                resume="finishes the clean-up (the policy detached and deleted, the staging "
                       "copy deleted), then goes on with the plan").to_json()


def live_promoting(primary: str, staging: str) -> dict[str, str]:
    """Written before UpdateDistributionWithStagingConfig: an interrupt from here on may
    find the promotion made or not, and restore reads which from AWS."""
    return Live(now=f"{primary} is being promoted: it takes the configuration of its staging "
                    f"copy {staging} and deploys it to every visitor",
                leave="the promotion stays as AWS has it (made and deploying, or not yet "
                      "made); the staging copy and the policy stay",
                rollback=f"puts {primary}'s own configuration back: the promotion undone if "
                         "it went through (its snapshot written back), else the traffic "
                         "pulled back; the policy and the staging copy deleted",
                resume="finishes the clean-up if the promotion went through; if it did not, "
                       + AGAIN).to_json()
