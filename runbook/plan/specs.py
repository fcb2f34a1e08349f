"""Turning one check or action mapping of a plan into a CheckSpec or ActionSpec.

Shared by plan steps, stage gates, rollbacks and library steps. Each function reports
its problems to a ``Reporter`` (with the node's path) and returns None when the item
cannot be used, so that loading goes on and every problem is found in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from runbook import kinds
from runbook.durations import parse_duration
from runbook.kinds.base import Action, Check
from runbook.plan.model import COMMON_CHECK_KEYS, DEFAULT_EVERY, ActionSpec, CheckSpec
from runbook.plan.structure import child, data_errors
from runbook.plan.structure import show as _show
from runbook.plan.template import references
from runbook.source import Source
from runbook.suggest import did_you_mean

Path_ = tuple[Any, ...]
Report = Callable[[str, Path_, bool], None]  # message, path, at_key
Locate = Callable[[Path_], Source]


def _kind_key(item: Any, path: Path_, role: str, allowed: tuple[str, ...],
              report: Report) -> tuple[str, Any] | None:
    example = "- http.get: {url: ...}" if role == "check" else "cloudfront.update: {id: ...}"
    if not isinstance(item, dict):
        report(f"{'a check' if role == 'check' else 'an action'} must be a mapping with one "
               f"{role} kind as its key, like "
               f"`{example}`; found {_show(item)}", path, False)
        return None
    keys = [k for k in item if k not in allowed]
    if not keys:
        report(f"this {role} names no {role} kind; write it like `{example}`", path, False)
        return None
    if len(keys) > 1:
        report(f"one {role} names {len(keys)} kinds ({', '.join(keys)}); write each as its own "
               f"{'list item' if role == 'check' else 'step'}", (*path, keys[1]), True)
        return None
    return keys[0], item[keys[0]]


def _lookup(kind: str, role: str, path: Path_, report: Report) -> Any:
    cls = kinds.check(kind) if role == "check" else kinds.action(kind)
    if cls is not None:
        return cls
    other = kinds.action(kind) if role == "check" else kinds.check(kind)
    if other is not None:
        where = "in `action:` or a rollback" if role == "check" else "in `pre`, `post` or `checks`"
        report(f"{kind!r} is {'an action' if role == 'check' else 'a check'} kind, not "
               f"{'a check' if role == 'check' else 'an action'}; use it {where}", path, True)
    else:
        known = kinds.checks() if role == "check" else kinds.actions()
        report(f"unknown {role} kind {kind!r}{did_you_mean(kind, known)}; "
               f"`runbook kinds` lists them", path, True)
    return None


def validate_params(cls: type[Check[Any]] | type[Action[Any]], params: Any, path: Path_,
                    report: Report) -> bool:
    """Run the kind's Params model; errors caused by deferred references are left for run time.

    False when ``params`` is not a mapping at all (nothing can be built from it)."""
    role = cls.role
    if params is None:
        params = {}
    if not isinstance(params, dict):
        report(f"the parameters of {role} {cls.kind!r} must be a mapping, found {_show(params)}",
               path, False)
        return False
    try:
        cls.Params.model_validate(params)
    except ValidationError as exc:
        fields = [f.alias or n for n, f in cls.Params.model_fields.items()]
        for err in data_errors(exc, params):
            loc = tuple(err["loc"])
            if _deferred(err.get("input")) or _deferred(_get(params, loc)):
                continue
            name = ".".join(str(p) for p in loc) or "(parameters)"
            typ = err["type"]
            if typ == "extra_forbidden":
                report(f"{cls.kind} has no parameter {name!r}"
                       f"{did_you_mean(str(loc[-1]), fields) if len(loc) == 1 else ''}; "
                       f"it takes: {', '.join(fields)}", (*path, *loc), True)
            elif typ == "missing":
                report(f"{cls.kind} needs the parameter {name!r}", path, True)
            else:
                words = _pyd_msg(err["words"])
                report(f"{cls.kind} parameter {name!r}: {words}"
                       f"{_not(err.get('input'), typ)}", (*path, *loc), False)
    return True


def _not(value: Any, typ: str) -> str:
    """", not 'zero'" for a wrong scalar; nothing when pydantic's message already says it."""
    if typ.startswith("value_error") or isinstance(value, dict | list):
        return ""
    return f", not {_show(value) if value is None else repr(value)}"


def _get(data: Any, loc: Path_) -> Any:
    for part in loc:
        found, data = child(data, part)
        if not found:
            return None
    return data


def _deferred(value: Any) -> bool:
    return any(True for _ in references(value)) if value is not None else False


def _pyd_msg(msg: str) -> str:
    msg = msg.replace("Value error, ", "")
    return msg[:1].lower() + msg[1:]


def check_spec(item: Any, path: Path_, locate: Locate, report: Report) -> CheckSpec | None:
    found = _kind_key(item, path, "check", COMMON_CHECK_KEYS, report)
    if found is None:
        return None
    kind, params = found
    cls = _lookup(kind, "check", (*path, kind), report)
    usable = cls is not None and validate_params(cls, params, (*path, kind), report)
    within = _duration(item.get("within"), (*path, "within"), "within", report)
    every = _duration(item.get("every"), (*path, "every"), "every", report)
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        report("a check's `name` must be text", (*path, "name"), False)
        name = None
    if not usable:
        return None
    return CheckSpec(kind=kind, params=params or {}, name=name, within=within,
                     every=every if every is not None else DEFAULT_EVERY,
                     source=locate(path))


def action_spec(item: Any, path: Path_, locate: Locate, report: Report) -> ActionSpec | None:
    found = _kind_key(item, path, "action", (), report)
    if found is None:
        return None
    kind, params = found
    cls = _lookup(kind, "action", (*path, kind), report)
    if cls is None or not validate_params(cls, params, (*path, kind), report):
        return None
    return ActionSpec(kind=kind, params=params or {}, source=locate(path))


def _duration(value: Any, path: Path_, key: str, report: Report) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        report(f"`{key}`: {exc}", path, False)
        return None
