"""What a function's result means, checked as CloudFront checks it: a request object to
carry on with, or a response object to send. A result of the wrong shape is a
``FunctionValidationError`` (CloudFront answers 503), never a crash of the edge.

cloudfront-js-2.0 also takes ``querystring`` and ``cookies`` of a request as strings, and
a response's ``body`` as ``{encoding: 'text' | 'base64', data}``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from runbook.sandbox.cfjs.runtime import FunctionError

RUNTIME_2 = "cloudfront-js-2.0"


def invalid(message: str) -> FunctionError:
    return FunctionError("FunctionValidationError", message)


@dataclass(frozen=True)
class Forwarded:
    """The request a function returned: path and query, and its header lines."""

    uri: str
    query: str
    headers: list[tuple[str, str]]

    @property
    def target(self) -> str:
        return self.uri + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Made:
    """The response a function returned (or changed): status, header lines, and the body
    (None: a viewer-response function that kept the origin's)."""

    status: int
    description: str
    headers: list[tuple[str, str]]
    body: bytes | None


def is_response(result: Any) -> bool:
    return isinstance(result, dict) and "statusCode" in result


def _value(name: str, entry: Any) -> list[str]:
    if not isinstance(entry, dict) or ("value" not in entry and "multiValue" not in entry):
        raise invalid(f"the value of {name!r} must be an object with a value")
    values = entry.get("multiValue") or [entry]
    out: list[str] = []
    for one in values:
        value = one.get("value") if isinstance(one, dict) else None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise invalid(f"the value of {name!r} must be a string")
        out.append(str(value))
    return out


def _headers(found: Any) -> list[tuple[str, str]]:
    if found is None:
        return []
    if not isinstance(found, dict):
        raise invalid("headers must be an object")
    return [(name, value) for name, entry in found.items() for value in _value(name, entry)]


def _text_or_object(found: Any, what: str, runtime: str) -> str | dict[str, Any]:
    if found is None:
        return {}
    if isinstance(found, str) and runtime == RUNTIME_2:
        return found
    if not isinstance(found, dict):
        raise invalid(f"{what} must be an object" + (" or a string" if runtime == RUNTIME_2
                                                      else ""))
    return found


def as_request(result: Any, runtime: str) -> Forwarded:
    if not isinstance(result, dict):
        what = "nothing" if result is None else type(result).__name__
        raise invalid(f"the function returned {what}, not a request or response object")
    uri = result.get("uri")
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise invalid("the request's uri must be a string that starts with /")
    query = _text_or_object(result.get("querystring"), "querystring", runtime)
    if isinstance(query, dict):
        query = "&".join(f"{name}={value}" if value != "" else name
                         for name, entry in query.items() for value in _value(name, entry))
    headers = _headers(result.get("headers"))
    cookies = _text_or_object(result.get("cookies"), "cookies", runtime)
    if isinstance(cookies, dict):
        cookies = "; ".join(f"{name}={value}" for name, entry in cookies.items()
                            for value in _value(name, entry))
    if cookies:
        headers.append(("cookie", cookies))
    return Forwarded(uri, query.lstrip("?"), headers)


def as_response(result: Any, runtime: str) -> Made:
    if not isinstance(result, dict):
        raise invalid("the function did not return a response object")
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise invalid("the response's statusCode must be a number from 100 to 599")
    description = result.get("statusDescription") or ""
    if not isinstance(description, str):
        raise invalid("the response's statusDescription must be a string")
    headers = _headers(result.get("headers"))
    cookies = result.get("cookies") or {}
    if not isinstance(cookies, dict):
        raise invalid("the response's cookies must be an object")
    for name, entry in cookies.items():
        values = (entry.get("multiValue") or [entry]) if isinstance(entry, dict) else [entry]
        for one in values:
            if not isinstance(one, dict) or not isinstance(one.get("value"), str):
                raise invalid(f"the cookie {name!r} must be an object with a string value")
            attributes = one.get("attributes") or ""
            headers.append(("set-cookie", f"{name}={one['value']}" +
                            (f"; {attributes}" if attributes else "")))
    return Made(status, description, headers, _body(result.get("body"), runtime))


def _body(body: Any, runtime: str) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    if runtime == RUNTIME_2 and isinstance(body, dict) and isinstance(body.get("data"), str):
        encoding = body.get("encoding", "text")
        if encoding == "text":
            return str(body["data"]).encode()
        if encoding == "base64":
            try:
                return base64.b64decode(body["data"], validate=True)
            except binascii.Error as exc:
                raise invalid("the response's body is not valid base64") from exc
        raise invalid(f"the response's body encoding {encoding!r} is not text or base64")
    raise invalid("the response's body must be a string" +
                  (" or {encoding, data}" if runtime == RUNTIME_2 else ""))
