"""The person at the keyboard.

``TerminalOperator`` asks through questionary; only an explicit yes is yes (questionary
returns None on Ctrl-C). ``BatchOperator`` stands in when there is no terminal: it answers
gates with yes only when ``--yes`` was given and never types an environment's name.
``ScriptedOperator`` replays answers for tests of the engine.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable
from typing import Any


class TerminalOperator:
    interactive = True

    def __init__(self, assume_yes: bool = False) -> None:
        self.assume_yes = assume_yes

    def _ask(self, question: Any) -> Any:
        try:
            return question.unsafe_ask()
        except KeyboardInterrupt:
            return None
        except EOFError:
            return None

    def confirm(self, question: str, *, default: bool = False) -> bool:
        if self.assume_yes:
            return True
        import questionary

        return self._ask(questionary.confirm(question, default=default)) is True

    def choose(self, question: str, choices: list[tuple[str, str]]) -> str | None:
        import questionary

        answer = self._ask(questionary.select(
            question, choices=[questionary.Choice(title=label, value=value)
                               for value, label in choices]))
        return answer if isinstance(answer, str) else None

    def type_to_confirm(self, question: str, expected: str) -> bool:
        import questionary

        answer = self._ask(questionary.text(question))
        return isinstance(answer, str) and answer.strip() == expected

    def ask_text(self, question: str) -> str | None:
        import questionary

        answer = self._ask(questionary.text(question))
        return answer.strip() if isinstance(answer, str) and answer.strip() else None


class BatchOperator:
    """No terminal: gates are yes only with --yes; nothing else is ever chosen for you."""

    interactive = False

    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes

    def confirm(self, question: str, *, default: bool = False) -> bool:
        return self.assume_yes

    def choose(self, question: str, choices: list[tuple[str, str]]) -> str | None:
        return None

    def type_to_confirm(self, question: str, expected: str) -> bool:
        return False

    def ask_text(self, question: str) -> str | None:
        return None


class ScriptedOperator:
    """Answers from a script, for tests: bools for confirm, values for choose, strings for
    text. Records every question asked. Running out of answers is a test failure."""

    def __init__(self, answers: Iterable[Any] = (), interactive: bool = True) -> None:
        self.answers: deque[Any] = deque(answers)
        self.asked: list[str] = []
        self.interactive = interactive

    def _next(self, question: str) -> Any:
        self.asked.append(question)
        if not self.answers:
            raise AssertionError(f"the scripted operator has no answer for: {question}")
        answer = self.answers.popleft()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def confirm(self, question: str, *, default: bool = False) -> bool:
        return self._next(question) is True

    def choose(self, question: str, choices: list[tuple[str, str]]) -> str | None:
        answer = self._next(question)
        assert answer is None or answer in [v for v, _ in choices], (answer, choices)
        return answer  # type: ignore[no-any-return]

    def type_to_confirm(self, question: str, expected: str) -> bool:
        return bool(self._next(question) == expected)

    def ask_text(self, question: str) -> str | None:
        answer = self._next(question)
        return answer if isinstance(answer, str) else None


def has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
