"""Checking the shape of a YAML document against the ``*Doc`` models.

pydantic finds unknown keys and wrong types; this module turns its errors into one
sentence each, at the key or value they are about. Errors about things the loader
explains better itself (a check that is not a mapping, a rollback it cannot read, a bad
duration) are left to the loader so that each mistake is reported once.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from runbook import FORMAT_VERSION
from runbook.errors import ProblemList
from runbook.plan.model import (
    AwsDoc,
    EnvironmentDoc,
    LibraryStepDoc,
    NotifyDoc,
    ParamDoc,
    PlanDoc,
    StageDoc,
    StepDoc,
)
from runbook.plan.yamlio import Doc
from runbook.suggest import did_you_mean

Path_ = tuple[Any, ...]
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SLUG_RULE = "a slug: lower-case letters, digits, - and _, starting with a letter or digit"

# (parent model, key) -> the model of the value (or of each item / each mapping value)
_CHILDREN: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (PlanDoc, "environments"): EnvironmentDoc,
    (PlanDoc, "stages"): StageDoc,
    (PlanDoc, "notify"): NotifyDoc,
    (EnvironmentDoc, "aws"): AwsDoc,
    (StageDoc, "steps"): StepDoc,
    (LibraryStepDoc, "params"): ParamDoc,
}
_CHECK_LISTS = ("checks", "pre", "post", "verify")
TYPE_WORDS = {
    "bool_parsing": "should be true or false",
    "bool_type": "should be true or false",
    "string_type": "should be text",
    "int_parsing": "should be a whole number",
    "int_type": "should be a whole number",
    "list_type": "should be a list",
    "dict_type": "should be a mapping",
    "model_type": "should be a mapping",
    "model_attributes_type": "should be a mapping",
}


def check_version(data: dict[str, Any], doc: Doc, what: str, problems: ProblemList) -> bool:
    """True when ``data`` says ``runbook: 1``; otherwise report why not."""
    if "runbook" not in data:
        problems.error(f"the {what} does not say its format version", doc.at(()),
                       f"add `runbook: {FORMAT_VERSION}` as its first line")
        return False
    v = data["runbook"]
    if v != FORMAT_VERSION or isinstance(v, bool) or not isinstance(v, int):
        problems.error(f"format version {show(v)} is not supported; this runbook reads "
                       f"version {FORMAT_VERSION}", doc.at(("runbook",)),
                       f"write `runbook: {FORMAT_VERSION}`")
        return False
    return True


def check_structure(model: type[BaseModel], data: Any, doc: Doc, base: Path_, what: str,
                    problems: ProblemList) -> None:
    """Report unknown keys, missing keys and wrong types of ``data`` against ``model``."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        for err in data_errors(exc, data):
            loc = tuple(err["loc"])
            full = (*base, *loc)
            key = str(loc[-1]) if loc else ""
            typ = err["type"]
            if _left_to_the_loader(loc, typ):
                continue
            if typ == "extra_forbidden":
                allowed = allowed_keys(model, loc[:-1])
                problems.error(
                    f"unknown key {key!r} in {where(full[:-1], what)}"
                    f"{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}",
                    doc.key_at(full))
            elif typ == "missing":
                problems.error(f"{where(full[:-1], what)} needs the key {key!r}",
                               doc.at(full[:-1]))
            elif typ == "too_short" and key == "stages":
                problems.error("the plan has no stages", doc.at(full),
                               "a plan is a list of stages, each with checks or steps")
            else:
                words = err["words"]
                # A proxy URL may hold a password: its message never repeats the value.
                found = "the value given" if key == "proxy" else show(err.get("input"))
                if loc and where(full, what) != where(full[:-1], what):
                    subject = where(full, what)  # the node itself: "stage 2 should be ..."
                else:
                    subject = f"`{_field_name(loc)}` in {where(full[:-1], what)}"
                problems.error(f"{subject} {words}, not {found}", doc.at(full))


def data_errors(exc: ValidationError, data: Any) -> list[dict[str, Any]]:
    """pydantic's errors with locations in ``data`` terms, one per place.

    A union type (``str | list[str]``) fails once per member, with the member's name in
    the location ("run.str", "run.list[str]"); those become a single error at "run" whose
    ``words`` join the members: "should be text or a list".
    """
    out: dict[Path_, dict[str, Any]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        typ = err["type"]
        keep = _existing_prefix(data, loc)
        if typ in ("missing", "extra_forbidden") and len(keep) < len(loc):
            keep = loc[: len(keep) + 1] if typ == "missing" else loc
        words = TYPE_WORDS.get(typ) or err["msg"].replace("Input should be", "should be")
        words = words.replace("Value error, ", "")
        found = out.get(keep)
        if found is None:
            out[keep] = {**err, "loc": keep, "words": words}
        elif words not in found["words"] and found["type"] not in ("missing", "extra_forbidden"):
            extra = words.removeprefix("should be ")
            found["words"] = f"{found['words']} or {extra}"
    return list(out.values())


def _existing_prefix(data: Any, loc: Path_) -> Path_:
    here = data
    for i, part in enumerate(loc):
        found, here = child(here, part)
        if not found:
            return loc[:i]
    return loc


def child(data: Any, part: Any) -> tuple[bool, Any]:
    """(True, data[part]) when ``data`` (a mapping or list) has ``part``; else (False, None)."""
    if isinstance(data, dict) and part in data:
        return True, data[part]
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return True, data[part]
    return False, None


def _field_name(loc: Path_) -> str:
    for part in reversed(loc):
        if isinstance(part, str):
            return part
    return str(loc[-1]) if loc else "value"


def _left_to_the_loader(loc: Path_, typ: str) -> bool:
    """Errors the loader reports itself, with better words."""
    if not loc or typ == "missing":
        return False
    strs = [p for p in loc if isinstance(p, str)]
    if {"rollback", "soak", "action", "with"} & set(strs):
        return True  # rollback forms, durations, actions and `with` are read by the loader
    if any(p in _CHECK_LISTS for p in loc[:-1]) and isinstance(loc[-1], int):
        return True  # a check item that is not a mapping
    if len(loc) >= 2 and loc[-2] == "steps" and isinstance(loc[-1], int):
        return typ in ("model_type", "model_attributes_type", "dict_type")
    # `confirm` of a stage is a union: pydantic repeats the error once per member
    return "confirm" in strs and loc[-1] != "confirm"


def allowed_keys(model: type[BaseModel], loc: Path_) -> list[str]:
    """The keys allowed in the mapping at ``loc`` inside a document of ``model``."""
    current: type[BaseModel] = model
    for part in loc:
        if isinstance(part, str):
            current = _CHILDREN.get((current, part), current)
    return [f.alias or n for n, f in current.model_fields.items()]


def where(loc: Path_, what: str) -> str:
    """Words for the node at ``loc``: "step 2 of stage 1", "environment 'prod'"."""
    if len(loc) >= 2 and loc[0] == "stages" and isinstance(loc[1], int):
        if len(loc) >= 4 and loc[2] == "steps" and isinstance(loc[3], int):
            return f"step {loc[3] + 1} of stage {loc[1] + 1}"
        return f"stage {loc[1] + 1}"
    if len(loc) >= 2 and loc[0] == "environments":
        if len(loc) >= 3 and loc[2] == "aws":
            return f"the aws settings of environment {loc[1]!r}"
        return f"environment {loc[1]!r}"
    if len(loc) >= 2 and loc[0] == "params":
        return f"parameter {loc[1]!r} of {what}"
    return what


def show(value: Any) -> str:
    """A value as a message quotes it: short, and words for containers."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."
