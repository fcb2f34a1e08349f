"""The drift guard covers every field every restore writes.

For each action kind: apply, then someone else changes one thing the restore would write
(overwrite it, delete it), then the run is rolled back by the engine. The rollback must
refuse (exit 3, "drifted"), name what changed, and leave the world as that person left
it. Kinds with nothing runbook writes back are not here: ``manual`` (a person undoes
it), ``wait`` and ``cloudfront.invalidate`` (irreversible, nothing to restore).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runbook.cli.operator import ScriptedOperator
from runbook.context import RunContext
from runbook.engine.executor import Executor, RunOptions
from runbook.engine.journal import AppliedStep, Journal, RunState
from runbook.kinds import action as action_class
from runbook.plan.model import ActionSpec, Environment, Plan, Rollback, Stage, Step
from runbook.store.local import LocalStore

from .conftest import journal
from .world import World

SITE = {"v1/index.html": "<title>TIS Self-Service v1", "v1/app.js": "js"}
OTHER = {"Sid": "Theirs", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site-blue/*"}

Setup = Callable[[World], dict[str, Any]]          # prepares the world, returns params
Meddle = Callable[[World, dict[str, Any]], Any]    # someone else's change after apply
State = Callable[[World, dict[str, Any]], Any]     # what the restore would write


def _copy(w: World) -> dict[str, Any]:
    w.bucket("site-blue", SITE)
    w.bucket("old-site")
    return {"source_bucket": "site-blue", "source_prefix": "v1/", "bucket": "old-site"}


def _bucket(w: World) -> dict[str, Any]:
    w.bucket("site-blue", SITE)
    d = w.distribution("site-blue")
    return {"bucket": "site-green", "allow_cloudfront": d["Id"]}


def _policy(w: World) -> dict[str, Any]:
    w.bucket("site-blue", SITE)
    return {"bucket": "site-blue", "policy": {"Version": "2012-10-17", "Statement": [OTHER]}}


def _redirect(w: World) -> dict[str, Any]:
    w.bucket("old-site")
    return {"bucket": "old-site", "to": "trainee.tis.nhs.uk"}


def _update(w: World) -> dict[str, Any]:
    w.bucket("site-blue", SITE)
    d = w.distribution("site-blue")
    return {"id": d["Id"], "origin": {"path": "/v2"}}


def _record(w: World) -> dict[str, Any]:
    w.zone("example.com")
    return {"zone": "example.com", "name": "www.example.com", "type": "A",
            "values": ["192.0.2.1"], "ttl": 300}


def _cf_edit(w: World, p: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> None:
    got = w.cf.get_distribution_config(Id=p["id"])
    config = got["DistributionConfig"]
    edit(config)
    w.cf.update_distribution(Id=p["id"], IfMatch=got["ETag"], DistributionConfig=config)


def _origin_path(c: dict[str, Any]) -> None:
    c["Origins"]["Items"][0]["OriginPath"] = "/v3"


def _root(c: dict[str, Any]) -> None:
    c["DefaultRootObject"] = "other.html"


def _zone_id(w: World) -> str:
    zones = w.r53.list_hosted_zones()["HostedZones"]
    return str(zones[0]["Id"]).rsplit("/", 1)[-1]


CASES: list[tuple[str, str, Setup, Meddle, State, str]] = [
    ("s3.copy", "overwritten object", _copy,
     lambda w, p: w.s3.put_object(Bucket="old-site", Key="v1/index.html",
                                  Body=b"<title>someone else's page, 63 bytes long......"),
     lambda w, p: w.keys("old-site"),
     "were overwritten in old-site since: v1/index.html (ETag now"),
    ("s3.copy", "deleted object", _copy,
     lambda w, p: w.s3.delete_object(Bucket="old-site", Key="v1/app.js"),
     lambda w, p: w.keys("old-site"), "are gone from old-site: v1/app.js"),
    ("s3.bucket", "its policy", _bucket,
     lambda w, p: w.s3.put_bucket_policy(Bucket="site-green", Policy=__import__("json").dumps(
         {"Version": "2012-10-17", "Statement": [{**OTHER, "Resource":
                                                  "arn:aws:s3:::site-green/*"}]})),
     lambda w, p: w.policy("site-green"), "the policy of bucket site-green changed"),
    ("s3.bucket_policy", "the policy", _policy,
     lambda w, p: w.s3.delete_bucket_policy(Bucket="site-blue"),
     lambda w, p: w.policy("site-blue"), "the policy of bucket site-blue changed"),
    ("s3.redirect", "the website", _redirect,
     lambda w, p: w.s3.put_bucket_website(Bucket="old-site", WebsiteConfiguration={
         "RedirectAllRequestsTo": {"HostName": "elsewhere.example.com", "Protocol": "https"}}),
     lambda w, p: w.website("old-site"), "RedirectAllRequestsTo.HostName is now "
                                         "'elsewhere.example.com'"),
    ("cloudfront.update", "the origin path", _update,
     lambda w, p: _cf_edit(w, p, _origin_path),
     lambda w, p: w.config(p["id"]), "OriginPath is now '/v3'"),
    ("cloudfront.update", "another field of the config", _update,
     lambda w, p: _cf_edit(w, p, _root),
     lambda w, p: w.config(p["id"]), "DefaultRootObject is now 'other.html'"),
    ("route53.record", "the values", _record,
     lambda w, p: w.put_record(_zone_id(w), "www.example.com", "A", ["192.0.2.9"]),
     lambda w, p: w.records(_zone_id(w)), "record.values is now ['192.0.2.9']"),
]


@pytest.mark.parametrize(("kind", "what", "setup", "meddle", "state", "named"), CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_restore_refuses_what_someone_changed_after_apply(
        ctx: RunContext, world: World, tmp_path: Path, kind: str, what: str, setup: Setup,
        meddle: Meddle, state: State, named: str) -> None:
    params = setup(world)
    cls = action_class(kind)
    assert cls is not None
    action = cls(cls.Params.model_validate(params))
    snap = journal(action.snapshot(ctx))
    outputs = journal(action.apply(ctx, snap))
    meddle(world, params)
    theirs = state(world, params)

    step = Step(id="x", stage="s", action=ActionSpec(kind=kind, params=params),
                rollback=Rollback())
    plan = Plan(name="guard", environment=Environment(name="test"),
                stages=(Stage(name="s", steps=(step,)),))
    store = LocalStore(tmp_path / "state")
    store.create_run("r1")
    run = RunState(run_id="r1", applied={"x": AppliedStep("x", snap, params, outputs, True)})
    op = ScriptedOperator(interactive=False)
    ex = Executor(plan, ctx, Journal(store, "r1"), op, RunOptions(on_failure="rollback"),
                  state=run)
    outcome = ex.rollback("asked for")
    assert outcome.exit_code == 3, outcome
    assert "step x drifted" in outcome.message and named in outcome.message, outcome.message
    assert state(world, params) == theirs  # their change is left as they made it
    assert outcome.still_applied == ("x",)
