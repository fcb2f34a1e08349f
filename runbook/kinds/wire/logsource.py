"""Where ``http.replay`` reads its logs: local files and folders, or an S3 prefix.

Both CloudFront layouts are found under a prefix by listing it whole: legacy standard
logging writes ``PREFIX/DISTRIBUTIONID.YYYY-MM-DD-HH.UNIQUE.gz``; standard logging v2 to
S3 writes under ``PREFIX/AWSLogs/ACCOUNT/CloudFront/``, optionally partitioned by
distribution and ``YYYY/MM/DD/HH`` (Hive-style ``year=YYYY/...`` too). A file whose
name or folders give its hour, and whose hour ends well before the window, is not read;
with ``distribution``, a file named after another distribution is not either.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from runbook.context import RunContext

# Logs reach S3 up to an hour or more after the requests they hold: a file is skipped
# only when its hour ended this long before the window began.
SLACK = dt.timedelta(hours=3)
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})")
_PARTS = re.compile(r"(?:^|/)(?:year=)?(\d{4})/(?:month=)?(\d{2})/(?:day=)?(\d{2})/"
                    r"(?:hour=)?(\d{2})(?:/|$)")
_DIST = re.compile(r"(?:^|/)(E[A-Z0-9]{6,})\.\d{4}-\d{2}-\d{2}-\d{2}\.")
_DIST_PART = re.compile(r"(?:^|/)(?:DistributionId=)?(E[A-Z0-9]{6,})/")


class SourceError(Exception):
    """The logs cannot be read at all: one paragraph saying why."""


@dataclass(frozen=True)
class LogFile:
    name: str  # as shown in messages: a path, or s3://bucket/key
    open: Callable[[], IO[bytes]]


def hour_of(name: str) -> dt.datetime | None:
    """The hour a log file's name or folders give, or None."""
    m = _STAMP.search(name.rsplit("/", 1)[-1]) or _PARTS.search(name)
    if m is None:
        return None
    try:
        return dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), tzinfo=dt.UTC)
    except ValueError:
        return None


def wanted(name: str, *, since: dt.datetime | None, distribution: str | None) -> bool:
    if distribution:
        m = _DIST.search(name) or _DIST_PART.search(name)
        if m is not None and m[1] != distribution:
            return False
    hour = hour_of(name)
    return since is None or hour is None or hour + dt.timedelta(hours=1) + SLACK >= since


def local_files(plan_dir: Path, entry: str) -> list[LogFile]:
    """A file, a folder (every file under it) or a glob, relative to the plan's folder."""
    base = plan_dir / entry
    if base.is_dir():
        paths = sorted(p for p in base.rglob("*") if p.is_file())
    elif base.is_file():
        paths = [base]
    else:
        paths = sorted(p for p in plan_dir.glob(entry) if p.is_file()) \
            if not Path(entry).is_absolute() else \
            sorted(p for p in Path("/").glob(entry.lstrip("/")) if p.is_file())
        if not paths:
            raise SourceError(f"no log file matches {entry} (looked for {base}): check the "
                              "path, which is relative to the plan's folder")
    return [LogFile(str(p), _opener(p)) for p in paths]


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def s3_files(ctx: RunContext, url: str) -> list[LogFile]:
    """Every object under ``s3://bucket/prefix``; a missing bucket, an empty prefix or a
    refusal is a SourceError saying which."""
    from runbook.kinds.aws.common import AwsApiError, pages

    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise SourceError(f"{url} names no bucket: write it as s3://BUCKET/PREFIX")
    client = ctx.client("s3")
    try:
        keys = [str(o["Key"]) for o in pages(client, "list_objects_v2", "Contents",
                                             f"s3://{bucket}/{prefix}", Bucket=bucket,
                                             Prefix=prefix)]
    except AwsApiError as exc:
        if exc.code == "NoSuchBucket":
            raise SourceError(f"the log bucket {bucket} does not exist (reading {url}). "
                              "Check the bucket the distribution logs to (its `Logging` "
                              "setting, or the v2 log delivery's destination).") from exc
        raise SourceError(f"cannot list the logs under {url}: {exc}") from exc
    if not keys:
        raise SourceError(
            f"there are no log files under {url}. Legacy standard logging writes to the "
            "prefix set on the distribution; standard logging v2 writes under "
            "AWSLogs/ACCOUNT/CloudFront/ unless its delivery says otherwise. Check the "
            "prefix, and that logging is on.")
    return [LogFile(f"s3://{bucket}/{k}", _s3_opener(ctx, bucket, k)) for k in keys
            if not k.endswith("/")]


def _s3_opener(ctx: RunContext, bucket: str, key: str) -> Callable[[], IO[bytes]]:
    def read() -> IO[bytes]:
        from runbook.kinds.aws.common import AwsApiError, call

        try:
            body = call(ctx.client("s3"), "get_object", f"s3://{bucket}/{key}",
                        Bucket=bucket, Key=key)["Body"]
        except AwsApiError as exc:
            raise SourceError(f"cannot read the log file s3://{bucket}/{key}: {exc}") from exc
        data = body.read() if hasattr(body, "read") else bytes(body)
        return io.BufferedReader(io.BytesIO(data))

    return read


def files(ctx: RunContext, entries: list[str], *, since: dt.datetime | None,
          distribution: str | None) -> Iterator[LogFile]:
    """The log files of every entry (``s3://...`` or local), those outside the window or
    of another distribution left out."""
    for entry in entries:
        found = s3_files(ctx, entry) if entry.startswith("s3://") else \
            local_files(ctx.plan_dir, entry)
        for f in found:
            if wanted(f.name, since=since, distribution=distribution):
                yield f
