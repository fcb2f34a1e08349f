"""s3.upload against the moto server: only changed files are sent, the diff names them,
restore puts back what was overwritten (by version id, or from the snapshot's bytes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.aws.upload import Upload

from .conftest import journal
from .world import World


def upload(**params: Any) -> Upload:
    return Upload(Upload.Params(**{"source": "build", "bucket": "site", **params}))


def build(ctx: RunContext, tmp_path: Path, files: dict[str, str]) -> None:
    ctx.plan_dir = tmp_path
    root = tmp_path / "build"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def body(world: World, key: str) -> str:
    return str(world.s3.get_object(Bucket="site", Key=key)["Body"].read().decode())


def test_upload_sends_only_what_changed_and_restore_puts_it_back(
        ctx: RunContext, world: World, tmp_path: Path) -> None:
    world.bucket("site", {"docs/index.html": "old home", "docs/keep.txt": "same"})
    build(ctx, tmp_path, {"index.html": "new home", "keep.txt": "same",
                          "assets/app.js": "console.log(1)", "img/logo.png": "PNG"})
    step = upload(prefix="docs", cache_control={"*.html": "no-cache",
                                                "assets/*": "max-age=31536000, immutable"})
    snap = journal(step.snapshot(ctx))
    diff = step.diff(ctx, snap)
    assert [(c.path, c.old, c.new) for c in diff.changes] == [
        ("s3://site/docs/assets/app.js", None,
         "14 bytes, text/javascript; charset=utf-8, max-age=31536000, immutable"),
        ("s3://site/docs/img/logo.png", None, "3 bytes, image/png"),
        ("s3://site/docs/index.html", f"etag {snap['remote']['index.html']['etag']}",
         "8 bytes, text/html; charset=utf-8, no-cache"),
    ]
    assert diff.note == ("2 files added, 1 changed, 0 removed, 1 unchanged (not sent); "
                         "restore puts back what is overwritten from the bytes the snapshot "
                         "keeps")
    out = journal(step.apply(ctx, snap))
    assert out["uploaded"] == 3 and out["deleted"] == 0
    head = world.s3.head_object(Bucket="site", Key="docs/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"] == "no-cache"
    assert body(world, "docs/index.html") == "new home"
    assert step.drifted(ctx, out) is None
    # a second run of the same build sends nothing
    again = step.diff(ctx, journal(step.snapshot(ctx)))
    assert again.empty and again.note is not None and again.note.startswith(
        "0 files added, 0 changed, 0 removed, 4 unchanged")
    step.restore(ctx, snap, out)
    assert world.keys("site").keys() == {"docs/index.html", "docs/keep.txt"}
    assert body(world, "docs/index.html") == "old home"


def test_versioned_bucket_restores_by_version_id(ctx: RunContext, world: World,
                                                 tmp_path: Path) -> None:
    world.bucket("site", {"index.html": "v1", "gone.html": "old page"})
    world.s3.put_bucket_versioning(Bucket="site",
                                   VersioningConfiguration={"Status": "Enabled"})
    world.s3.put_object(Bucket="site", Key="index.html", Body=b"v2")
    build(ctx, tmp_path, {"index.html": "v3"})
    step = upload(delete=True, backup_limit=0)
    snap = journal(step.snapshot(ctx))
    assert snap["backup"] == {} and set(snap["versions"]) == {"index.html", "gone.html"}
    assert [c.path for c in step.diff(ctx, snap).changes if c.new is None] == [
        "s3://site/gone.html"]
    out = journal(step.apply(ctx, snap))
    assert out["deleted"] == 1 and world.keys("site").keys() == {"index.html"}
    step.restore(ctx, snap, out)
    assert body(world, "index.html") == "v2" and body(world, "gone.html") == "old page"


def test_without_versioning_a_large_overwrite_is_refused_before_anything_is_sent(
        ctx: RunContext, world: World, tmp_path: Path) -> None:
    world.bucket("site", {"big.bin": "x" * 2000})
    build(ctx, tmp_path, {"big.bin": "y" * 2000, "new.txt": "n"})
    with pytest.raises(KindError) as err:
        upload(backup_limit=1000).snapshot(ctx)
    assert str(err.value) == (
        "bucket site has no versioning, so to be able to put back the 1 objects this upload "
        "would overwrite or delete, the snapshot must keep their bytes: 2000 bytes, more "
        "than backup_limit (1000). Turn on versioning for the bucket, or raise "
        "backup_limit. Nothing was sent")
    assert world.keys("site").keys() == {"big.bin"}


def test_drift_names_an_uploaded_file_changed_by_someone_else(
        ctx: RunContext, world: World, tmp_path: Path) -> None:
    world.bucket("site")
    build(ctx, tmp_path, {"a.html": "a", "b.html": "b"})
    step = upload()
    snap = journal(step.snapshot(ctx))
    out = journal(step.apply(ctx, snap))
    world.s3.put_object(Bucket="site", Key="b.html", Body=b"hotfix")
    assert step.drifted(ctx, out) == ("1 of the 2 files this run uploaded to s3://site/ "
                                      "changed or are gone since: b.html")


def test_a_missing_build_folder_is_named(ctx: RunContext, world: World,
                                         tmp_path: Path) -> None:
    world.bucket("site")
    ctx.plan_dir = tmp_path
    with pytest.raises(KindError, match=r"the build folder .*/build does not exist"):
        upload().snapshot(ctx)


def test_progress_is_reported_on_long_uploads(ctx: RunContext, world: World,
                                              tmp_path: Path) -> None:
    world.bucket("site")
    build(ctx, tmp_path, {f"p/{i}.html": str(i) for i in range(60)})
    lines: list[str] = []
    ctx.progress = lines.append
    step = upload(prefix="v2/")
    step.apply(ctx, journal(step.snapshot(ctx)))
    assert lines == ["uploaded 25 of 60 files to s3://site/v2/",
                     "uploaded 50 of 60 files to s3://site/v2/"]
