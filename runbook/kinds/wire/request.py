"""``http.request``: call a webhook or an API as a step (pause a monitor, open a
maintenance window, tell a status page), with an optional ``undo`` request for rollback.

Headers and URLs may carry secrets as ``${env:NAME}``: the executor resolves them just
before the call and the journal masks them; what this kind returns (outputs) is masked
the same way. The response's status is checked; values picked from its JSON body become
the step's outputs (``outputs: {window: data.id}`` -> ``${steps.ID.window}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator

from runbook.context import RunContext
from runbook.durations import Duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot
from runbook.kinds.wire.common import Status, status_matches, status_text

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = ("status", "body")


class Call(Params):
    method: str = Field("POST", description="HTTP method")
    url: str = Field(description="the URL (http or https); may hold ${env:...} secrets")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="request headers; values may hold ${env:...}")
    json_body: Any = Field(None, alias="json", description="a JSON body (any YAML value)")
    status: Status = Field("2xx", description='the status that means success: a code, a '
                           'list, or a class like "2xx"')
    timeout: Duration = Field(30.0, description="give up on the request after this long")

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]+", value):
            raise ValueError(f"{value!r} is not an HTTP method")
        return value.upper()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^(https?://|\$\{)", value):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value


class RequestParams(Call):
    outputs: dict[str, str] = Field(
        default_factory=dict, description="output name: dotted path into the JSON response "
        "(data.id, items.0.name); usable as ${steps.ID.NAME}")
    undo: Call | None = Field(None, description="the request that undoes this one (rollback)")

    @field_validator("outputs")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _NAME.match(name) or name in _RESERVED:
                raise ValueError(f"output name {name!r} must be a word other than "
                                 f"{' and '.join(_RESERVED)}")
        return value


class _Outputs(Mapping[str, str]):
    """The outputs of ``http.request``: ``status`` and ``body``, and whatever names the
    step's own ``outputs:`` declares (which a class cannot list: any word is accepted at
    load time; a name the response lacks fails when the step runs)."""

    fixed: ClassVar[dict[str, str]] = {
        "status": "the response's status code", "body": "the response body (first 2,000 "
        "characters)", "NAME": "each name of the step's `outputs:`, picked from the JSON "
        "response"}

    def __getitem__(self, key: str) -> str:
        if key in self.fixed:
            return self.fixed[key]
        if _NAME.match(key):
            return "declared in the step's `outputs:`"
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self.fixed or bool(_NAME.match(key)))

    def __iter__(self) -> Any:
        return iter(self.fixed)

    def __len__(self) -> int:
        return len(self.fixed)


def pick(data: Any, path: str) -> Any:
    """``data.id`` / ``items.0.name`` in a decoded JSON document; KeyError if absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(path)
    return node


def send(ctx: RunContext, call: Call) -> tuple[int, str, Any]:
    """(status, body text, decoded JSON or None); KindError when the server cannot be
    reached or answers another status than ``call.status``. Sent as every HTTP request
    of runbook is: through the environment's proxy, CAs and resolvers (common.exchange)."""
    from runbook.kinds.wire.common import exchange
    from runbook.kinds.wire.net import WireError

    what = f"{call.method} {_shown(call.url)}"
    headers = dict(call.headers)
    content = None
    if call.json_body is not None:
        content = json.dumps(call.json_body).encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    try:
        got = exchange(ctx, call.method, call.url, timeout=call.timeout, headers=headers,
                       content=content)
    except WireError as exc:
        why = exc.message.replace(call.url, _shown(call.url))
        raise KindError(f"{what} failed: {why}. Nothing was received, so nothing is known "
                        "to have changed") from exc
    text = got.text[:2000]
    if not status_matches(call.status, got.status):
        raise KindError(f"{what} answered {got.status}, expected "
                        f"{status_text(call.status)}: {text[:300]}")
    try:
        data = json.loads(got.text) if got.text else None
    except ValueError:
        data = None
    return got.status, text, data


def _shown(url: str) -> str:
    """The URL without its query string (webhook tokens often live there)."""
    return url.split("?", 1)[0]


@register
class HttpRequest(Action[RequestParams]):
    kind = "http.request"
    Params = RequestParams
    summary = "send an HTTP request (a webhook, an API call); `undo` sends its opposite"
    outputs: ClassVar[Mapping[str, str]] = _Outputs()

    @classmethod
    def auto_rollback_gap(cls, params: Mapping[str, Any]) -> str | None:
        if params.get("undo") is None:
            return "the http.request has no `undo` request, so nothing would be restored"
        return None

    def describe(self) -> str:
        p = self.params
        return f"send {p.method} {_shown(p.url)}" + (
            f" (undo: {p.undo.method} {_shown(p.undo.url)})" if p.undo else "")

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {}

    def provable(self) -> bool:
        # A request changes state runbook cannot read back: its undo is "undone, not
        # proved" (the undo's own status is checked; the step's `verify:` checks run too).
        return False

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        p = self.params
        body = json.dumps(p.json_body, sort_keys=True) if p.json_body is not None else None
        for secret in sorted(ctx.secrets, key=len, reverse=True):  # ${env:...} values
            body = body.replace(secret, "***") if body and secret else body
        changes = [Change(f"{p.method} {_shown(p.url)}", None, body or "(no body)")]
        note = (f"undo sends {p.undo.method} {_shown(p.undo.url)}" if p.undo else
                "no `undo`: rollback sends nothing")
        return Diff(tuple(changes), note)

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        status, text, data = send(ctx, p)
        out: Outputs = {"status": status, "body": text}
        for name, path in p.outputs.items():
            try:
                out[name] = pick(data, path)
            except KeyError as exc:
                raise KindError(f"{p.method} {_shown(p.url)} answered {status}, but its "
                                f"response has no {path} for output {name!r}: "
                                f"{text[:200]}") from exc
        return out

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """None: the outputs (status, body, values picked from it) are the response, which
        only the request that was interrupted received and nothing can ask for again.
        Resume gets here only when a person said the request ran (the kind keeps no
        snapshot); a later step naming these outputs then fails, naming them."""
        return {}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        p = self.params
        if p.undo is None:
            raise KindError(f"{p.method} {_shown(p.url)} has no `undo` request: there is "
                            "nothing runbook can send to restore it; give the step a rollback")
        send(ctx, p.undo)
