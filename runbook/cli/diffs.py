"""A changed value as the operator approves it: whole, never cut inside.

A short one-line value reads ``old -> new``. A long, multi-line or structured value is
an indented block: pretty JSON (or the text's own lines), ``-`` for what goes, ``+`` for
what comes, and runs of unchanged lines folded into one ``(N unchanged lines)`` line, so
the eye lands on the change and nothing it approves is elided inside a value.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

INLINE = 60  # a value longer than this (as one line) gets a block
CONTEXT = 2  # unchanged lines kept around each change


def one_line(value: Any) -> str:
    """The value on one line, whole: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines() or [""]
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


def inline(old: Any, new: Any) -> bool:
    """Whether ``old -> new`` fits on one line without cutting either value."""
    a, b = one_line(old), one_line(new)
    return "\n" not in a + b and len(a) <= INLINE and len(b) <= INLINE


@dataclass(frozen=True)
class Line:
    """One line of a block: ``sign`` is "-", "+", " " (context) or "~" (a fold)."""

    sign: str
    text: str


def block(old: Any, new: Any, context: int = CONTEXT) -> list[Line]:
    """The change from ``old`` to ``new`` as lines; a value that is new or gone is shown
    whole, one that changed shows its changes with ``context`` lines around them."""
    if old is None:
        return [Line("+", t) for t in _lines(new)]
    if new is None:
        return [Line("-", t) for t in _lines(old)]
    a, b = _lines(old), _lines(new)
    out: list[Line] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    opcodes = matcher.get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = a[i1:i2]
            head = same[:context] if n > 0 else []
            tail = same[-context:] if n < len(opcodes) - 1 else []
            if len(head) + len(tail) >= len(same):
                out += [Line(" ", t) for t in same]
                continue
            out += [Line(" ", t) for t in head]
            folded = len(same) - len(head) - len(tail)
            out.append(Line("~", f"({folded} unchanged line{'s' * (folded != 1)})"))
            out += [Line(" ", t) for t in tail]
        else:
            out += [Line("-", t) for t in a[i1:i2]]
            out += [Line("+", t) for t in b[j1:j2]]
    return out


def plain(old: Any, new: Any, indent: str = "") -> list[str]:
    """The change as plain text lines (reports, logs)."""
    if inline(old, new):
        return [f"{indent}{one_line(old)} -> {one_line(new)}"]
    return [f"{indent}{ln.sign} {ln.text}" if ln.sign != "~" else f"{indent}  {ln.text}"
            for ln in block(old, new)]
