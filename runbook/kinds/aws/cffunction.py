"""``cloudfront.function_test``: a CloudFront Function run through TestFunction against a
table of requests, each with what it must give (a response's status and headers, or the
request it passes on: uri, query, headers; or an error). A plan proves the code before a
distribution runs it: test the DEVELOPMENT stage before publishing, the LIVE stage
before associating.

The events are built as the CloudFront console builds a test event: header names
lowercased, the Cookie header as ``cookies``, the query string parsed with
``multiValue`` for a repeated name.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from runbook.context import RunContext
from runbook.kinds import register
from runbook.kinds.aws.common import call
from runbook.kinds.base import Check, CheckResult, Params


class CaseRequest(Params):
    uri: str = Field(description="path, with its query string if any (/old?x=1)",
                     pattern=r"^/")
    method: str = Field("GET", description="HTTP method")
    headers: dict[str, str] = Field(default_factory=dict, description="request headers")
    cookies: dict[str, str] = Field(default_factory=dict, description="request cookies")


class CaseResponse(Params):
    status: int = Field(200, description="the origin's status (viewer-response events)")
    headers: dict[str, str] = Field(default_factory=dict, description="the origin's headers")


class Expect(Params):
    status: int | None = Field(None, description="the function answers with this status")
    headers: dict[str, str] = Field(
        default_factory=dict, description="headers the result has (of the response it "
        "makes, or of the request it passes on), names case-insensitive")
    uri: str | None = Field(None, description="the request passes on with this uri")
    query: str | None = Field(None, description="... and this query string (a=1&b=2)")
    error: str | None = Field(None, description="the function fails with a message that "
                              "contains this text")


class Case(Params):
    request: CaseRequest
    event: Literal["viewer-request", "viewer-response"] = "viewer-request"
    response: CaseResponse | None = Field(None, description="for viewer-response events")
    expect: Expect


class FunctionTestParams(Params):
    function: str = Field(description="the function's name")
    stage: Literal["DEVELOPMENT", "LIVE"] = Field("LIVE", description="which code to test")
    cases: list[Case] = Field(min_length=1, description="requests and what each must give")


def _values(pairs: dict[str, str] | list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in (pairs.items() if isinstance(pairs, dict) else pairs):
        if name in out:
            out[name].setdefault("multiValue", [{"value": out[name]["value"]}]).append(
                {"value": value})
        else:
            out[name] = {"value": value}
    return out


def event_of(case: Case) -> dict[str, Any]:
    """The test event a console would send for ``case``."""
    path, _, query = case.request.uri.partition("?")
    pairs = [(p.partition("=")[0], p.partition("=")[2]) for p in query.split("&") if p]
    event: dict[str, Any] = {
        "version": "1.0", "context": {"eventType": case.event}, "viewer": {"ip": "192.0.2.1"},
        "request": {"method": case.request.method, "uri": path,
                    "querystring": _values(pairs),
                    "headers": _values({k.lower(): v for k, v in case.request.headers.items()}),
                    "cookies": _values(case.request.cookies)}}
    if case.event == "viewer-response":
        response = case.response or CaseResponse()
        event["response"] = {"statusCode": response.status, "headers": _values(
            {k.lower(): v for k, v in response.headers.items()}), "cookies": {}}
    return event


def _query(found: Any) -> str:
    if isinstance(found, str):
        return found.lstrip("?")
    return "&".join(f"{name}={one.get('value', '')}" if one.get("value", "") != "" else name
                    for name, entry in (found or {}).items()
                    for one in entry.get("multiValue") or [entry])


def _differences(case: Case, result: dict[str, Any]) -> list[str]:
    """What the function gave that ``case`` did not expect."""
    want = case.expect
    error = str(result.get("FunctionErrorMessage") or "")
    if want.error is not None:
        return [] if want.error in error else [
            f"expected an error with {want.error!r}, got " + (repr(error) if error else
                                                              "no error")]
    if error:
        return [f"the function failed: {error}"]
    output = json.loads(result.get("FunctionOutput") or "{}")
    made, passed = output.get("response"), output.get("request")
    out: list[str] = []
    got = made if made is not None else passed or {}
    if want.status is not None:
        status = made.get("statusCode") if made is not None else None
        if status != want.status:
            out.append(f"expected status {want.status}, got " + (
                str(status) if status is not None else "the request passed on"))
    if want.uri is not None or want.query is not None:
        if passed is None:
            out.append("expected the request to pass on, got a response "
                       f"{(made or {}).get('statusCode')}")
        else:
            if want.uri is not None and passed.get("uri") != want.uri:
                out.append(f"expected uri {want.uri}, got {passed.get('uri')}")
            if want.query is not None and _query(passed.get("querystring")) != want.query:
                out.append(f"expected query {want.query!r}, got "
                           f"{_query(passed.get('querystring'))!r}")
    headers = {k.lower(): v for k, v in (got.get("headers") or {}).items()}
    for name, value in want.headers.items():
        entry = headers.get(name.lower())
        seen = entry.get("value") if isinstance(entry, dict) else None
        if seen != value:
            out.append(f"expected header {name}: {value}, got " +
                       (f"{name}: {seen}" if seen is not None else "none"))
    return out


@register
class FunctionTest(Check[FunctionTestParams]):
    kind = "cloudfront.function_test"
    uses_aws = True
    Params = FunctionTestParams
    summary = "a CloudFront Function gives what a table of requests expects (TestFunction)"

    def describe(self) -> str:
        p = self.params
        return f"function {p.function} ({p.stage}) passes {len(p.cases)} test case(s)"

    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        cf = ctx.client("cloudfront")
        what = f"function {p.function}"
        etag = call(cf, "describe_function", what, Name=p.function, Stage=p.stage)["ETag"]
        failures: list[str] = []
        failed: set[int] = set()
        cases: list[dict[str, Any]] = []
        for n, case in enumerate(p.cases, start=1):
            result = call(cf, "test_function", what, Name=p.function, IfMatch=etag,
                          Stage=p.stage, EventObject=json.dumps(event_of(case)).encode()
                          )["TestResult"]
            wrong = _differences(case, result)
            cases.append({"case": n, "uri": case.request.uri, "ok": not wrong,
                          "output": result.get("FunctionOutput") or "",
                          "error": result.get("FunctionErrorMessage") or "",
                          "logs": result.get("FunctionExecutionLogs") or []})
            failures += [f"case {n} ({case.request.method} {case.request.uri}): {w}"
                         for w in wrong]
            failed |= {n} if wrong else set()
        if failures:
            return CheckResult.failed(
                f"{len(failed)} of {len(p.cases)} case(s) of "
                f"{what} ({p.stage}) failed:\n  " + "\n  ".join(failures), cases=cases)
        return CheckResult.passed(f"{what} ({p.stage}) gave what all {len(p.cases)} case(s) "
                                  "expect", cases=cases)
