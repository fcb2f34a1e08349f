"""The JSON Schema of the plan format, generated from the models and the kinds' Params."""

from __future__ import annotations

from typing import Any

from runbook import kinds
from runbook.durations import DURATION_SCHEMA
from runbook.plan.model import SLUG, PlanDoc


def _common() -> dict[str, Any]:
    """The keys every check takes beside its kind."""
    common = {
        "name": {"type": "string", "description": "label for the check"},
        "within": {**DURATION_SCHEMA, "description": "poll until it passes, up to this long"},
        "every": {**DURATION_SCHEMA, "description": "poll interval (default 5s)"},
    }
    _allow_templates({"properties": common})
    return common


def plan_schema() -> dict[str, Any]:
    schema = PlanDoc.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    check_refs: list[dict[str, str]] = []
    action_refs: list[dict[str, str]] = []
    for role, table, refs in (("check", kinds.checks(), check_refs),
                              ("action", kinds.actions(), action_refs)):
        for name, cls in table.items():
            params = cls.Params.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
            for sub in params.get("$defs", {}).values():
                _allow_templates(sub)
            defs.update(params.pop("$defs", {}))
            _allow_templates(params)
            props: dict[str, Any] = {name: params}
            if role == "check":
                props.update(_common())
            def_name = f"{role}:{name}"
            defs[def_name] = {"type": "object", "properties": props, "required": [name],
                              "additionalProperties": False,
                              "description": cls.summary}
            refs.append({"$ref": f"#/$defs/{def_name}"})
    defs["Check"] = {"anyOf": check_refs}
    defs["Action"] = {"anyOf": action_refs}
    _patch(schema, defs)
    schema["title"] = "runbook plan, format version 1"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


TEMPLATE = {"type": "string", "pattern": r"^\$\{[^{}]+\}$",
            "description": "a reference, resolved when the plan is loaded or run"}
_META = ("description", "title", "default")


def _allow_templates(schema: dict[str, Any]) -> None:
    """A value that is exactly one ``${...}`` may stand for any type: the loader resolves
    it first and then checks the resolved value. Let editors accept it wherever a value is
    not free text already: durations, numbers, booleans, lists, mappings, and the items and
    members inside them."""
    for name, prop in list(schema.get("properties", {}).items()):
        if isinstance(prop, dict):
            schema["properties"][name] = _templated(prop)


def _templated(prop: dict[str, Any]) -> dict[str, Any]:
    """``prop``, and every value inside it, also accepting a template."""
    inner = _inside({k: v for k, v in prop.items() if k not in _META})
    members = inner.get("anyOf")
    if isinstance(members, list):
        if not any(_free_text(m) for m in members):
            inner["anyOf"] = [*members, TEMPLATE]
    elif not _free_text(inner):
        inner = {"anyOf": [inner, TEMPLATE]}
    return {**inner, **_meta(prop)}


def _inside(schema: dict[str, Any]) -> dict[str, Any]:
    """Templates allowed in the items, values and members of ``schema``."""
    if isinstance(schema.get("items"), dict):
        schema["items"] = _templated(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _templated(schema["additionalProperties"])
    if "properties" in schema:
        _allow_templates(schema)
    if isinstance(schema.get("anyOf"), list):
        schema["anyOf"] = [_inside(dict(m)) if isinstance(m, dict) else m
                           for m in schema["anyOf"]]
    return schema


def _free_text(schema: dict[str, Any]) -> bool:
    """Any string passes: a template passes already."""
    if schema == TEMPLATE:
        return True
    return schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema)


def _meta(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k in _META}


def _patch(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Point the untyped check/action lists of the document models at the kinds."""
    props = schema["properties"]
    props["runbook"] = {"const": 1, "description": "format version: 1"}
    props["name"] = {**props["name"], "pattern": SLUG}
    stage = defs.get("StageDoc", {}).get("properties", {})
    if "name" in stage:
        stage["name"] = {**stage["name"], "pattern": SLUG}
    if "soak" in stage:
        # resolved like the stage's other keys, then read as a duration (`soak: ${soak}`)
        stage["soak"] = _templated({"anyOf": [DURATION_SCHEMA, {"type": "null"}],
                                    "description": stage["soak"].get("description", "")})
    step = defs.get("StepDoc", {}).get("properties", {})
    if "id" in step:
        step["id"] = {"anyOf": [{"type": "string", "pattern": SLUG}, {"type": "null"}],
                      "description": step["id"].get("description", "")}
    check_list = {"type": "array", "items": {"$ref": "#/$defs/Check"}}
    action = {"$ref": "#/$defs/Action"}
    for model in ("StageDoc", "StepDoc"):
        props = defs.get(model, {}).get("properties", {})
        for key in ("checks", "pre", "post", "verify"):
            if key in props:
                props[key] = {**check_list, "description": props[key].get("description", "")}
        if "action" in props:
            props["action"] = {"anyOf": [action, {"type": "null"}]}
        if "rollback" in props:
            props["rollback"] = {"anyOf": [
                {"const": "auto"}, action, {"type": "array", "items": action},
                {"type": "object", "properties": {"none": {"type": "string"}},
                 "required": ["none"], "additionalProperties": False}]}
