"""``s3.upload``: a local build folder to ``s3://bucket/prefix``, sending only what changed.

A file is sent when its key is missing or its MD5 differs from the object's ETag (the
ETag of a single-part upload, which is what this kind makes, is the MD5; an object
uploaded in parts has another kind of ETag and is sent again). Content types come from
file names, ``Cache-Control`` from the first pattern that matches.

Restore puts back what apply overwrote or deleted, and deletes what it added. With
bucket versioning on, the snapshot records the version ids and restore copies those
versions back; without it, the snapshot keeps the bytes of every file apply will
overwrite or delete, up to ``backup_limit``: a step that would need more is refused
before anything is sent, saying why.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import mimetypes
from typing import Any, ClassVar

from pydantic import Field

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.common import call, pages
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot

PROGRESS_EVERY = 25  # files between progress lines


class UploadParams(Params):
    source: str = Field(description="the local build folder, relative to the plan's folder")
    bucket: str = Field(description="the bucket to upload to")
    prefix: str = Field("", description="key prefix, e.g. site/ ('' for the bucket's root)")
    cache_control: dict[str, str] = Field(
        default_factory=dict, description="file pattern: Cache-Control value; the first "
        "pattern that matches a file's path (relative to `source`) wins, e.g. "
        "{'*.html': 'no-cache', 'assets/*': 'max-age=31536000, immutable'}")
    delete: bool = Field(False, description="also delete objects under the prefix that "
                         "the folder does not have")
    backup_limit: int = Field(
        5 * 1024 * 1024, ge=0, description="bytes of overwritten or deleted objects the "
        "snapshot may keep when the bucket has no versioning (larger: the step is refused)")


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _etag(value: str) -> str:
    return value.strip('"')


@register
class Upload(Action[UploadParams]):
    kind = "s3.upload"
    uses_aws = True
    Params = UploadParams
    summary = "upload a local build folder to a bucket prefix, only changed files"
    outputs: ClassVar[dict[str, str]] = {
        "uploaded": "how many files were sent",
        "deleted": "how many objects were deleted",
        "prefix": "the key prefix",
    }

    @property
    def _prefix(self) -> str:
        p = self.params.prefix.lstrip("/")
        return p if not p or p.endswith("/") else p + "/"

    def describe(self) -> str:
        p = self.params
        return (f"upload {p.source}/ to s3://{p.bucket}/{self._prefix}"
                + (", deleting what the folder lacks" if p.delete else ""))

    # ---- reading both sides ----------------------------------------------------------

    def _local(self, ctx: RunContext) -> dict[str, dict[str, Any]]:
        root = ctx.plan_dir / self.params.source
        if not root.is_dir():
            raise KindError(f"the build folder {root} does not exist (or is not a folder): "
                            "is the site built?")
        out = {}
        for path in sorted(root.rglob("*")):
            if path.is_file():
                rel = path.relative_to(root).as_posix()
                data = path.read_bytes()
                out[rel] = {"md5": _md5(data), "size": len(data),
                            "type": self._type(rel), "cache": self._cache(rel)}
        if not out:
            raise KindError(f"the build folder {root} is empty: nothing to upload")
        return out

    def _type(self, rel: str) -> str:
        guessed, _ = mimetypes.guess_type(rel)
        if guessed and (guessed.startswith("text/") or guessed in (
                "application/javascript", "image/svg+xml")):
            return f"{guessed}; charset=utf-8"
        return guessed or "application/octet-stream"

    def _cache(self, rel: str) -> str | None:
        return next((v for k, v in self.params.cache_control.items()
                     if fnmatch.fnmatchcase(rel, k)), None)

    def _remote(self, ctx: RunContext) -> dict[str, dict[str, Any]]:
        p, prefix = self.params, self._prefix
        found = pages(ctx.client("s3"), "list_objects_v2", "Contents",
                      f"s3://{p.bucket}/{prefix}", Bucket=p.bucket, Prefix=prefix)
        return {o["Key"][len(prefix):]: {"etag": _etag(str(o.get("ETag", ""))),
                                         "size": o.get("Size")} for o in found}

    def _versioned(self, ctx: RunContext) -> bool:
        got = call(ctx.client("s3"), "get_bucket_versioning", f"bucket {self.params.bucket}",
                   Bucket=self.params.bucket)
        return got.get("Status") == "Enabled"

    @staticmethod
    def _plan(local: dict[str, Any], remote: dict[str, Any],
              delete: bool) -> tuple[list[str], list[str], list[str]]:
        added = sorted(k for k in local if k not in remote)
        changed = sorted(k for k in local if k in remote
                         and remote[k]["etag"] != local[k]["md5"])
        removed = sorted(k for k in remote if k not in local) if delete else []
        return added, changed, removed

    # ---- the action ------------------------------------------------------------------

    def snapshot(self, ctx: RunContext) -> Snapshot:
        p = self.params
        local, remote = self._local(ctx), self._remote(ctx)
        added, changed, removed = self._plan(local, remote, p.delete)
        touched = changed + removed
        snap: Snapshot = {"remote": remote, "added": added, "touched": touched,
                          "versioned": self._versioned(ctx), "versions": {}, "backup": {}}
        s3 = ctx.client("s3")
        if snap["versioned"]:
            for rel in touched:
                head = call(s3, "head_object", f"s3://{p.bucket}/{self._prefix}{rel}",
                            Bucket=p.bucket, Key=self._prefix + rel)
                snap["versions"][rel] = head.get("VersionId")
            return snap
        need = sum(int(remote[k]["size"] or 0) for k in touched)
        if need > p.backup_limit:
            raise KindError(
                f"bucket {p.bucket} has no versioning, so to be able to put back the "
                f"{len(touched)} objects this upload would overwrite or delete, the snapshot "
                f"must keep their bytes: {need} bytes, more than backup_limit "
                f"({p.backup_limit}). Turn on versioning for the bucket, or raise "
                "backup_limit. Nothing was sent")
        for rel in touched:
            got = s3.get_object(Bucket=p.bucket, Key=self._prefix + rel)
            snap["backup"][rel] = {
                "data": base64.b64encode(got["Body"].read()).decode(),
                "type": got.get("ContentType"), "cache": got.get("CacheControl")}
        return snap

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        p, base = self.params, f"s3://{self.params.bucket}/{self._prefix}"
        local, remote = self._local(ctx), snapshot["remote"]
        added, changed, removed = self._plan(local, remote, p.delete)

        def about(rel: str) -> str:
            f = local[rel]
            return f"{f['size']} bytes, {f['type']}" + (f", {f['cache']}" if f["cache"] else "")

        changes = [Change(base + k, None, about(k)) for k in added]
        changes += [Change(base + k, f"etag {remote[k]['etag']}", about(k)) for k in changed]
        changes += [Change(base + k, f"{remote[k]['size']} bytes", None) for k in removed]
        same = len(local) - len(added) - len(changed)
        how = "by version id" if snapshot["versioned"] else "from the bytes the snapshot keeps"
        note = (f"{len(added)} files added, {len(changed)} changed, {len(removed)} removed, "
                f"{same} unchanged (not sent); restore puts back what is overwritten {how}")
        return Diff(tuple(changes), note)

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        root, s3 = ctx.plan_dir / p.source, ctx.client("s3")
        local = self._local(ctx)
        added, changed, removed = self._plan(local, self._remote(ctx), p.delete)
        todo = added + changed
        for i, rel in enumerate(todo, start=1):
            f, key = local[rel], self._prefix + rel
            kw: dict[str, Any] = {"ContentType": f["type"]}
            if f["cache"]:
                kw["CacheControl"] = f["cache"]
            call(s3, "put_object", f"s3://{p.bucket}/{key}", Bucket=p.bucket, Key=key,
                 Body=(root / rel).read_bytes(), **kw)
            if i % PROGRESS_EVERY == 0 and i < len(todo):
                ctx.progress(f"uploaded {i} of {len(todo)} files to s3://{p.bucket}/"
                             f"{self._prefix}")
        self._delete(ctx, [self._prefix + k for k in removed])
        return {"uploaded": len(todo), "deleted": len(removed), "prefix": self._prefix,
                "etags": {k: local[k]["md5"] for k in todo}}

    def _delete(self, ctx: RunContext, keys: list[str]) -> None:
        p = self.params
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            got = call(ctx.client("s3"), "delete_objects", f"bucket {p.bucket}",
                       Bucket=p.bucket, Delete={"Objects": [{"Key": k} for k in chunk],
                                                "Quiet": True})
            errors: list[dict[str, Any]] = got.get("Errors", [])
            if errors:
                raise KindError(f"could not delete {len(errors)} objects from {p.bucket}: "
                                f"{errors[0].get('Key')}: {errors[0].get('Message')}")

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """The counts and ETags apply returns follow from the files and the snapshot: the
        plan apply made from them (it compared the same files with the same objects)."""
        local = self._local(ctx)
        added, changed, removed = self._plan(local, snapshot["remote"], self.params.delete)
        todo = added + changed
        return {"uploaded": len(todo), "deleted": len(removed), "prefix": self._prefix,
                "etags": {k: local[k]["md5"] for k in todo}}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        p, s3 = self.params, ctx.client("s3")
        now = self._remote(ctx)
        # from the snapshot alone: also right after a run killed half-way
        self._delete(ctx, [self._prefix + k for k in snapshot["added"] if k in now])
        for rel in snapshot["touched"]:
            key, what = self._prefix + rel, f"s3://{p.bucket}/{self._prefix}{rel}"
            if snapshot["versioned"]:
                # an object written before versioning was turned on is version "null"
                version = snapshot["versions"].get(rel) or "null"
                source = {"Bucket": p.bucket, "Key": key, "VersionId": version}
                call(s3, "copy_object", what, Bucket=p.bucket, Key=key, CopySource=source)
                continue
            kept = snapshot["backup"][rel]
            kw: dict[str, Any] = {}
            if kept.get("type"):
                kw["ContentType"] = kept["type"]
            if kept.get("cache"):
                kw["CacheControl"] = kept["cache"]
            call(s3, "put_object", what, Bucket=p.bucket, Key=key,
                 Body=base64.b64decode(kept["data"]), **kw)

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        now = self._remote(ctx)
        sent: dict[str, str] = applied.get("etags", {})
        moved = [k for k, md5 in sent.items() if now.get(k, {}).get("etag") != md5]
        if not moved:
            return None
        return (f"{len(moved)} of the {len(sent)} files this run uploaded to "
                f"s3://{self.params.bucket}/{self._prefix} changed or are gone since: "
                f"{', '.join(moved[:3])}")

