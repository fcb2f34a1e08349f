"""The parameters of ``http.replay`` (kinds/wire/replay.py), apart so that the work
under it (replayrun.py) can name them without importing the kind."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from runbook.durations import Duration
from runbook.kinds.wire.common import Connection, Status

LoggedStatus = int | str  # 200 or "2xx"


class ReplayParams(Connection):
    logs: list[str] | None = Field(
        None, description="CloudFront standard access logs: s3://BUCKET/PREFIX, or local "
        "files, folders or globs relative to the plan's folder (gzip or not)")
    csv: str | None = Field(
        None, description="instead of logs: a CSV of url[,count] (an optional header row), "
        "relative to the plan's folder")
    distribution: str | None = Field(
        None, description="read only the log files of this distribution (a bucket shared "
        "by several)")
    host: str | None = Field(None, description="only requests for this host (the name the "
                             "visitor asked for)")
    window: Duration = Field(86400.0, description="only requests in the last this long "
                             "(logs; a CSV has no time)")
    top: int = Field(1000, ge=1, le=1_000_000, description="replay the N most requested "
                     "distinct URLs")
    status: list[LoggedStatus] = Field(
        ["2xx", "3xx"], description="only requests that were answered with these then "
        "(codes or classes like 2xx): a URL that was already broken is not a regression")
    method: list[str] = Field(["GET", "HEAD"], description="only requests made with these "
                              "methods")
    path_prefix: str = Field("", description="only paths starting with this")
    query: Literal["keep", "drop"] = Field(
        "keep", description="keep each URL's query string (distinct URLs) or drop it "
        "(one URL per path)")
    ask: Literal["GET", "HEAD"] = Field("GET", description="the method the URLs are "
                                        "asked with now")
    at: str | None = Field(
        None, description="ask every URL of this site instead (scheme://host[:port]), "
        "path and query kept; default: as logged, through any redirect")
    expect: Status = Field("2xx", description="where each URL must end: a code, a list, "
                           "or a class like 2xx")
    hops: int = Field(3, ge=0, le=20, description="most redirects followed to get there")
    ends_on: str | None = Field(None, description="the host every URL must end on (the "
                                "new site), when it matters")
    concurrency: int = Field(20, ge=1, le=512, description="URLs asked at once")
    failures_csv: str | None = Field(
        None, description="write every failure to this CSV (relative to the plan's "
        "folder): url, requests, cause, status, reached, hops, message")
    no_data: Literal["fail", "pass"] = Field(
        "fail", description="what a window without a matching request means: `fail` "
        "(nothing was proved) or `pass`")

    @model_validator(mode="after")
    def _one_source(self) -> ReplayParams:
        if (self.logs is None) == (self.csv is None):
            raise ValueError("give exactly one of `logs` (access logs) or `csv`")
        if self.logs is not None and not self.logs:
            raise ValueError("`logs` is empty: name an s3:// prefix or local files")
        return self

    @field_validator("method")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [m.upper() for m in value]

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: list[LoggedStatus]) -> list[LoggedStatus]:
        for s in value:
            text = str(s)
            if not (text.isdigit() and len(text) == 3) and not (
                    len(text) == 3 and text[0] in "12345" and text[1:] == "xx"):
                raise ValueError(f"{s!r} is not a status: a code like 200 or a class "
                                 "like 2xx")
        return value

    @field_validator("at")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or \
                parts.path not in ("", "/"):
            raise ValueError(f"{value!r} is not a site: write it as https://host[:port]")
        return f"{parts.scheme}://{parts.netloc}"
