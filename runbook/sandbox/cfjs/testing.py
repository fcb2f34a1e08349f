"""TestFunction: a stage's code (DEVELOPMENT or LIVE) run against the event object JSON
the console takes, answered with CloudFront's ``TestResult``: the function's summary, its
compute utilization, the lines it logged, its error message, and its output (the event
object it returned, as ``{"request": ...}`` or ``{"response": ...}``)."""

from __future__ import annotations

import base64
import binascii
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from runbook.sandbox.cfjs.result import as_request, as_response, invalid, is_response
from runbook.sandbox.cfjs.runtime import FunctionError

Answer = tuple[int, dict[str, str], bytes]
NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
EVENT_SIZE = 40 * 1024  # the API's limit on EventObject


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The keys of the objects FunctionOutput shows, as CloudFront shows them: others dropped
REQUEST_KEYS = ("method", "uri", "querystring", "headers", "cookies")
RESPONSE_KEYS = ("statusCode", "statusDescription", "headers", "cookies", "body")
ENTRY_KEYS = ("value", "attributes", "multiValue")


def _entries(found: Any) -> Any:
    """A headers/querystring/cookies object with only the documented keys in each entry
    (a 2.0 querystring or cookies given as a string stays as it is)."""
    if not isinstance(found, dict):
        return found
    out: dict[str, Any] = {}
    for name, entry in found.items():
        if not isinstance(entry, dict):
            out[name] = entry
            continue
        kept = {k: v for k, v in entry.items() if k in ENTRY_KEYS}
        if isinstance(kept.get("multiValue"), list):
            kept["multiValue"] = [{k: v for k, v in one.items() if k in ENTRY_KEYS}
                                  for one in kept["multiValue"] if isinstance(one, dict)]
        out[name] = kept
    return out


def _normal(result: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A request or response object as FunctionOutput shows it: the documented keys only,
    ``cookies`` always there (``{}`` when the function gave none)."""
    out = {k: result[k] for k in keys if k in result}
    for k in ("querystring", "headers", "cookies"):
        if k in out:
            out[k] = _entries(out[k])
    out.setdefault("cookies", {})
    return out


def answer(functions: Any, fn: Any, body: bytes, if_match: str | None) -> Answer:
    """The TestFunction answer for ``fn`` (a ``functions.Function``) of ``functions``."""
    _xml_error: Callable[[int, str, str], Answer] = functions.error
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        return _xml_error(400, "MalformedInput", str(exc))
    stage_name = (root.findtext("{*}Stage") or "DEVELOPMENT").strip()
    stage = fn.live if stage_name == "LIVE" else fn.development
    if stage is None:
        return _xml_error(404, "NoSuchFunctionExists",
                          f"The function {fn.name} has not been published.")
    if if_match != stage.etag:
        return _xml_error(400, "InvalidIfMatchVersion", "The If-Match version is missing or "
                          f"is not the ETag of the function's {stage_name} stage.")
    try:
        raw = base64.b64decode(root.findtext("{*}EventObject") or "", validate=True)
        if len(raw) > EVENT_SIZE:
            return _xml_error(400, "InvalidArgument", f"The event object is {len(raw)} bytes;"
                              f" the maximum is {EVENT_SIZE}.")
        event = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        return _xml_error(400, "InvalidArgument", f"The event object is not valid JSON: {exc}")
    if not isinstance(event, dict) or not isinstance(event.get("request"), dict):
        return _xml_error(400, "InvalidArgument", "The event object needs a request object.")
    context = event.setdefault("context", {})
    event_type = str(context.setdefault("eventType", "viewer-request"))
    if event_type == "viewer-response" and not isinstance(event.get("response"), dict):
        return _xml_error(400, "InvalidArgument", "A viewer-response event object needs a "
                          "response object.")
    runtime = str(stage.config["Runtime"])
    logs: list[str] = []
    error, output, utilization = "", "", "0"
    try:
        ran = functions.run(stage, event)
        logs, utilization = ran.logs, str(ran.utilization)
        if is_response(ran.result):
            as_response(ran.result, runtime)
            output = json.dumps({"response": _normal(ran.result, RESPONSE_KEYS)})
        elif event_type == "viewer-response":
            raise invalid("a viewer-response function must return a response object")
        else:
            as_request(ran.result, runtime)
            output = json.dumps({"request": _normal(ran.result, REQUEST_KEYS)})
    except FunctionError as err:
        logs = logs or err.logs
        error = f"{err.kind}: {err}" if err.kind != "FunctionExecutionError" else str(err)
        utilization = "100" if err.kind == "FunctionThrottledError" else utilization
    items = "".join(f"<member>{_esc(line)}</member>" for line in logs)
    out = (f'<?xml version="1.0"?><TestResult xmlns="{NS}">'
           f"{functions._summary(fn, stage_name)}"
           f"<ComputeUtilization>{utilization}</ComputeUtilization>"
           f"<FunctionExecutionLogs>{items}</FunctionExecutionLogs>"
           f"<FunctionErrorMessage>{_esc(error)}</FunctionErrorMessage>"
           f"<FunctionOutput>{_esc(output)}</FunctionOutput></TestResult>")
    return 200, {"Content-Type": "text/xml"}, out.encode()
