"""Counting in messages, through the one helper and through a line a person reads."""

from __future__ import annotations

from runbook.cli.report import _line
from runbook.words import count, plural


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert count(1, "round") == "1 round"
    assert count(0, "round") == "0 rounds"
    assert count(7, "round") == "7 rounds"
    assert count(2, "alias", "aliases") == "2 aliases"
    assert count(1234, "line", sep=",") == "1,234 lines"
    assert plural(1, "environment") == "environment"
    assert plural(3, "alias", "aliases") == "aliases"


def test_a_soak_of_one_round_reads_as_one_round() -> None:
    assert _line({"type": "soak", "stage": "go", "rounds": 1, "ok": True}) == \
        "stage `go` soaked: 1 round passed"
    assert _line({"type": "soak", "stage": "go", "rounds": 7, "ok": True}) == \
        "stage `go` soaked: 7 rounds passed"
