"""One line of English for a check or action spec, for gates, `show` and reports."""

from __future__ import annotations

from typing import Any

from runbook import kinds
from runbook.durations import format_duration
from runbook.plan.model import ActionSpec, CheckSpec
from runbook.plan.template import for_display


def build(spec: CheckSpec | ActionSpec, params: dict[str, Any] | None = None) -> Any:
    """An instance of the spec's kind with ``params`` (default: the spec's own)."""
    cls: Any = kinds.check(spec.kind) if isinstance(spec, CheckSpec) else kinds.action(spec.kind)
    if cls is None:
        raise LookupError(spec.kind)
    return cls(cls.Params.model_validate(params if params is not None else spec.params),
               spec.source)


def describe(spec: CheckSpec | ActionSpec) -> str:
    """The kind's own description of the spec, secrets masked; a plain fallback if the
    parameters still hold references only a run can fill."""
    if isinstance(spec, CheckSpec) and spec.name:
        text = spec.name
    else:
        try:
            text = build(spec, for_display(spec.params)).describe()
        except Exception:  # params with ${steps...} may not validate until run time
            text = f"{spec.kind} {for_display(spec.params)}"
    return str(text) + polling(spec)


def polling(spec: CheckSpec | ActionSpec) -> str:
    """`` (within 5m, every 10s)`` for a check that polls; empty otherwise."""
    if isinstance(spec, CheckSpec) and spec.within:
        return f" (within {format_duration(spec.within)}, every {format_duration(spec.every)})"
    return ""
