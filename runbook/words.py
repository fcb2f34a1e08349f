"""Counting in messages: "1 round", "2 rounds". One helper, so no message says
"1 rounds" and no module spells its own plural rule."""

from __future__ import annotations


def count(n: int, noun: str, plural_form: str | None = None, *, sep: str = "") -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1 (``plural_form`` for
    the irregular ones, default noun + "s"); ``sep=","`` writes thousands as 1,234."""
    return f"{n:{sep}} {plural(n, noun, plural_form)}"


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``noun`` alone, in the plural unless ``n`` is 1 (when the count is said elsewhere)."""
    return noun if n == 1 else (plural_form or noun + "s")
