"""S3Store against moto: numbered events, run files, conditional locks, translated errors.

moto 5.2.5 enforces ``If-None-Match: *`` on PutObject and ``If-Match`` on DeleteObject
(pinned below); the answers it never gives (409 ConditionalRequestConflict, a store
without conditional deletes, AccessDenied) are played with botocore's Stubber.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from runbook.errors import StateError, UsageError
from runbook.store import LockInfo, open_store, resolve_location
from runbook.store.local import LocalStore
from runbook.store.s3 import S3Store, parse_url


def lock(key: str = "team@prod", lock_id: str = "aaa", run_id: str = "r1") -> LockInfo:
    return LockInfo(lock_id, key, run_id, "alice", "laptop", 42, "2026-01-01T00:00:00Z")


@pytest.fixture
def store(s3: Any, state: str) -> S3Store:
    return S3Store(state, client=s3)


def test_events_are_numbered_objects_written_once(store: S3Store, s3: Any,
                                                  bucket: str) -> None:
    store.create_run("r1")
    for seq in (1, 2, 10):
        store.append_event("r1", seq, {"seq": seq, "type": "t", "at": f"2026-01-0{seq % 9}"})
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "runbook/runs/r1/events/00000010.json" in keys
    assert [e["seq"] for e in store.events("r1")] == [1, 2, 10]  # 10 after 2: zero-padded
    assert store.last_event("r1") == {"seq": 10, "type": "t", "at": "2026-01-01"}
    with pytest.raises(StateError, match=r"event 2 of run r1 already exists .* another "
                       r"process is writing this run's journal"):
        store.append_event("r1", 2, {"seq": 2, "type": "other"})
    assert store.events("r1")[1]["type"] == "t"


def test_run_files_and_listing(store: S3Store) -> None:
    assert list(store.run_ids()) == []
    store.create_run("r2")
    store.create_run("r1")
    store.put("r1", "plan.json", b'{"a": 1}')
    store.put("r1", "plan.json", b'{"a": 2}')  # run files may be rewritten (heartbeat)
    assert store.get("r1", "plan.json") == b'{"a": 2}'
    assert store.get("r1", "nothing.json") is None
    assert list(store.run_ids()) == ["r1", "r2"]
    assert store.events("r1") == []
    with pytest.raises(StateError, match=r"no run 'nope' in s3://state-.*/runbook"):
        store.events("nope")


def test_lock_is_a_conditional_create_and_release_checks_the_id(store: S3Store) -> None:
    assert store.lock(lock()) is None
    holder = store.lock(lock(lock_id="bbb", run_id="r2"))
    assert holder == lock()  # the second taker learns who holds it
    assert store.locks() == [lock()]
    assert store.unlock("team@prod", "bbb") is False
    assert store.lock_holder("team@prod") == lock()
    assert store.unlock("team@prod", "aaa") is True
    assert store.lock_holder("team@prod") is None and store.locks() == []
    assert store.lock(lock(lock_id="ccc")) is None


def test_release_never_deletes_a_lock_taken_in_between(store: S3Store, s3: Any,
                                                        bucket: str) -> None:
    """Between reading the lock and deleting it, someone breaks it and takes it again:
    the delete is conditional on the ETag that was read, so the new lock survives."""
    store.lock(lock())
    real_delete = s3.delete_object
    key = "runbook/locks/team@prod.json"

    def delete_after_a_takeover(**kw: Any) -> Any:
        real_delete(Bucket=bucket, Key=key)
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(
            lock(lock_id="zzz").to_json()).encode())
        return real_delete(**kw)

    s3.delete_object = delete_after_a_takeover
    try:
        assert store.unlock("team@prod", "aaa") is False
    finally:
        del s3.delete_object
    assert store.lock_holder("team@prod") == lock(lock_id="zzz")


def test_moto_enforces_conditional_writes_and_deletes(s3: Any, bucket: str) -> None:
    """What the store relies on; docs/moto-gaps.md. If this fails, moto changed."""
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as taken:
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert taken.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as stale:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch='"not-the-etag"')
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=first["ETag"])
    # versioned, as docs/team.md asks: a delete marker counts as "no object"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    again = s3.put_object(Bucket=bucket, Key="k", Body=b"3", IfNoneMatch="*")
    with pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="k", Body=b"4", IfNoneMatch="*")
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=again["ETag"])
    s3.put_object(Bucket=bucket, Key="k", Body=b"5", IfNoneMatch="*")


def test_a_conflicting_conditional_write_in_flight_is_a_taken_lock(store: S3Store,
                                                                    s3: Any) -> None:
    """AWS answers 409 ConditionalRequestConflict while another conditional write of the
    key is in flight (moto never does): the lock is taken; look at who has it."""
    body = json.dumps(lock().to_json()).encode()
    with Stubber(s3) as stub:
        stub.add_client_error("put_object", "ConditionalRequestConflict", "in flight", 409)
        stub.add_response("get_object", {"Body": _Body(body), "ETag": '"e1"'})
        assert store.lock(lock(lock_id="mine")) == lock()
        stub.assert_no_pending_responses()


def test_store_without_conditional_deletes_falls_back_after_checking_the_id(
        store: S3Store, s3: Any) -> None:
    body = json.dumps(lock().to_json()).encode()
    with Stubber(s3) as stub:
        stub.add_response("get_object", {"Body": _Body(body), "ETag": '"e1"'})
        stub.add_client_error("delete_object", "NotImplemented", "no If-Match here", 501)
        stub.add_response("delete_object", {}, {"Bucket": store.bucket,
                                                "Key": "runbook/locks/team@prod.json"})
        assert store.unlock("team@prod", "aaa") is True
        stub.assert_no_pending_responses()


def test_access_denied_is_one_paragraph_naming_bucket_and_key(store: S3Store,
                                                              s3: Any) -> None:
    with Stubber(s3) as stub:
        stub.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
        with pytest.raises(StateError) as err:
            store.lock(lock())
    text = str(err.value)
    assert text.startswith(f"the run state store could not take the lock "
                           f"s3://{store.bucket}/runbook/locks/team@prod.json: AWS denied "
                           "s3:PutObject")
    assert "RUNBOOK_STATE_PROFILE" in text and "\n" not in text


def test_missing_bucket_and_unreachable_endpoint(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(StateError, match="the state bucket 'no-such-state' does not exist"):
        list(S3Store("s3://no-such-state/x", client=s3).run_ids())
    import boto3

    dead = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        aws_access_key_id="t", aws_secret_access_key="t")
    with pytest.raises(StateError, match=r"could not reach http://127\.0\.0\.1:9"):
        S3Store("s3://b/x", client=dead).lock(lock())


def test_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_url("s3://b") == ("b", "")
    assert parse_url("s3://b/team/runs/") == ("b", "team/runs/")
    with pytest.raises(UsageError, match="write s3://bucket/prefix"):
        parse_url("s3:///x")
    monkeypatch.delenv("RUNBOOK_STATE_DIR", raising=False)
    monkeypatch.setenv("RUNBOOK_STATE", "s3://from-env/x")
    assert resolve_location(None) == "s3://from-env/x"
    # the plan's own state: wins over a variable left in someone's shell
    assert resolve_location(None, plan_state="s3://team/p") == "s3://team/p"
    assert resolve_location(None, plan_state="state", plan_dir=tmp_path) == str(
        tmp_path / "state")
    assert resolve_location("s3://opt/x", plan_state="s3://team/p") == "s3://opt/x"
    monkeypatch.delenv("RUNBOOK_STATE")
    assert resolve_location(None) == ".runbook"
    assert isinstance(open_store("s3://b/p"), S3Store)
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    with pytest.raises(UsageError, match="give a folder or s3://bucket/prefix"):
        open_store("gs://b/p")


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data
