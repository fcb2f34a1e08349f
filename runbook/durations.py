"""Durations as plans write them: ``90s``, ``5m``, ``1h30m``, ``250ms``; a bare number is
seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


MAX_SECONDS = 7 * 86400.0
"""The longest duration a plan may give: a week. Every wait of a run is bounded, and a
bound keeps arithmetic on durations (deadlines, display) finite."""


def parse_duration(value: Any, *, maximum: float | None = MAX_SECONDS) -> float:
    """Seconds in ``value``; ValueError with a readable reason otherwise. Finite always;
    at most ``maximum`` (a week: every duration of a plan), unless None."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write it like 90s, 5m or 1h30m")
    if isinstance(value, int | float):
        if value != value:  # NaN (`.nan` in YAML) compares unequal to itself
            raise ValueError(f"{value!r} is not a duration; write it like 90s, 5m or 1h30m")
        if value < 0:
            raise ValueError(f"a duration cannot be negative ({_short(value)})")
        return _bounded(value, value, maximum)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration; write it like 90s, 5m or 1h30m")
    text = value.strip().replace(" ", "")
    pos = 0
    total = 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; write it like 90s, 5m or 1h30m")
    return _bounded(total, value, maximum)


def _bounded(seconds: float | int, written: Any, maximum: float | None) -> float:
    # compare before float(): an int of 400 digits overflows a float
    infinite = seconds == float("inf") or seconds > 1e300
    if infinite or (maximum is not None and seconds > maximum):
        what = "an infinite number" if seconds == float("inf") else _short(written)
        limit = f"at most {format_duration(maximum)}" if maximum is not None \
            else "it must be finite"
        if maximum == MAX_SECONDS:
            limit = "at most a week (7d)"
        raise ValueError(f"{what} is too long for a duration; {limit}")
    return float(seconds)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def format_duration(seconds: float) -> str:
    if seconds < 1 and seconds > 0:
        return f"{int(seconds * 1000)}ms"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec or not s else "")
    return out


DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
              {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?\s*(ms|s|m|h|d)\s*)+$"}],
    "description": "a duration: 90s, 5m, 1h30m (a bare number is seconds)",
}

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(DURATION_SCHEMA),
]
