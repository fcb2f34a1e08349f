"""``${...}`` templates, exactly as docs/plan-format.md says, and no code ever evaluated.

Resolution happens twice:

* at load time (``Resolver``): ``${name}`` variables and ``${environment}``. The
  *deferred* references (``${steps.ID.NAME}``, ``${env:NAME}``, ``${run_id}``) and the
  escape ``$${`` are left in place, so the loaded plan is still template text where it
  must be and its digest does not depend on secrets or run ids.
* at run time (``resolve_runtime``): the deferred references, then ``$${`` becomes ``${``.

A value that is exactly one reference keeps the type of what it names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runbook.errors import RunbookError

# $${ is an escape; ${...} a reference. Anything else that starts ${ but never closes is an error.
TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STEP_REF = re.compile(r"^steps\.([a-z0-9][a-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
BUILTINS = ("environment", "run_id")
SELF = "self"  # ${steps.self.NAME}: the outputs of the step the reference is in
SECRET_MASK = "***"

Path_ = tuple[Any, ...]
OnError = Callable[[str, Path_], None]


class TemplateError(RunbookError):
    exit_code = 2


@dataclass(frozen=True)
class Ref:
    text: str  # what is between the braces
    kind: str  # "var", "step", "env", "environment", "run_id", "bad"


def classify(text: str) -> Ref:
    t = text.strip()
    if t == "environment":
        return Ref(t, "environment")
    if t == "run_id":
        return Ref(t, "run_id")
    if STEP_REF.match(t):
        return Ref(t, "step")
    if ENV_REF.match(t):
        return Ref(t, "env")
    if VAR.match(t):
        return Ref(t, "var")
    return Ref(t, "bad")


def is_deferred(ref: Ref) -> bool:
    return ref.kind in ("step", "env", "run_id")


def walk_strings(value: Any, path: Path_ = ()) -> Iterator[tuple[str, Path_]]:
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk_strings(v, (*path, k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from walk_strings(v, (*path, i))


def references(value: Any) -> Iterator[tuple[Ref, Path_]]:
    """Every ``${...}`` reference inside ``value`` (escapes skipped), with its path."""
    for text, path in walk_strings(value):
        for m in TOKEN.finditer(text):
            if m.group(0) == "$${" or m.group(1) is None:
                continue
            yield classify(m.group(1)), path


def _whole(text: str) -> Ref | None:
    m = TOKEN.fullmatch(text)
    if m and m.group(0) != "$${" and m.group(1) is not None:
        return classify(m.group(1))
    return None


def as_text(value: Any) -> str | None:
    """How a variable's value reads inside a longer string; None if it cannot."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    return None


class Resolver:
    """Load-time resolution of variables for one environment.

    ``variables`` are raw (they may refer to each other); each is resolved on first use,
    with cycles reported. ``on_error(message, path)`` receives every problem.
    """

    def __init__(self, variables: Mapping[str, Any], environment: str,
                 on_error: OnError, var_path: Callable[[str], Path_] | None = None,
                 noun: str = "variable", elsewhere: Mapping[str, str] | None = None) -> None:
        self._raw = dict(variables)
        # names other environments define, with the paragraph that says which: a missing
        # definition, not a typo, and said once rather than at every use
        self._elsewhere = dict(elsewhere or {})
        self._said: set[str] = set()
        self._noun = noun
        self._done: dict[str, Any] = {}
        self._active: list[str] = []
        self._failed: set[str] = set()
        self.referenced: set[str] = set()  # names some template asked for
        self.environment = environment
        self._on_error = on_error
        self._var_path = var_path or (lambda name: ("vars", name))

    @property
    def names(self) -> list[str]:
        return sorted(self._raw)

    def var(self, name: str, path: Path_) -> tuple[bool, Any]:
        if name in self._done:
            return True, self._done[name]
        if name not in self._raw:
            return False, None
        if name in self._failed:
            return False, None
        if name in self._active:
            cycle = " -> ".join([*self._active[self._active.index(name):], name])
            self._on_error(f"the {self._noun}s refer to each other in a circle: {cycle}", path)
            self._failed.update(self._active)  # reported once: their users keep the text
            return False, None
        self._active.append(name)
        try:
            value = self.resolve(self._raw[name], self._var_path(name))
        finally:
            self._active.pop()
        self._done[name] = value
        return True, value

    def resolved_vars(self) -> dict[str, Any]:
        for name in self._raw:
            self.var(name, self._var_path(name))
        return dict(self._done)

    def resolve(self, value: Any, path: Path_ = ()) -> Any:
        if isinstance(value, str):
            return self._string(value, path)
        if isinstance(value, Mapping):
            return {k: self.resolve(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.resolve(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def _lookup(self, ref: Ref, path: Path_) -> tuple[bool, Any]:
        if ref.kind == "environment":
            return True, self.environment
        if ref.kind == "var":
            self.referenced.add(ref.text)
            found, value = self.var(ref.text, path)
            if not found and ref.text in self._elsewhere:
                if ref.text not in self._said:
                    self._said.add(ref.text)
                    self._on_error(self._elsewhere[ref.text], path)
            elif not found and ref.text not in self._failed:
                from runbook.suggest import did_you_mean

                self._on_error(f"unknown {self._noun} ${{{ref.text}}}" +
                               did_you_mean(ref.text, [*self._raw, *BUILTINS]), path)
            return found, value
        if ref.kind == "bad":
            self._on_error(
                f"${{{ref.text}}} is not a reference runbook understands; write ${{name}}, "
                "${steps.ID.NAME}, ${env:NAME}, ${environment} or ${run_id} "
                "(templates hold names only, no expressions)", path)
            return False, None
        return False, None  # deferred

    def _string(self, text: str, path: Path_) -> Any:
        if "${" not in text:
            return text
        whole = _whole(text)
        if whole is not None:
            if is_deferred(whole):
                return text
            found, value = self._lookup(whole, path)
            return value if found else text
        out: list[str] = []
        pos = 0
        for m in TOKEN.finditer(text):
            out.append(text[pos:m.start()])
            pos = m.end()
            if m.group(0) == "$${":
                out.append("$${")
                continue
            if m.group(1) is None:
                self._on_error("a `${` that is never closed with `}`; write `$${` for a "
                               "literal `${`", path)
                out.append(m.group(0))
                continue
            ref = classify(m.group(1))
            if is_deferred(ref):
                out.append(m.group(0))
                continue
            found, value = self._lookup(ref, path)
            if not found:
                out.append(m.group(0))
                continue
            piece = as_text(value)
            if piece is None:
                self._on_error(f"${{{ref.text}}} is a {type(value).__name__}; it can stand "
                               "alone as a whole value but not inside text", path)
                piece = m.group(0)
            out.append(piece)
        out.append(text[pos:])
        return "".join(out)


def rename_self(value: Any, step_id: str) -> Any:
    """``value`` with ``${steps.self.NAME}`` written as ``${steps.STEP_ID.NAME}``.

    Library steps cannot know the id a plan gives them, so they name their own outputs
    ``self``; the loaded plan holds the real id, which is what the executor looks up.
    ``$${steps.self...}`` is an escape and stays as it is.
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group(0)
        ref = classify(m.group(1))
        if ref.kind == "step" and ref.text.startswith(f"steps.{SELF}."):
            return f"${{steps.{step_id}.{ref.text.split('.', 2)[2]}}}"
        return m.group(0)

    if isinstance(value, str):
        return TOKEN.sub(sub, value) if "${" in value else value
    if isinstance(value, Mapping):
        return {k: rename_self(v, step_id) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rename_self(v, step_id) for v in value]
    return value


def resolve_runtime(value: Any, *, outputs: Mapping[str, Mapping[str, Any]],
                    run_id: str, environ: Mapping[str, str] | None = None,
                    secrets: set[str] | None = None) -> Any:
    """Resolve the deferred references in ``value`` and unescape ``$${``.

    Values of ``${env:NAME}`` are added to ``secrets`` so the journal can mask them.
    Raises TemplateError for an unset environment variable or a missing output.
    """
    env = os.environ if environ is None else environ

    def lookup(ref: Ref) -> Any:
        if ref.kind == "run_id":
            return run_id
        if ref.kind == "env":
            name = ref.text[4:]
            if name not in env:
                raise TemplateError(f"the environment variable {name} is not set "
                                    f"(the plan uses ${{env:{name}}})")
            if secrets is not None and env[name]:
                secrets.add(env[name])
            return env[name]
        if ref.kind == "step":
            m = STEP_REF.match(ref.text)
            assert m is not None
            step_id, name = m.group(1), m.group(2)
            if step_id not in outputs:
                raise TemplateError(f"${{{ref.text}}}: step {step_id} has not run in this run")
            if name not in outputs[step_id]:
                raise TemplateError(f"${{{ref.text}}}: step {step_id} has no output {name}")
            return outputs[step_id][name]
        raise TemplateError(f"${{{ref.text}}} was not resolved when the plan was loaded")

    def string(text: str) -> Any:
        if "${" not in text:
            return text
        whole = _whole(text)
        if whole is not None:
            return lookup(whole)

        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$${":
                return "${"
            if m.group(1) is None:
                return m.group(0)
            piece = as_text(lookup(classify(m.group(1))))
            return piece if piece is not None else str(lookup(classify(m.group(1))))

        return TOKEN.sub(sub, text)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return string(v)
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return walk(value)


def for_display(value: Any) -> Any:
    """``value`` as people should see it in `show`: secrets masked, escapes undone."""

    def string(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$${":
                return "${"
            if m.group(1) is not None and classify(m.group(1)).kind == "env":
                return SECRET_MASK
            return m.group(0)

        return TOKEN.sub(sub, text) if "${" in text else text

    if isinstance(value, str):
        return string(value)
    if isinstance(value, Mapping):
        return {k: for_display(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [for_display(v) for v in value]
    return value


def redact(value: Any, secrets: set[str]) -> Any:
    """Replace every secret value inside strings of ``value`` with ***."""
    if not secrets:
        return value
    if isinstance(value, str):
        for s in sorted(secrets, key=len, reverse=True):
            if s:
                value = value.replace(s, SECRET_MASK)
        return value
    if isinstance(value, Mapping):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value
