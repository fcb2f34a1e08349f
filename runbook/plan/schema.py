"""The JSON Schema of the plan format, generated from the models and the kinds' Params."""

from __future__ import annotations

from typing import Any

from runbook import kinds
from runbook.durations import DURATION_SCHEMA
from runbook.plan.model import SLUG, PlanDoc

_COMMON = {
    "name": {"type": "string", "description": "label for the check"},
    "within": {**DURATION_SCHEMA, "description": "poll until it passes, up to this long"},
    "every": {**DURATION_SCHEMA, "description": "poll interval (default 5s)"},
}


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
                props.update(_COMMON)
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


def _allow_templates(schema: dict[str, Any]) -> None:
    """A value that is exactly one ``${...}`` may stand for any type: let editors accept it
    wherever a parameter is not text already (runbook validates the resolved value)."""
    for name, prop in list(schema.get("properties", {}).items()):
        if not isinstance(prop, dict) or prop.get("type") == "string":
            continue
        if "items" in prop and isinstance(prop["items"], dict):
            _allow_templates({"properties": {"item": prop["items"]}})
        schema["properties"][name] = {"anyOf": [{k: v for k, v in prop.items()
                                                 if k not in ("description", "title",
                                                              "default")}, TEMPLATE],
                                      **{k: v for k, v in prop.items()
                                         if k in ("description", "title", "default")}}


def _patch(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Point the untyped check/action lists of the document models at the kinds."""
    props = schema["properties"]
    props["runbook"] = {"const": 1, "description": "format version: 1"}
    props["name"] = {**props["name"], "pattern": SLUG}
    stage = defs.get("StageDoc", {}).get("properties", {})
    if "name" in stage:
        stage["name"] = {**stage["name"], "pattern": SLUG}
    if "soak" in stage:
        stage["soak"] = {"anyOf": [DURATION_SCHEMA, {"type": "null"}],
                         "description": stage["soak"].get("description", "")}
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
