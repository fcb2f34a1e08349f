"""What people read: problems, plans, kinds. Terminal output lives here and in cli/operator."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from runbook.durations import format_duration
from runbook.errors import Problem
from runbook.plan.describe import describe
from runbook.plan.model import Plan, Step
from runbook.plan.template import for_display

# Output that is not a terminal (a pipe, a CI log) is never wrapped: a certificate ARN
# or a run id split over two lines cannot be copied or searched.
UNWRAPPED = 100_000


def _console(stderr: bool) -> Console:
    con = Console(stderr=stderr, highlight=False, soft_wrap=False,
                  width=int(os.environ.get("COLUMNS", "0")) or None)
    if not con.is_terminal:
        con.width = UNWRAPPED
        con.soft_wrap = True
    return con


def stdout_console() -> Console:
    return _console(False)


def error_console() -> Console:
    return _console(True)


def print_columns(con: Console, headers: list[str], rows: list[list[str]]) -> None:
    """Rows of plain text under headers, every cell whole. The first column (an id to
    copy) is never cut: when the columns do not fit the terminal, each row becomes its
    id on a line of its own with the other cells below it."""
    widths = [max(len(c) for c in col) for col in zip(headers, *rows, strict=True)]
    if con.is_terminal and sum(widths) + 2 * (len(widths) - 1) > con.width:
        for row in rows:
            con.print(row[0], markup=False, highlight=False, soft_wrap=True)
            con.print("  " + ", ".join(f"{h}: {c}" for h, c in
                                       zip(headers[1:], row[1:], strict=True)),
                      markup=False, highlight=False)
        return
    for row in [headers, *rows]:
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        con.print(line, markup=False, highlight=False, soft_wrap=True)


def print_problems(problems: list[Problem], *, strict: bool = False) -> None:
    con = error_console()
    for p in problems:
        label = "error" if p.severity == "error" or strict else "warning"
        style = "bold red" if label == "error" else "yellow"
        con.print(f"[{style}]{label}[/]: {escape(str(p))}", soft_wrap=True)


def show_plan(plan: Plan, fmt: str, warnings: list[Problem]) -> None:
    con = stdout_console()
    if fmt == "json":
        data = for_display(plan.canonical())
        data["digest"] = plan.digest
        con.print_json(json.dumps(data))
        return
    if fmt == "markdown":
        import sys

        sys.stdout.write(plan_markdown(plan))  # a document: no wrapping, no styling
        return
    con.print(plan_tree(plan))
    con.print(f"digest: {plan.digest}", markup=False)
    if warnings:
        print_problems(warnings)


def _t(text: str) -> str:
    """Free text as people should read it: secrets masked, `$${` shown as `${`."""
    return str(for_display(text))


def plan_tree(plan: Plan) -> Tree:
    env = plan.environment
    flags = [f for f, on in (("protected", env.protected),
                             (f"requires rehearsal on {env.requires_rehearsal}",
                              bool(env.requires_rehearsal)),
                             (f"sandbox {env.sandbox}", bool(env.sandbox))) if on]
    head = f"[bold]{escape(_t(plan.title or plan.name))}[/] ({plan.name}) on [bold]{env.name}[/]"
    if flags:
        head += f" [yellow]({', '.join(flags)})[/]"
    tree = Tree(head)
    for n, stage in enumerate(plan.stages, 1):
        label = f"[bold]stage {n}: {stage.name}[/]"
        if stage.title:
            label += f" - {escape(_t(stage.title))}"
        node = tree.add(label)
        if stage.confirm:
            q = _t(stage.confirm) if isinstance(stage.confirm, str) else "confirm before this stage"
            node.add(f"[cyan]gate:[/] {escape(q)}")
        for check in stage.checks:
            node.add(f"check: {escape(describe(check))}")
        for step in stage.steps:
            _step_tree(node, step)
        if stage.soak:
            node.add(f"soak: re-run checks for {format_duration(stage.soak)}")
    return tree


def _step_tree(parent: Tree, step: Step) -> None:
    label = f"[bold]step {step.id}[/]"
    if step.title:
        label += f": {escape(_t(step.title))}"
    if step.library:
        label += f" [dim](library: {step.library})[/]"
    node = parent.add(label)
    for c in step.pre:
        node.add(f"pre: {escape(describe(c))}")
    node.add(f"[magenta]action:[/] {escape(describe(step.action))}")
    for c in step.post:
        node.add(f"post: {escape(describe(c))}")
    node.add(f"rollback: {escape(rollback_text(step))}")
    for c in step.verify:
        node.add(f"verify (once undone): {escape(describe(c))}")


def rollback_text(step: Step) -> str:
    rb = step.rollback
    if rb.mode == "none":
        return f"none ({rb.reason or 'no reason given'})"
    if rb.mode == "actions":
        return "; ".join(describe(a) for a in rb.actions)
    from runbook import kinds

    cls = kinds.action(step.action.kind)
    if cls is not None and not cls.reversible:
        return f"nothing to restore ({cls.irreversible_reason or 'the action is not reversible'})"
    return "auto: restore what the snapshot recorded"


def _by_hand(text: object, label: str) -> list[str]:
    """A manual step's instructions, whole: they are the step (a quote keeps their own
    Markdown: lists, code, links)."""
    if not isinstance(text, str) or not text.strip():
        return []
    return [f"{label}:", "", *[f"> {line}".rstrip() for line in _t(text).strip().splitlines()],
            ""]


def plan_markdown(plan: Plan) -> str:
    """The plan as a runbook document to paste into a wiki page before the change."""
    env = plan.environment
    out = [f"# {_t(plan.title or plan.name)}", ""]
    out.append(f"Plan `{plan.name}` on environment **{env.name}** - digest `{plan.digest}`")
    out.append("")
    if plan.description:
        out += [_t(plan.description).strip(), ""]
    guards = []
    if env.protected:
        guards.append(f"protected: the operator types `{env.name}` to start")
    if env.requires_rehearsal:
        guards.append(f"must have succeeded on `{env.requires_rehearsal}` first (same digest)")
    if guards:
        out += ["**Guards:** " + "; ".join(guards), ""]
    if plan.vars:
        out += ["| variable | value |", "| --- | --- |"]
        out += [f"| `{k}` | `{json.dumps(for_display(v))}` |" for k, v in plan.vars.items()]
        out.append("")
    for n, stage in enumerate(plan.stages, 1):
        out.append(f"## Stage {n}: {stage.name}" + (f" - {_t(stage.title)}" if stage.title else ""))
        out.append("")
        if stage.notes:
            out += [_t(stage.notes).strip(), ""]
        if stage.confirm:
            q = _t(stage.confirm) if isinstance(stage.confirm, str) else "Go on with this stage?"
            out += [f"> **Gate:** {q}", ""]
        if stage.checks:
            out += ["Checks:", ""] + [f"- [ ] {describe(c)}" for c in stage.checks] + [""]
        for step in stage.steps:
            out.append(f"### Step `{step.id}`" + (f": {_t(step.title)}" if step.title else ""))
            out.append("")
            if step.notes:
                out += [_t(step.notes).strip(), ""]
            if step.pre:
                out += ["Before:", ""] + [f"- [ ] {describe(c)}" for c in step.pre] + [""]
            out += [f"Action: **{describe(step.action)}**", ""]
            manual = step.action.kind == "manual"
            if manual:
                out += _by_hand(step.action.params.get("instructions"), "Instructions")
            if step.post:
                out += ["After:", ""] + [f"- [ ] {describe(c)}" for c in step.post] + [""]
            out += [f"Rollback: {rollback_text(step)}", ""]
            if manual and step.rollback.mode == "auto":
                out += _by_hand(step.action.params.get("undo"), "To undo it")
            if step.verify:
                out += ["Once undone:", ""] + [f"- [ ] {describe(c)}" for c in step.verify] \
                    + [""]
        if stage.soak:
            out += [f"Soak: re-run the checks for {format_duration(stage.soak)}.", ""]
    return "\n".join(out).rstrip() + "\n"


# ---- kinds -----------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    """A parameter's type as a plan's author writes it: ``duration | None``,
    ``"system" | "authoritative" | list[str]``; never typing's ``Optional[Annotated[...]]``
    with the validators' reprs inside."""
    import types
    from typing import Annotated, Literal, Union, get_args, get_origin

    from runbook.durations import parse_duration

    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        if any(getattr(m, "func", None) is parse_duration for m in args[1:]):
            return "duration"
        return _type_name(args[0])
    if origin is Union or origin is types.UnionType:
        # None last, as people write it; a type is named once however it is constrained.
        names = [_type_name(a) for a in args if a is not type(None)]
        names = list(dict.fromkeys(names)) + ["None"] * (type(None) in args)
        return " | ".join(names)
    if origin is Literal:
        return " | ".join(f'"{a}"' if isinstance(a, str) else repr(a) for a in args)
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', origin)}[{inner}]" if inner else \
            str(getattr(origin, "__name__", origin))
    if annotation is type(None):
        return "None"
    if hasattr(annotation, "__name__"):
        return str(annotation.__name__)
    return str(annotation).replace("typing.", "")


def _is_duration(f: Any) -> bool:
    from runbook.durations import parse_duration

    return any(getattr(m, "func", None) is parse_duration for m in f.metadata)


def _model_of(annotation: Any) -> Any:
    """The parameter model inside a type (``X``, ``X | None``, ``list[X]``), if any."""
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_of, get_args(annotation)) if m is not None), None)


def _yaml(value: Any) -> str:
    """A default as a plan writes it: ``true``, ``null``, ``{verify: true}``."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def kind_params(model: Any, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) of each parameter of a kind; a parameter that
    is a mapping of its own is followed by its keys (``tls.verify``)."""
    rows = []
    for name, f in model.model_fields.items():
        duration = _is_duration(f)
        if f.is_required():
            default = "required"
        else:
            value = f.default_factory() if f.default_factory else f.default
            default = format_duration(value) if duration and isinstance(value, float) \
                else _yaml(value)
        sub = _model_of(f.annotation)
        kind = _type_name(f.annotation)
        if sub is not None:
            kind = kind.replace(sub.__name__, "mapping")
        if duration:
            kind = kind.replace("float", "duration")
        key = prefix + (f.alias or name)
        rows.append((key, kind, default, f.description or ""))
        if sub is not None:
            rows += kind_params(sub, key + ("[]." if kind.startswith("list[") else "."))
    return rows


def show_kinds(name: str | None, cwd: Path) -> None:
    from runbook import kinds
    from runbook.errors import UsageError
    from runbook.plan import library as lib
    from runbook.suggest import did_you_mean

    con = stdout_console()
    checks, actions = kinds.checks(), kinds.actions()
    steps = lib.available(cwd)
    if name is None:
        print_columns(con, ["kind", "role", "what it does"],
                      [[kname, role, reg[kname].summary]
                       for kname in sorted(set(checks) | set(actions))
                       for role, reg in (("check", checks), ("action", actions))
                       if kname in reg])
        if steps:
            con.print("\nlibrary steps: " + ", ".join(steps), markup=False)
        con.print("\n`runbook kinds NAME` shows one kind's parameters and outputs.", markup=False)
        return
    found = False
    check_cls = checks.get(name)
    if check_cls is not None:
        found = True
        _show_kind(name, "check", check_cls.summary, check_cls.Params)
    action_cls = actions.get(name)
    if action_cls is not None:
        found = True
        _show_kind(name, "action", action_cls.summary, action_cls.Params)
        if action_cls.outputs:
            con.print("outputs: " + ", ".join(f"{k} ({v})" for k, v in
                                              action_cls.outputs.items()), markup=False)
        if not action_cls.reversible:
            con.print(f"rollback: nothing to restore ({action_cls.irreversible_reason})",
                      markup=False)
        con.print()
    if name in steps:
        found = True
        _show_library_step(name, cwd)
    if not found:
        raise UsageError(f"no kind or library step {name!r}"
                         f"{did_you_mean(name, [*checks, *actions, *steps])}; "
                         "`runbook kinds` lists them")


def _show_kind(name: str, role: str, summary: str, params: Any) -> None:
    con = stdout_console()
    con.print(f"[bold]{name}[/] ({role}): {escape(summary)}")
    print_columns(con, ["parameter", "type", "default", "description"],
                  [list(row) for row in kind_params(params)])
    if role == "check":
        con.print()


def _show_library_step(name: str, cwd: Path) -> None:
    from runbook.plan import library as lib
    from runbook.plan.yamlio import display_name, load_file

    path = lib.find(name, cwd)
    if path is None:
        return
    data = load_file(path, what="library step").data
    data = data if isinstance(data, dict) else {}
    con = stdout_console()
    con.print(f"[bold]{name}[/] (library step, {escape(display_name(path))}): "
              f"{escape(str(data.get('title') or ''))}")
    params = data.get("params")
    rows = []
    for pname, spec in (params.items() if isinstance(params, dict) else []):
        spec = spec if isinstance(spec, dict) else {}
        rows.append([str(pname), _yaml(spec["default"]) if "default" in spec else "required",
                     str(spec.get("description") or "")])
    print_columns(con, ["parameter", "default", "description"], rows)
    action = data.get("action")
    kinds_used = ", ".join(str(k) for k in action) if isinstance(action, dict) else "none"
    con.print(f"action: {kinds_used}", markup=False)
