"""The JSON Schema of the plan format, generated from the models and the kinds' Params."""

from __future__ import annotations

from typing import Any

from runbook import kinds
from runbook.model import PlanDoc

_COMMON = {
    "name": {"type": "string", "description": "label for the check"},
    "within": {"type": ["string", "number"], "description": "poll until it passes, up to this"},
    "every": {"type": ["string", "number"], "description": "poll interval (default 5s)"},
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
            defs.update(params.pop("$defs", {}))
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


def _patch(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Point the untyped check/action lists of the document models at the kinds."""
    check_list = {"type": "array", "items": {"$ref": "#/$defs/Check"}}
    action = {"$ref": "#/$defs/Action"}
    for model in ("StageDoc", "StepDoc"):
        props = defs.get(model, {}).get("properties", {})
        for key in ("checks", "pre", "post"):
            if key in props:
                props[key] = {**check_list, "description": props[key].get("description", "")}
        if "action" in props:
            props["action"] = {"anyOf": [action, {"type": "null"}]}
        if "rollback" in props:
            props["rollback"] = {"anyOf": [
                {"const": "auto"}, action, {"type": "array", "items": action},
                {"type": "object", "properties": {"none": {"type": "string"}},
                 "required": ["none"], "additionalProperties": False}]}
