"""Checking ``${steps.ID.NAME}`` references while a plan is loaded.

A step may use the outputs of the steps that run before it, and in its own ``post``
checks and ``rollback`` its own outputs (``${steps.self.NAME}`` or its id). Each output
must be one the producing action kind declares. Everything else is a plan error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from runbook import kinds
from runbook.errors import ProblemList
from runbook.plan.template import SELF, STEP_REF, references
from runbook.plan.yamlio import Doc
from runbook.source import Source
from runbook.suggest import did_you_mean

Path_ = tuple[Any, ...]
# (message, path in the library step) -> (message, where it belongs), or None: said already
Place = Callable[[str, Path_], tuple[str, Source] | None]


class OutputChecker:
    def __init__(self, problems: ProblemList, require_env_vars: bool = False) -> None:
        self.problems = problems
        self.require_env_vars = require_env_vars
        self.ids: dict[str, Source] = {}  # every step id of the plan, in order
        self.done: dict[str, str | None] = {}  # steps walked so far -> action kind

    def ran(self, step_id: str, kind: str | None) -> None:
        """``step_id`` is walked; its outputs are those of ``kind`` (None: unknown)."""
        self.done[step_id] = kind

    def _say(self, place: Place | None, at: Path_, message: str, source: Source,
             hint: str | None = None) -> None:
        """Report a problem; in a library step, one the plan passed in through `with:` is
        the plan's mistake and is said at its `with:` line (``place``: Use.where)."""
        if place is not None:
            found = place(message, at)
            if found is None:
                return
            message, source = found
        self.problems.error(message, source, hint)

    def check(self, value: Any, base: Path_, doc: Doc, step_id: str | None, where: str,
              own_kind: str | None = None, place: Place | None = None) -> None:
        """Check every reference in ``value`` (found at ``base`` in ``doc``).

        ``step_id`` is the step the value belongs to (None for a stage's checks);
        ``where`` is its part: pre, action, post, rollback or checks.
        """
        if value is None:
            return
        for ref, path in references(value):
            src = doc.at((*base, *path))
            say = partial(self._say, place, (*base, *path))

            if ref.kind == "env" and self.require_env_vars and ref.text[4:] not in os.environ:
                say(f"the environment variable {ref.text[4:]} is not set "
                                    f"(the plan uses ${{{ref.text}}})", src)
            if ref.kind != "step":
                continue
            m = STEP_REF.match(ref.text)
            if m is None:
                continue
            target, output = m.group(1), m.group(2)
            label = f"${{{ref.text}}}"
            if target in (SELF, step_id):
                if step_id is None:
                    say(f"{label} names the outputs of the step it is in, but "
                                        "a stage's checks belong to no step", src,
                                        "write ${steps.ID.NAME} with the id of an earlier step")
                    continue
                if where in ("pre", "action"):
                    say(f"{label} in `{where}` names an output of this very "
                                        "step, which exists only after its action has run",
                                        src, "use it in `post` or `rollback`")
                    continue
                kind, target = own_kind, step_id
            elif target in self.done:
                kind = self.done[target]
            elif target in self.ids:
                say(f"{label} refers to step {target!r}, which runs later "
                                    f"(line {self.ids[target].line}); a step can use the "
                                    "outputs of the steps before it", src)
                continue
            else:
                say(f"{label} refers to a step {target!r} that the plan does "
                                    f"not have{did_you_mean(target, self.ids)}", src)
                continue
            cls = kinds.action(kind) if kind is not None else None
            if cls is not None and output not in cls.outputs:
                offered = ", ".join(cls.outputs) or "none"
                say(f"{label}: step {target!r} ({kind}) has no output "
                                    f"{output!r}{did_you_mean(output, cls.outputs)}; its "
                                    f"outputs: {offered}", src)
