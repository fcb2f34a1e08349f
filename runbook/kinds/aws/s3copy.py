"""``s3.copy``: copy a prefix (a built app version) from one bucket to another.

It never overwrites: keys already in the target with the same content are left alone,
and keys there with different content stop the copy before anything is written. So
restore can be exact without versioning: it deletes the keys this run created, which
the snapshot names (source keys minus those that already existed), and nothing else.
The drift guard compares the ETag of each object this run wrote: an object overwritten
since (or deleted) stops the rollback before anything is deleted.
Registered by ``runbook.kinds.aws.s3``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.common import call, pages
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot


class CopyParams(Params):
    source_bucket: str = Field(description="bucket to copy from")
    source_prefix: str = Field(description="prefix to copy, e.g. v1.42.0/")
    bucket: str = Field(description="bucket to copy to")
    prefix: str | None = Field(None, description="target prefix; default: source_prefix")


def _listing(ctx: RunContext, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    """relative key -> {etag, size} of every object under ``prefix``."""
    found = pages(ctx.client("s3"), "list_objects_v2", "Contents",
                  f"s3://{bucket}/{prefix}", Bucket=bucket, Prefix=prefix)
    return {o["Key"][len(prefix):]: {"etag": str(o.get("ETag", "")), "size": o.get("Size")}
            for o in found}


def _same(source: dict[str, Any], target: dict[str, Any]) -> bool:
    """Same content, as far as S3 tells: the ETag of a multipart upload ("...-3") is not
    the MD5 of the content, and a copy of it gets another one, so sizes decide there."""
    if source["etag"] == target["etag"]:
        return True
    return "-" in source["etag"] and source["size"] == target["size"]


@register
class S3Copy(Action[CopyParams]):
    kind = "s3.copy"
    uses_aws = True
    Params = CopyParams
    summary = "copy a prefix between buckets without overwriting; restore deletes the copies"
    outputs: ClassVar[dict[str, str]] = {
        "created": "target keys this run wrote",
        "count": "how many objects were copied",
        "prefix": "the target prefix",
    }

    def _target(self) -> str:
        p = self.params
        return p.source_prefix if p.prefix is None else p.prefix

    def describe(self) -> str:
        p = self.params
        return f"copy s3://{p.source_bucket}/{p.source_prefix} to s3://{p.bucket}/{self._target()}"

    def snapshot(self, ctx: RunContext) -> Snapshot:
        p = self.params
        source = _listing(ctx, p.source_bucket, p.source_prefix)
        target = _listing(ctx, p.bucket, self._target())
        return {"source": source, "existing": {k: target[k] for k in source if k in target}}

    def _plan(self, snapshot: Snapshot) -> tuple[list[str], list[str]]:
        """(keys to copy, keys that exist with other content)."""
        source, existing = snapshot["source"], snapshot["existing"]
        todo = sorted(k for k in source if k not in existing)
        clash = sorted(k for k in source if k in existing and not _same(source[k], existing[k]))
        return todo, clash

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        p, t = self.params, self._target()
        todo, clash = self._plan(snapshot)
        if not snapshot["source"]:
            return Diff((), f"nothing under s3://{p.source_bucket}/{p.source_prefix}: apply fails")
        note = f"{len(snapshot['existing']) - len(clash)} identical objects already there"
        if clash:
            note += f"; {len(clash)} differ and stop the copy: {', '.join(clash[:3])}"
        return Diff(tuple(Change(f"s3://{p.bucket}/{t}{k}", None, snapshot["source"][k])
                          for k in todo), note)

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p, t = self.params, self._target()
        todo, clash = self._plan(snapshot)
        if not snapshot["source"]:
            raise KindError(f"there is nothing under s3://{p.source_bucket}/{p.source_prefix}"
                            " to copy: is the version built?")
        if clash:
            raise KindError(
                f"{len(clash)} objects under s3://{p.bucket}/{t} differ from the source "
                f"({', '.join(clash[:3])}); s3.copy never overwrites. Nothing was copied")
        s3 = ctx.client("s3")
        created: list[str] = []
        etags: dict[str, str] = {}
        for i, rel in enumerate(todo):
            key = t + rel
            got = call(s3, "copy_object", f"s3://{p.bucket}/{key}", Bucket=p.bucket, Key=key,
                       CopySource={"Bucket": p.source_bucket, "Key": p.source_prefix + rel})
            created.append(key)
            etags[key] = str(got.get("CopyObjectResult", {}).get("ETag", ""))
            if i % 50 == 49:
                ctx.progress(f"copied {i + 1} of {len(todo)} objects")
        # etags: what the drift guard compares before restore deletes anything
        return {"created": created, "count": len(created), "prefix": t, "etags": etags}

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """The objects apply created and their ETags are read back: those of the snapshot's
        plan that are there now (apply never overwrites, so they are this run's copies)."""
        p, t = self.params, self._target()
        todo, _ = self._plan(snapshot)
        now = _listing(ctx, p.bucket, t)
        created = [t + k for k in todo if k in now]
        return {"created": created, "count": len(created), "prefix": t,
                "etags": {t + k: now[k]["etag"] for k in todo if k in now}}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        p, t = self.params, self._target()
        todo, _ = self._plan(snapshot)  # from the snapshot alone: works after a crash
        now = _listing(ctx, p.bucket, t)
        doomed = [t + k for k in todo if k in now]
        s3 = ctx.client("s3")
        for start in range(0, len(doomed), 1000):
            chunk = doomed[start:start + 1000]
            got = call(s3, "delete_objects", f"bucket {p.bucket}", Bucket=p.bucket,
                       Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
            errors: list[dict[str, Any]] = got.get("Errors", [])
            if errors:
                raise KindError(f"could not delete {len(errors)} copied objects from "
                                f"{p.bucket}: {errors[0].get('Key')}: {errors[0].get('Message')}")

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        return bool(before["existing"] == now["existing"])

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        p, t = self.params, self._target()
        todo, _ = self._plan(snapshot)
        now = _listing(ctx, p.bucket, t)
        left = [t + k for k in todo if k in now]
        if left:
            return f"{len(left)} objects this run copied are still in {p.bucket}: {left[0]}"
        changed = [t + k for k, o in snapshot["existing"].items()
                   if now.get(k, {}).get("etag") != o["etag"]]
        if changed:
            return (f"{len(changed)} objects that were there before the copy are gone or "
                    f"changed in {p.bucket}: {changed[0]}")
        return None

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        p, t = self.params, self._target()
        now = _listing(ctx, p.bucket, t)
        created: list[str] = applied.get("created", [])
        gone = [k for k in created if k[len(t):] not in now]
        if gone:
            return f"{len(gone)} objects this run copied are gone from {p.bucket}: {gone[0]}"
        etags: dict[str, str] = applied.get("etags") or {}
        changed = [k for k in created
                   if etags.get(k) and now[k[len(t):]]["etag"] != etags[k]]
        if changed:
            k = changed[0]
            return (f"{len(changed)} objects this run copied were overwritten in {p.bucket} "
                    f"since: {k} (ETag now {now[k[len(t):]]['etag']}, this run wrote "
                    f"{etags[k]})")
        return None
