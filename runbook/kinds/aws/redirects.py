"""``cloudfront.redirects``: a redirect map applied at the edge, the way AWS recommends for
large maps: a CloudFront Function (viewer request) made from our one template, which
reads the map from a CloudFront KeyValueStore, associated with one behaviour of a
distribution.

Three things change, in this order, and restore undoes them in the reverse order: the
store's keys (created if it does not exist), the function (created or updated, then
published), the behaviour's viewer-request association (then the distribution deploys).
The map is the whole truth for its store: keys not in it are deleted. The snapshot keeps
the store's keys, the function's code and the association as they were.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws import redirmap
from runbook.kinds.aws.common import AwsApiError, call, call_or_none, items, read_distribution
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot

BATCH = 50  # keys per UpdateKeys call
RUNTIME = "cloudfront-js-2.0"
_NO_FUNCTION = ("NoSuchFunctionExists",)
_NO_STORE = ("EntityNotFound", "ResourceNotFoundException", "NoSuchResource")


class Bookmark(Params):
    message: str = Field(min_length=1, max_length=300, description="e.g. 'This site has "
                         "moved: please update your bookmarks.'")
    seconds: int = Field(5, ge=0, le=60, description="before the page forwards")
    others: Literal["redirect", "origin"] = Field(
        "redirect", description="what requests that are not HTML navigations get: the "
        "redirect, or the origin untouched (an origin that redirects them itself, such as "
        "an S3 website redirect: the function then owns only the page)")


class RedirectsParams(Params):
    id: str = Field(description="distribution id")
    map: dict[str, str] | None = Field(None, description="old URL: new URL, inline")
    file: str | None = Field(
        None, description="the map http.redirects reads (CSV: old,new[,status]; YAML: "
        "mapping, or list of {from, to[, status, keep_query]}), relative to the plan")
    status: Literal[301, 302, 307, 308] = Field(301, description="status of entries that "
                                                "give none")
    keep_query: bool = Field(False, description="carry the request's query string to the "
                             "new URL (entries may say otherwise)")
    path_pattern: str | None = Field(
        None, description="the cache behaviour to attach the function to (its PathPattern); "
        "default: the default behaviour")
    bookmark: Bookmark | None = Field(
        None, description="an HTML navigation gets a short page with this message, the new "
        "link and a timed forward instead of the redirect; other requests what `others` "
        "says")
    name: str | None = Field(None, description="name of the function and of its "
                             "KeyValueStore; default runbook-redirects-ID")
    wait: bool = Field(True, description="wait until the distribution is Deployed")
    timeout: Duration = Field(1800.0, description="how long to wait for the deploy")
    every: Duration = Field(20.0, description="how often to ask while waiting")

    @model_validator(mode="after")
    def _one_source(self) -> RedirectsParams:
        if (self.map is None) == (self.file is None):
            raise ValueError("give exactly one of `map` (inline) or `file`")
        return self

    @field_validator("map")
    @classmethod
    def _stars(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        from runbook.kinds.wire.redirprefix import check_map

        return check_map(value)


def kvs_client(ctx: RunContext) -> Any:
    """The KeyValueStore data-plane client. Its endpoint rules put the account id in
    front of the host (123456789012.cloudfront-kvs.global.api.aws); with a custom
    endpoint (the sandbox) that name resolves nowhere, so requests go to the endpoint as
    given."""
    from botocore.compat import HAS_CRT

    if not HAS_CRT:
        raise KindError("the CloudFront KeyValueStore API is signed with SigV4A, which needs "
                        "the Python package awscrt: pip install awscrt (runbook depends on "
                        "it; this environment lacks it)")
    client = ctx.client("cloudfront-keyvaluestore", "us-east-1")
    if ctx.aws.endpoint_url and not getattr(client, "_runbook_host_kept", False):
        host = urlsplit(ctx.aws.endpoint_url).netloc

        def keep_host(request: Any, **_: Any) -> None:
            parts = urlsplit(request.url)
            if parts.netloc != host:
                request.url = urlunsplit(parts._replace(netloc=host))

        client.meta.events.register("before-send.cloudfront-keyvaluestore", keep_host)
        client._runbook_host_kept = True
    return client


@register
class Redirects(Action[RedirectsParams]):
    kind = "cloudfront.redirects"
    uses_aws = True
    Params = RedirectsParams
    summary = "apply a redirect map at the edge: a CloudFront Function reading a KeyValueStore"
    outputs: ClassVar[dict[str, str]] = {
        "function_arn": "the redirect function's ARN",
        "kvs_arn": "the KeyValueStore's ARN",
        "entries": "how many redirects the store holds",
        "domain_name": "the distribution's *.cloudfront.net name (for `connect_to`: "
                       "check the redirects before DNS moves)",
    }

    # ---- naming and reading ----------------------------------------------------------

    @property
    def _name(self) -> str:
        return self.params.name or f"runbook-redirects-{self.params.id}"

    @property
    def _behaviour(self) -> str:
        p = self.params.path_pattern
        return f"behaviour {p}" if p else "the default behaviour"

    def describe(self) -> str:
        p = self.params
        what = f"{len(p.map)} redirects" if p.map is not None else f"the redirects in {p.file}"
        return (f"apply {what} at the edge of distribution {p.id} ({self._behaviour}) with "
                f"function {self._name}")

    def _entries(self, ctx: RunContext) -> list[redirmap.Entry]:
        p = self.params
        entries = redirmap.read(ctx.plan_dir, p.map, p.file, status=p.status,
                                keep_query=p.keep_query)
        if p.bookmark is None:
            return entries
        from dataclasses import replace

        return [replace(e, message=p.bookmark.message, seconds=p.bookmark.seconds,
                        to_origin=p.bookmark.others == "origin") for e in entries]

    def _store(self, ctx: RunContext) -> dict[str, Any] | None:
        got = call_or_none(ctx.client("cloudfront"), "describe_key_value_store",
                           f"KeyValueStore {self._name}", missing=_NO_STORE, Name=self._name)
        if got is None:
            return None
        s = got["KeyValueStore"]
        return {"arn": s["ARN"], "id": s["Id"], "etag": got.get("ETag", "")}

    def _keys(self, ctx: RunContext, arn: str) -> tuple[dict[str, str], str]:
        kvs, keys = kvs_client(ctx), {}
        token: str | None = None
        while True:
            kw: dict[str, Any] = {"KvsARN": arn, "MaxResults": 50}
            if token:
                kw["NextToken"] = token
            got = call(kvs, "list_keys", f"KeyValueStore {self._name}", **kw)
            keys.update({i["Key"]: i["Value"] for i in got.get("Items", [])})
            token = got.get("NextToken")
            if not token:
                break
        etag = call(kvs, "describe_key_value_store", f"KeyValueStore {self._name}",
                    KvsARN=arn).get("ETag", "")
        return keys, str(etag)

    def _function(self, ctx: RunContext) -> dict[str, Any] | None:
        cf, what = ctx.client("cloudfront"), f"function {self._name}"
        dev = call_or_none(cf, "describe_function", what, missing=_NO_FUNCTION,
                           Name=self._name, Stage="DEVELOPMENT")
        if dev is None:
            return None
        code = call(cf, "get_function", what, Name=self._name, Stage="DEVELOPMENT")
        live = call_or_none(cf, "get_function", what, missing=_NO_FUNCTION, Name=self._name,
                            Stage="LIVE")
        summary = dev["FunctionSummary"]
        return {"arn": summary["FunctionMetadata"]["FunctionARN"], "etag": dev["ETag"],
                "config": _config(summary["FunctionConfig"]),
                "code": _text(code["FunctionCode"]),
                "live_code": _text(live["FunctionCode"]) if live else None}

    def _dist(self, ctx: RunContext) -> tuple[dict[str, Any], str]:
        got = call(ctx.client("cloudfront"), "get_distribution_config",
                   f"distribution {self.params.id}", Id=self.params.id)
        return dict(got["DistributionConfig"]), str(got["ETag"])

    def _behaviour_of(self, config: dict[str, Any]) -> dict[str, Any]:
        pattern = self.params.path_pattern
        if pattern is None:
            return dict(config["DefaultCacheBehavior"])
        for b in items(config.get("CacheBehaviors")):
            if b.get("PathPattern") == pattern:
                return dict(b)
        have = ", ".join(b.get("PathPattern", "") for b in items(config.get("CacheBehaviors")))
        raise KindError(f"distribution {self.params.id} has no cache behaviour with path "
                        f"pattern {pattern} (it has: {have or 'only the default one'})")

    def _viewer_fn(self, config: dict[str, Any]) -> str | None:
        return next((a["FunctionARN"] for a in items(self._behaviour_of(config).get(
            "FunctionAssociations")) if a.get("EventType") == "viewer-request"), None)

    # ---- the action ------------------------------------------------------------------

    def snapshot(self, ctx: RunContext) -> Snapshot:
        self._entries(ctx)  # a bad map stops here, before anything changes
        store = self._store(ctx)
        keys, data_etag = self._keys(ctx, store["arn"]) if store else ({}, "")
        config, _ = self._dist(ctx)
        return {"store": store, "keys": keys, "keys_etag": data_etag,
                "function": self._function(ctx),
                "associations": items(self._behaviour_of(config).get("FunctionAssociations"))}

    def _refuse_foreign(self, snapshot: Snapshot) -> None:
        fn = snapshot["function"]
        ours = fn["arn"] if fn else None
        other = next((a["FunctionARN"] for a in snapshot["associations"]
                      if a.get("EventType") == "viewer-request"), None)
        if other and other != ours and not other.endswith(f":function/{self._name}"):
            raise KindError(
                f"{self._behaviour} of distribution {self.params.id} already runs function "
                f"{other.rsplit('/', 1)[-1]} on viewer requests, and CloudFront allows one "
                "function per event type: merge the redirects into it, or give `name` of it")

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        self._refuse_foreign(snapshot)
        want = redirmap.store_keys(self._entries(ctx))
        have: dict[str, str] = snapshot["keys"]
        # the prefixes' depths follow from the entries: not shown as a redirect of its own
        shown = redirmap.DEPTHS_KEY
        changes = [Change(redirmap.label(k), redirmap.show(have.get(k)), redirmap.show(v))
                   for k, v in want.items() if have.get(k) != v and k != shown]
        gone = [Change(redirmap.label(k), redirmap.show(v), None)
                for k, v in sorted(have.items()) if k not in want and k != shown]
        added = sum(1 for c in changes if c.old is None)
        changed = len(changes) - added
        fn, store = snapshot["function"], snapshot["store"]
        new_code = redirmap.code(store["id"]) if store else redirmap.template().encode()
        old_live = fn["live_code"] if fn else None
        if old_live is None or old_live.encode() != new_code:
            changes.append(Change(f"function {self._name} (LIVE code)",
                                  _about(old_live.encode()) if old_live is not None else None,
                                  _about(new_code)))
        arn = fn["arn"] if fn else f"arn:aws:cloudfront::(account):function/{self._name}"
        old_arn = next((a["FunctionARN"] for a in snapshot["associations"]
                        if a.get("EventType") == "viewer-request"), None)
        if old_arn != arn:
            changes.append(Change(f"{self._behaviour} viewer-request function", old_arn, arn))
        note = (f"{added} redirects added, {changed} changed, {len(gone)} removed in "
                f"KeyValueStore {self._name}" + ("" if store else " (created)"))
        if self.params.wait and changes:
            note += (f"; waits up to {format_duration(self.params.timeout)} for distribution "
                     f"{self.params.id} to deploy")
        return Diff(tuple(changes + gone), note)

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        self._refuse_foreign(snapshot)
        entries = self._entries(ctx)
        store = self._store(ctx) or self._create_store(ctx)
        self._sync(ctx, store["arn"], redirmap.store_keys(entries))
        arn = self._put_function(ctx, redirmap.code(store["id"]), store["arn"])
        self._associate(ctx, [*self._others(ctx), {"FunctionARN": arn,
                                                   "EventType": "viewer-request"}])
        return self.recover(ctx, snapshot)

    def _create_store(self, ctx: RunContext) -> dict[str, Any]:
        call(ctx.client("cloudfront"), "create_key_value_store",
             f"KeyValueStore {self._name}", Name=self._name,
             Comment=f"redirect map of distribution {self.params.id} (runbook)")

        def ready() -> tuple[bool, str]:
            found = self._store(ctx)
            got = call(ctx.client("cloudfront"), "describe_key_value_store",
                       f"KeyValueStore {self._name}", Name=self._name)
            status = str(got["KeyValueStore"].get("Status", ""))
            return found is not None and status == "READY", status

        ok, status = ctx.poll(ready, timeout=300, every=5,
                              what=f"waiting for KeyValueStore {self._name}")
        made = self._store(ctx)
        if not ok or made is None:
            raise KindError(f"KeyValueStore {self._name} is still {status} after 5m")
        return made

    def _sync(self, ctx: RunContext, arn: str, want: dict[str, str]) -> None:
        """Make the store hold exactly ``want``, 50 keys per call, each call guarded by
        the store's ETag."""
        have, etag = self._keys(ctx, arn)
        puts = [{"Key": k, "Value": v} for k, v in want.items() if have.get(k) != v]
        deletes = [{"Key": k} for k in sorted(have) if k not in want]
        todo = [("Puts", x) for x in puts] + [("Deletes", x) for x in deletes]
        kvs = kvs_client(ctx)
        for start in range(0, len(todo), BATCH):
            chunk = todo[start:start + BATCH]
            kw: dict[str, Any] = {"KvsARN": arn, "IfMatch": etag}
            for part in ("Puts", "Deletes"):
                got = [x for kind, x in chunk if kind == part]
                if got:
                    kw[part] = got
            etag = str(call(kvs, "update_keys", f"KeyValueStore {self._name}", **kw)["ETag"])
            if len(todo) > BATCH:
                ctx.progress(f"KeyValueStore {self._name}: {min(start + BATCH, len(todo))} of "
                             f"{len(todo)} keys written")

    def _put_function(self, ctx: RunContext, code: bytes, store_arn: str | None) -> str:
        cf, what = ctx.client("cloudfront"), f"function {self._name}"
        config: dict[str, Any] = {"Comment": f"redirects of distribution {self.params.id} "
                                  "(runbook)", "Runtime": RUNTIME}
        if store_arn:
            config["KeyValueStoreAssociations"] = {"Quantity": 1, "Items": [
                {"KeyValueStoreARN": store_arn}]}
        fn = self._function(ctx)
        if fn is None:
            etag = call(cf, "create_function", what, Name=self._name, FunctionConfig=config,
                        FunctionCode=code)["ETag"]
        else:
            etag = fn["etag"]
            if fn["code"].encode() != code or fn["config"] != _config(config):
                etag = call(cf, "update_function", what, Name=self._name, IfMatch=etag,
                            FunctionConfig=config, FunctionCode=code)["ETag"]
        now = self._function(ctx)
        assert now is not None
        if now["live_code"] is None or now["live_code"].encode() != code:
            call(cf, "publish_function", what, Name=self._name, IfMatch=etag)
        return str(now["arn"])

    def _others(self, ctx: RunContext) -> list[dict[str, Any]]:
        config, _ = self._dist(ctx)
        return [a for a in items(self._behaviour_of(config).get("FunctionAssociations"))
                if a.get("EventType") != "viewer-request"]

    def _associate(self, ctx: RunContext, assoc: list[dict[str, Any]]) -> None:
        """Set the behaviour's function associations to ``assoc`` (read-modify-write of
        that one field, retried once on a stale ETag), then wait for the deploy."""
        for attempt in (1, 2):
            config, etag = self._dist(ctx)
            new = copy.deepcopy(config)
            behaviour = self._behaviour_of(new)
            if items(behaviour.get("FunctionAssociations")) == assoc:
                break
            node = new["DefaultCacheBehavior"] if self.params.path_pattern is None else next(
                b for b in items(new.get("CacheBehaviors"))
                if b.get("PathPattern") == self.params.path_pattern)
            node["FunctionAssociations"] = {"Quantity": len(assoc), "Items": assoc} \
                if assoc else {"Quantity": 0}
            try:
                call(ctx.client("cloudfront"), "update_distribution",
                     f"distribution {self.params.id}", Id=self.params.id, IfMatch=etag,
                     DistributionConfig=new)
                break
            except AwsApiError as exc:
                if exc.code != "PreconditionFailed" or attempt == 2:
                    raise
        self._wait(ctx)

    def _wait(self, ctx: RunContext) -> None:
        p = self.params
        if not p.wait:
            return

        def deployed() -> tuple[bool, str]:
            status = str(read_distribution(ctx, p.id)[0].get("Status", ""))
            return status.lower() == "deployed", status

        ok, status = ctx.poll(deployed, timeout=p.timeout, every=p.every,
                              what=f"waiting for distribution {p.id} to deploy")
        if not ok:
            raise KindError(f"distribution {p.id} is still {status} after "
                            f"{format_duration(p.timeout)}: the change is saved and CloudFront "
                            "is still deploying it; raise `timeout` or check the console")

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        store, fn = self._store(ctx), self._function(ctx)
        keys = self._keys(ctx, store["arn"])[0] if store else {}
        config, _ = self._dist(ctx)
        dist, _ = read_distribution(ctx, self.params.id)
        return {"function_arn": fn["arn"] if fn else None,
                "domain_name": dist.get("DomainName"),
                "kvs_arn": store["arn"] if store else None,
                "entries": sum(1 for k in keys if k != redirmap.DEPTHS_KEY),
                "keys_digest": redirmap.digest(keys),
                "code_digest": redirmap.digest((fn or {}).get("live_code", "").encode()
                                               if fn and fn["live_code"] else b""),
                "viewer_function": self._viewer_fn(config)}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        self._associate(ctx, list(snapshot["associations"]))
        cf, what = ctx.client("cloudfront"), f"function {self._name}"
        before, now = snapshot["function"], self._function(ctx)
        if before is None and now is not None:
            call(cf, "delete_function", what, Name=self._name, IfMatch=now["etag"])
        elif before is not None and now is not None:
            if before["live_code"] is not None and now["live_code"] != before["live_code"]:
                etag = call(cf, "update_function", what, Name=self._name, IfMatch=now["etag"],
                            FunctionConfig=_unconfig(before["config"]),
                            FunctionCode=before["live_code"].encode())["ETag"]
                call(cf, "publish_function", what, Name=self._name, IfMatch=etag)
            again = self._function(ctx)
            if again is not None and (again["code"], again["config"]) != (before["code"],
                                                                          before["config"]):
                call(cf, "update_function", what, Name=self._name, IfMatch=again["etag"],
                     FunctionConfig=_unconfig(before["config"]),
                     FunctionCode=before["code"].encode())
        store = self._store(ctx)
        if snapshot["store"] is None and store is not None:
            call(cf, "delete_key_value_store", f"KeyValueStore {self._name}",
                 Name=self._name, IfMatch=store["etag"])
        elif store is not None:
            self._sync(ctx, store["arn"], dict(snapshot["keys"]))
        answered = not (self.params.bookmark and self.params.bookmark.others == "origin")
        try:  # the map as the plan gives it now: a file gone since must not fail the restore
            statuses = {e.status for e in self._entries(ctx)}
        except KindError:
            statuses = {self.params.status}
        permanent = sorted(statuses & {301, 308})
        if permanent and answered:  # journaled: the proof covers the distribution only
            codes = " and ".join(str(c) for c in permanent)
            ctx.note(f"distribution {self.params.id} no longer answers these {codes} "
                     "redirects, but browsers that followed one keep it without expiry and "
                     "keep going to its new URL until their caches let go",
                     cached_301=True)

    # one association per event type: CloudFront keeps them as a set
    sets = {"associations": "EventType"}

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        # every write changes the function's and the store's ETags: compare without them
        return super().unchanged(_unstamped(before), _unstamped(now))

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if "keys_digest" not in applied:
            return None
        now = self.recover(ctx, {})
        what = []
        if now["keys_digest"] != applied["keys_digest"]:
            what.append(f"the redirects in KeyValueStore {self._name} ({now['entries']} now, "
                        f"{applied['entries']} after apply)")
        if now["code_digest"] != applied["code_digest"]:
            what.append(f"the LIVE code of function {self._name}")
        if now["viewer_function"] != applied["viewer_function"]:
            what.append(f"the viewer-request function of {self._behaviour} (now "
                        f"{now['viewer_function'] or 'none'})")
        if not what:
            return None
        return (f"distribution {self.params.id}'s redirects changed since this run applied "
                f"them: {'; '.join(what)}")


def _unstamped(snapshot: Snapshot) -> Snapshot:
    out = {k: v for k, v in snapshot.items() if k != "keys_etag"}
    for part in ("store", "function"):
        if isinstance(out.get(part), dict):
            out[part] = {k: v for k, v in out[part].items() if k != "etag"}
    return out


def _text(blob: Any) -> str:
    if hasattr(blob, "read"):
        blob = blob.read()
    return blob.decode() if isinstance(blob, bytes) else str(blob)


def _config(config: dict[str, Any]) -> dict[str, Any]:
    """A FunctionConfig reduced to what this kind sets, comparable across reads."""
    return {"Comment": config.get("Comment", ""), "Runtime": config.get("Runtime", ""),
            "KeyValueStoreARNs": [a["KeyValueStoreARN"] for a in
                                  items(config.get("KeyValueStoreAssociations"))]}


def _unconfig(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Comment": config["Comment"], "Runtime": config["Runtime"]}
    arns = config["KeyValueStoreARNs"]
    if arns:
        out["KeyValueStoreAssociations"] = {"Quantity": len(arns), "Items": [
            {"KeyValueStoreARN": a} for a in arns]}
    return out


def _about(code: bytes) -> str:
    return f"{len(code)} bytes, sha256 {redirmap.digest(code)}"
