"""A Ctrl-C that comes while the live view draws is delivered once the drawing is done."""

from __future__ import annotations

import os
import signal

import pytest

from runbook.cli.drawing import whole


def test_an_interrupt_inside_a_drawing_comes_after_it():
    drawn: list[str] = []

    @whole
    def draw() -> None:
        drawn.append("started")
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C mid-drawing
        drawn.append("finished")

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            draw()
        assert drawn == ["started", "finished"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_without_an_interrupt_it_only_draws():
    @whole
    def draw() -> str:
        return "drawn"

    assert draw() == "drawn"
