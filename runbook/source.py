"""Where a node of a plan came from: every error about a plan ends with one of these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Source:
    """A position in a plan or library file. ``line`` and ``column`` are 1-based."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.column <= 0:
            return f"{self.file}, line {self.line}"
        return f"{self.file}, line {self.line}, column {self.column}"


UNKNOWN = Source("<unknown>")
