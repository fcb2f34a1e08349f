"""Plan time and real time, told apart.

Against a sandbox twin, a plan second lasts ``time_scale`` real seconds (0.01 by default:
a 25-minute `within` passes in 15 s), and checks count their failing time on that clock.
A figure in plan seconds is labelled as such, with the real time beside it, so that "5m of
waiting" in a 17-second rehearsal is not read as real time.
"""

from __future__ import annotations

from typing import Any

from runbook.durations import format_duration


def scale_of(started: dict[str, Any]) -> float | None:
    """The run's time scale (from its run.started event), or None when time was real."""
    scale = started.get("time_scale")
    if not isinstance(scale, int | float) or scale <= 0 or scale == 1:
        return None
    return float(scale)


def faster(scale: float) -> str:
    return f"the sandbox runs plan time {1 / scale:g}x faster"


def plan_time(seconds: float, scale: float | None) -> str:
    """``seconds`` of plan time as words: labelled, with the real time, when scaled."""
    if scale is None:
        return format_duration(seconds)
    return (f"{format_duration(seconds)} of plan time ({format_duration(seconds * scale)} "
            f"real: {faster(scale)})")
