"""The person at the keyboard.

``TerminalOperator`` asks through questionary; only an explicit yes is yes (questionary
returns None on Ctrl-C). ``BatchOperator`` stands in when there is no terminal: it answers
gates with yes only when ``--yes`` was given and never types an environment's name.
``ScriptedOperator`` replays answers for tests of the engine.
"""

from __future__ import annotations

import contextlib
import sys
from collections import deque
from collections.abc import Iterable
from typing import Any


class TerminalOperator:
    interactive = True

    def __init__(self, assume_yes: bool = False) -> None:
        self.assume_yes = assume_yes

    def _ask(self, question: Any) -> Any:
        discard_typeahead(question.application.input)
        from runbook.errors import Terminated

        try:
            return question.unsafe_ask()
        except Terminated:
            raise  # SIGTERM is no answer: the run ends as told, nothing is taken as said
        except KeyboardInterrupt:
            return None
        except EOFError:
            return None

    def confirm(self, question: str, *, default: bool = False) -> bool:
        if self.assume_yes:
            return True
        # Enter alone answers nothing: a stray Enter must not decline a stage
        return self._ask(explicit_confirm(question)) is True

    def choose(self, question: str, choices: list[tuple[str, str]]) -> str | None:
        import questionary

        safe = next((v for v, _ in choices if v in SAFE_CHOICES), None)
        answer = self._ask(questionary.select(
            question, default=safe, choices=[questionary.Choice(title=label, value=value)
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


SAFE_CHOICES = ("retry", "stop", "leave")
"""Menu answers that change nothing: the pointer of a menu starts on the first of them,
so that Enter alone never starts a rollback or decides a question about the world."""


def discard_typeahead(app_input: Any) -> None:
    """Forget keys typed before a prompt appeared: the terminal's queue, and what
    prompt_toolkit read too early for the previous prompt and keeps for the next one.
    An Enter typed after "y" must not answer the next gate."""
    from prompt_toolkit.input.typeahead import clear_typeahead

    clear_typeahead(app_input)
    if sys.stdin.isatty():
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)


def explicit_confirm(message: str) -> Any:
    """A yes/no question that only "y" or "n" answers (questionary's confirm takes Enter
    for its default). Returns a questionary ``Question``; Ctrl-C raises KeyboardInterrupt."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.keys import Keys
    from questionary import Question
    from questionary.styles import merge_styles_default

    status: dict[str, bool | None] = {"answer": None}

    def tokens() -> FormattedText:
        out = [("class:qmark", "?"), ("class:question", f" {message} ")]
        if status["answer"] is None:
            out.append(("class:instruction", "(y/n) "))
        else:
            out.append(("class:answer", "Yes" if status["answer"] else "No"))
        return FormattedText(out)

    keys = KeyBindings()

    @keys.add(Keys.ControlC, eager=True)
    @keys.add(Keys.ControlQ, eager=True)
    def _interrupt(event: KeyPressEvent) -> None:
        event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

    def _answer(value: bool) -> Any:
        def handler(event: KeyPressEvent) -> None:
            status["answer"] = value
            event.app.exit(result=value)
        return handler

    for key in ("y", "Y"):
        keys.add(key)(_answer(True))
    for key in ("n", "N"):
        keys.add(key)(_answer(False))

    @keys.add(Keys.Any)
    @keys.add(Keys.ControlM)
    def _ignore(event: KeyPressEvent) -> None:
        pass  # Enter and every other key: still waiting for y or n

    return Question(PromptSession(tokens, key_bindings=keys,
                                  style=merge_styles_default([None])).app)


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
