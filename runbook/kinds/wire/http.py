"""``http.get``, ``http.redirect``, ``http.redirects``: what a URL answers, and where it sends.

Text expectations (``contains``, ``absent``) are plain text, or a regular expression
when written between slashes: ``/TIS Self-Service v\\d+/`` (``/.../i`` ignores case).
Header expectations are regular expressions searched in the header's value, or the word
``absent`` for a header that must not be sent.

``connect_to`` pins the URL's host to another host or IP, keeping the URL's Host header
and TLS name (``curl --resolve``): it proves a distribution before DNS points at it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from runbook.context import RunContext
from runbook.kinds import register
from runbook.kinds.base import Check, CheckResult
from runbook.kinds.wire.common import (
    Connection,
    RedirectOptions,
    Status,
    client_for,
    status_matches,
    status_text,
)
from runbook.kinds.wire.net import WireError

if TYPE_CHECKING:
    from runbook.kinds.wire.client import Client, Fetched
    from runbook.kinds.wire.redirect import Walk

TextList = str | list[str]


def _pattern(text: str) -> re.Pattern[str]:
    """``/regex/`` or ``/regex/i`` is a regular expression; anything else literal text."""
    m = re.fullmatch(r"/(.*)/(i?)", text, re.DOTALL)
    if m:
        return re.compile(m.group(1), re.IGNORECASE if m.group(2) else 0)
    return re.compile(re.escape(text))


def _as_list(value: TextList | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class HttpGetParams(Connection):
    url: str = Field(description="the URL to request (http or https)")
    method: str = Field("GET", description="HTTP method: GET, HEAD, ...")
    status: Status = Field(
        200, description='the status that passes: a code, a list of codes, or a class like "2xx"')
    contains: TextList | None = Field(
        None, description="text the body must contain; /regex/ for a regular expression; "
        "a list: all of them")
    absent: TextList | None = Field(
        None, description="text the body must not contain; /regex/ for a regular expression; "
        "a list: none of them")
    headers: dict[str, str] = Field(
        default_factory=dict, description="header name: regular expression its value must "
        "match (searched, not anchored), or `absent` for a header that must not be sent")

    @field_validator("contains", "absent")
    @classmethod
    def _compiles(cls, value: TextList | None) -> TextList | None:
        for text in _as_list(value):
            try:
                _pattern(text)
            except re.error as exc:
                raise ValueError(f"{text!r} is not a valid regular expression: {exc}") from exc
        return value

    @field_validator("headers")
    @classmethod
    def _header_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            if pattern != "absent":
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"header {name}: {pattern!r} is not a valid regular "
                                     f"expression: {exc}") from exc
        return value

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        # It goes into the request line as written: a word, never spaces or line breaks.
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value):
            raise ValueError(f"{value!r} is not an HTTP method (GET, HEAD, ...)")
        return value.upper()

    @model_validator(mode="after")
    def _body_to_read(self) -> HttpGetParams:
        if self.method == "HEAD" and (self.contains is not None or self.absent is not None):
            raise ValueError("a HEAD request has no body: `contains` and `absent` need GET")
        return self


def _show(text: str) -> str:
    return text if re.fullmatch(r"/(.*)/(i?)", text, re.DOTALL) else repr(text)


@register
class HttpGet(Check[HttpGetParams]):
    kind = "http.get"
    Params = HttpGetParams
    summary = "request a URL; check its status, body and headers"

    def describe(self) -> str:
        p = self.params
        parts = [f"{p.url} answers {status_text(p.status)}"]
        if p.method != "GET":
            parts[0] = f"{p.method} {parts[0]}"
        parts += [f"contains {_show(t)}" for t in _as_list(p.contains)]
        parts += [f"does not contain {_show(t)}" for t in _as_list(p.absent)]
        for name, pattern in p.headers.items():
            parts.append(f"sends no {name} header" if pattern == "absent"
                         else f"sends {name} matching /{pattern}/")
        text = " and ".join(parts)
        return text + (f" (via {p.connect_to})" if p.connect_to else "")

    def run(self, ctx: RunContext) -> CheckResult:
        from runbook.kinds.wire.client import run

        p = self.params
        try:
            got = run(_get(client_for(ctx, p, [p.url]), p.url, p.method))
        except WireError as exc:
            return CheckResult.failed(exc.message, exc.outcome, url=p.url,
                                      connect_to=p.connect_to)
        seen = _observed(got, p.connect_to)
        problems = self._problems(got)
        if problems:
            return CheckResult.failed("; ".join(problems), **seen)
        found = [_show(t) for t in _as_list(p.contains)]
        return CheckResult.passed(f"{got.status} from {p.url}" +
                                  (f", {', '.join(found)} found" if found else ""), **seen)

    def _problems(self, got: Fetched) -> list[str]:
        p = self.params
        if not status_matches(p.status, got.status):
            where = f" (Location: {got.location})" if got.location else ""
            return [f"expected {status_text(p.status)} from {p.url}, got {got.status}{where}"]
        out: list[str] = []
        for text in _as_list(p.contains):
            if not _pattern(text).search(got.text):
                out.append(f"{p.url} answered {got.status} but does not contain {_show(text)}")
        for text in _as_list(p.absent):
            m = _pattern(text).search(got.text)
            if m:
                out.append(f"{p.url} contains {_show(text)} (found {m.group(0)[:80]!r})")
        for name, pattern in p.headers.items():
            value = got.headers.get(name.lower())
            if pattern == "absent":
                if value is not None:
                    out.append(f"header {name} is sent ({value!r}), expected absent")
            elif value is None:
                out.append(f"header {name} is missing, expected /{pattern}/")
            elif not re.search(pattern, value):
                out.append(f"header {name} is {value!r}, which does not match /{pattern}/")
        return out


async def _get(client: Client, url: str, method: str) -> Fetched:
    async with client:
        return await client.fetch(url, method)


def _observed(got: Fetched, connect_to: str | None) -> dict[str, Any]:
    return {"url": got.url, "status": got.status, "reason": got.reason,
            "location": got.location, "headers": got.headers,
            "body": got.text[:500], "encoding": got.encoding, "connect_to": connect_to}


class HttpRedirectParams(RedirectOptions):
    source: str = Field(alias="from", description="the URL that must redirect")
    to: str = Field(description="where it must end up (absolute URL)")


@register
class HttpRedirect(Check[HttpRedirectParams]):
    kind = "http.redirect"
    Params = HttpRedirectParams
    summary = "a URL redirects to another, hop by hop, with the right status"

    def describe(self) -> str:
        p = self.params
        return f"{p.source} redirects to {p.to}" + p.describe_options()

    def run(self, ctx: RunContext) -> CheckResult:
        from runbook.kinds.wire.client import run

        p = self.params
        try:
            client = client_for(ctx, p, [p.source])
        except WireError as exc:
            return CheckResult.failed(exc.message, exc.outcome, **{"from": p.source})
        result = run(_walk(client, p))
        seen = result.as_json()
        del seen["ok"], seen["message"], seen["outcome"]
        if result.ok:
            del seen["cause"]
            return CheckResult.passed(result.message, **seen)
        return CheckResult.failed(result.message, result.outcome, **seen)


async def _walk(client: Client, p: HttpRedirectParams) -> Walk:
    from runbook.kinds.wire.redirect import walk

    async with client:
        return await walk(client, p.source, p.to, allowed=p.allowed(), hops=p.hops,
                          keep_path=p.keep_path, keep_query=p.keep_query)


class HttpRedirectsParams(RedirectOptions):
    map: dict[str, str] | None = Field(None, description="old URL: new URL, inline")
    file: str | None = Field(
        None, description="CSV (old,new per row; a header row is skipped) or YAML (mapping, "
        "or list of {from, to}) of old -> new URLs, relative to the plan's folder")
    concurrency: int = Field(
        10, ge=1, le=256, description="redirects checked at once; they share keep-alive "
        "connections, one request on each at a time, so no host sees more connections "
        "than this")
    failures_csv: str | None = Field(
        None, description="also write every failure to this CSV file (relative to the "
        "plan's folder): from, to, cause, outcome, status, reached, hops, message")

    @field_validator("map")
    @classmethod
    def _stars(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        from runbook.kinds.wire.redirprefix import check_map

        return check_map(value)

    @model_validator(mode="after")
    def _one_source(self) -> HttpRedirectsParams:
        if (self.map is None) == (self.file is None):
            raise ValueError("give exactly one of `map` (inline) or `file`")
        return self


@register
class HttpRedirects(Check[HttpRedirectsParams]):
    kind = "http.redirects"
    Params = HttpRedirectsParams
    summary = "every old URL of a map redirects to its new URL (checked concurrently)"

    def describe(self) -> str:
        p = self.params
        what = f"the {len(p.map)} redirects given" if p.map is not None else \
            f"the redirects in {p.file}"
        return what + " work" + p.describe_options()

    def run(self, ctx: RunContext) -> CheckResult:
        from runbook.kinds.wire.bulk import check_all

        p = self.params
        return check_all(ctx, p, inline=p.map, file=p.file, concurrency=p.concurrency,
                         failures_csv=p.failures_csv)

