"""The S3 store: ``s3://bucket/prefix`` holds a team's runs and locks.

Layout under the prefix::

    runs/<run_id>/events/00000001.json   one object per event, written once
    runs/<run_id>/plan.json              and other run files (``put``)
    locks/<plan>@<env>.json              a lock: who, where, when, which run

S3 has no append, so each event is its own object named by its zero-padded sequence
number and written with ``If-None-Match: *``: two writers can never both write event N,
and nothing is ever read, changed and written back. Locks use the same conditional
create; they are released by a delete conditional on the lock object's ETag, so a
release can never remove a lock that someone else has taken since.

The client, the error codes and their translation are the AWS kinds' own
(:mod:`runbook.kinds.aws.common`: ``RunContext.client``, ``error_code``, ``translate``,
``credential_trouble``), the same wording as the AWS kinds, wrapped in :class:`StateError`
naming the bucket and key.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from runbook.errors import NoSuchRunError, StateError, UsageError
from runbook.kinds.aws.common import credential_trouble, error_code, is_botocore, translate
from runbook.store.base import LockInfo, Store, no_run

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

SEQ_DIGITS = 8
_FETCHERS = 16
# Codes S3 answers a conditional request with when the condition does not hold (412), or
# when another conditional write of the same key is in flight (409).
_PRECONDITION = {"PreconditionFailed", "412"}
_CONFLICT = {"ConditionalRequestConflict", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


def parse_url(url: str) -> tuple[str, str]:
    """("bucket", "prefix/") from ``s3://bucket/prefix``; the prefix may be empty."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UsageError(f"{url!r} is not an S3 location: write s3://bucket/prefix")
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


def make_client(endpoint_url: str | None = None) -> S3Client:
    """An S3 client for the state bucket, from the operator's own AWS set-up, made as
    every AWS client of runbook is (``RunContext.client``).

    ``RUNBOOK_STATE_PROFILE``, ``RUNBOOK_STATE_REGION`` and ``RUNBOOK_STATE_ENDPOINT_URL``
    point it elsewhere than the plain AWS_* variables: the state bucket often lives in a
    tooling account, not in the account a plan's environment changes. A profile that does
    not exist is reported at the first call, translated as any other error.
    """
    from runbook.context import AwsSettings, RunContext

    # Few, quick attempts: an unreachable state bucket should stop a run in seconds.
    settings = AwsSettings(profile=os.environ.get("RUNBOOK_STATE_PROFILE") or None,
                           region=os.environ.get("RUNBOOK_STATE_REGION") or None,
                           endpoint_url=endpoint_url or os.environ.get(
                               "RUNBOOK_STATE_ENDPOINT_URL") or None,
                           max_attempts=3, connect_timeout=5, read_timeout=20)
    client: S3Client = RunContext(aws=settings).client("s3")
    return client


class S3Store(Store):
    def __init__(self, url: str, *, client: S3Client | None = None,
                 endpoint_url: str | None = None) -> None:
        self.bucket, self.prefix = parse_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self._client = client
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = make_client(self._endpoint_url)
        return self._client

    # ---- keys and calls ----------------------------------------------------------------

    def _run_key(self, run_id: str, name: str = "") -> str:
        if not run_id or "/" in run_id or run_id in (".", ".."):
            raise StateError(f"{run_id!r} is not a run id")
        return f"{self.prefix}runs/{run_id}/{name}"

    def _lock_key(self, key: str) -> str:
        return f"{self.prefix}locks/{key}.json"

    def _call(self, what: str, key: str, fn: Callable[[], T], *,
              operation: str = "PutObject") -> T:
        try:
            return fn()
        except Exception as exc:
            if not is_botocore(exc):
                raise
            raise _translated(exc, what, f"s3://{self.bucket}/{key}", operation=operation,
                              bucket=self.bucket) from exc

    def _put(self, key: str, body: bytes, *, create_only: bool = False) -> str:
        """Write ``key``; returns its ETag. ``create_only``: fail (412) if it exists."""
        kw: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": body,
                              "ContentType": "application/json"}
        if create_only:
            kw["IfNoneMatch"] = "*"
        return str(self.client.put_object(**kw).get("ETag", ""))

    def _read(self, key: str) -> tuple[bytes, str] | None:
        """(body, ETag) of ``key``, or None when there is no such object."""
        def get() -> tuple[bytes, str] | None:
            try:
                got = self.client.get_object(Bucket=self.bucket, Key=key)
            except Exception as exc:
                if error_code(exc) in _MISSING:
                    return None
                raise
            return got["Body"].read(), str(got.get("ETag", ""))

        return self._call("read", key, get, operation="GetObject")

    def _keys(self, prefix: str) -> list[str]:
        def listing() -> list[str]:
            out: list[str] = []
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix):
                out.extend(obj["Key"] for obj in page.get("Contents", []) if "Key" in obj)
            return out

        return self._call("list", prefix, listing, operation="ListObjectsV2")

    # ---- runs --------------------------------------------------------------------------

    def create_run(self, run_id: str) -> None:
        # A run "exists" once it has objects; this marker makes it listable at once and
        # proves the store is writable before anything else happens.
        key = self._run_key(run_id, "created")
        self._call("create a run", key, lambda: self._put(key, b"{}", create_only=True))

    def append_event(self, run_id: str, seq: int, event: dict[str, Any]) -> None:
        key = self._run_key(run_id, f"events/{seq:0{SEQ_DIGITS}d}.json")
        body = json.dumps(event, sort_keys=True, default=str).encode()

        def write() -> None:
            try:
                self._put(key, body, create_only=True)
            except Exception as exc:
                if error_code(exc) in _PRECONDITION | _CONFLICT:
                    raise StateError(
                        f"event {seq} of run {run_id} already exists in {self.url} "
                        f"(s3://{self.bucket}/{key}): another process is writing this run's "
                        "journal. Stop one of them; `runbook locks` shows who holds the "
                        "lock") from exc
                raise

        self._call("write the journal", key, write)

    def events(self, run_id: str) -> list[dict[str, Any]]:
        keys = sorted(self._keys(self._run_key(run_id, "events/")))
        if not keys:
            if self._read(self._run_key(run_id, "plan.json")) is None:
                raise NoSuchRunError(no_run(run_id, self.url))
            return []
        with ThreadPoolExecutor(max_workers=min(_FETCHERS, len(keys))) as pool:
            bodies = list(pool.map(self._read, keys))
        out = []
        for key, got in zip(keys, bodies, strict=True):
            if got is None:  # listed, then gone: someone deleted it under us
                raise StateError(f"the journal of run {run_id} lost s3://{self.bucket}/{key} "
                                 "while it was read")
            try:
                out.append(json.loads(got[0]))
            except json.JSONDecodeError:
                raise StateError(f"the journal object s3://{self.bucket}/{key} is not JSON: "
                                 "it was written by something other than runbook") from None
        return out

    def last_event(self, run_id: str) -> dict[str, Any] | None:
        # One GET instead of the whole journal: lock listings ask this for every lock.
        keys = self._keys(self._run_key(run_id, "events/"))
        got = self._read(max(keys)) if keys else None
        try:
            return dict(json.loads(got[0])) if got else None
        except (ValueError, TypeError):
            return None

    def put(self, run_id: str, name: str, data: bytes) -> None:
        key = self._run_key(run_id, name)
        self._call("write a run file", key, lambda: self._put(key, data))

    def get(self, run_id: str, name: str) -> bytes | None:
        got = self._read(self._run_key(run_id, name))
        return got[0] if got else None

    def run_ids(self) -> Iterator[str]:
        root = f"{self.prefix}runs/"

        def listing() -> list[str]:
            out: list[str] = []
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=root, Delimiter="/"):
                out.extend(p["Prefix"][len(root):].rstrip("/")
                           for p in page.get("CommonPrefixes", []) if "Prefix" in p)
            return out

        yield from sorted(self._call("list the runs", root, listing,
                                    operation="ListObjectsV2"))

    # ---- locks -------------------------------------------------------------------------

    def lock(self, info: LockInfo) -> LockInfo | None:
        key = self._lock_key(info.key)
        body = json.dumps(info.to_json(), sort_keys=True).encode()
        for attempt in range(5):
            try:
                self._call("take the lock", key, lambda: self._create(key, body))
                return None
            except _Taken:
                holder = self.lock_holder(info.key)
                if holder is not None:
                    return holder
                # released between our write and our read, or still being written by
                # the winner of a race (409): look again shortly
                time.sleep(0.2 * (attempt + 1))
        return LockInfo("unknown", info.key, "?", "?", "?", 0, "?")

    def _create(self, key: str, body: bytes) -> None:
        try:
            self._put(key, body, create_only=True)
        except Exception as exc:
            if error_code(exc) in _PRECONDITION | _CONFLICT:
                raise _Taken() from exc
            raise

    def lock_holder(self, key: str) -> LockInfo | None:
        got = self._read(self._lock_key(key))
        return None if got is None else _lock_info(key, got[0])

    def unlock(self, key: str, lock_id: str) -> bool:
        s3key = self._lock_key(key)
        got = self._read(s3key)
        if got is None or _lock_info(key, got[0]).lock_id != lock_id:
            return False
        etag = got[1]

        def delete() -> bool:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=s3key, IfMatch=etag)
            except Exception as exc:
                code = error_code(exc)
                if code in _PRECONDITION | _MISSING:
                    return False  # replaced or released since we read it: not ours now
                if code != "NotImplemented":
                    raise
                # S3-compatible stores without conditional deletes: the lock id was checked
                # just above; a lock taken in the instant between is lost (docs/team.md)
                self.client.delete_object(Bucket=self.bucket, Key=s3key)
            return True

        return self._call("release the lock", s3key, delete, operation="DeleteObject")

    def locks(self) -> list[LockInfo]:
        root = f"{self.prefix}locks/"
        out = []
        for s3key in sorted(self._keys(root)):
            name = s3key[len(root):]
            if not name.endswith(".json"):
                continue
            holder = self.lock_holder(name[:-len(".json")])
            if holder is not None:
                out.append(holder)
        return out


class _Taken(Exception):
    """The lock object exists already."""


def _lock_info(key: str, body: bytes) -> LockInfo:
    try:
        return LockInfo.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError):
        return LockInfo("unreadable", key, "?", "?", "?", 0, "?")


def _translated(exc: Exception, what: str, where: str, *, operation: str,
                bucket: str = "") -> StateError:
    """One paragraph: what the store tried, on which object, and what AWS said."""
    code = error_code(exc)
    if code == "NoSuchBucket":
        return StateError(
            f"the state bucket {bucket!r} does not exist (or is not visible to these "
            f"credentials), so runbook could not {what} {where}. Create it as docs/team.md "
            "describes, or fix the s3:// location (--state, RUNBOOK_STATE or the plan's "
            "`state:`).")
    aws = translate(exc, service="s3", operation=operation, resource=where or "the state store")
    text = f"the run state store could not {what}{' ' + where if where else ''}: {aws.message}"
    if credential_trouble(exc):
        text += (" The state store uses the shell's AWS settings (AWS_PROFILE, AWS_REGION, "
                 "or RUNBOOK_STATE_PROFILE and RUNBOOK_STATE_REGION), not the environment's "
                 "`aws:`; docs/team.md lists the permissions it needs.")
    return StateError(text)
