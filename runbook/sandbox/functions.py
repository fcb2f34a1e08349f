"""CloudFront Functions and the KeyValueStore data plane in the twin, with the functions'
JavaScript run by an embedded V8 (``mini-racer``).

moto 5.2 has CreateFunction, DescribeFunction, GetFunction and the KeyValueStore control
plane, but no UpdateFunction or PublishFunction, no DEVELOPMENT/LIVE stages, drops every
``FunctionAssociations`` of a distribution, and has no KeyValueStore data plane
(``cloudfront-keyvaluestore``: ListKeys, UpdateKeys, ...). So this module owns functions
outright (every ``/2020-05-31/function`` call), owns the keys of every store (the stores
themselves stay in moto), remembers each distribution's function associations and puts
them back into moto's answers, and refuses what AWS refuses: a stale If-Match, code over
the size quota or that does not compile, an association with a function that is not
published, deleting a function a distribution uses, keys or values over their quotas.

The edge calls :meth:`Functions.viewer_request` and :meth:`Functions.viewer_response`
(``cfjs/atedge.py``): the function's real code runs in V8 (``cfjs/runtime.py``) against the
event CloudFront would build, with ``cf.kvs()`` reading the twin's keys, and TestFunction
runs either stage against an event object (``cfjs/testing.py``). So a rehearsal proves the
code that will run at the edge, not a Python imitation of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from runbook.sandbox.cfjs import atedge, testing
from runbook.sandbox.cfjs.atedge import Forward
from runbook.sandbox.cfjs.runtime import Engine, FunctionError, Ran
from runbook.sandbox.httpserver import Reply, Request
from runbook.sandbox.kit import Kit, Route, aws_error, header
from runbook.sandbox.kit import Reply as Answer  # the proxy's reply (Reply: the edge's)

NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
FUNCTION = re.compile(r"^/2020-05-31/function(?:/([^/?]+))?(/describe|/publish|/test)?/?$")
KVS_DATA = re.compile(r"^/key-value-stores/([^/?]+)(/keys(?:/([^?]+))?)?$")
# The documented quotas (docs/kinds-aws.md cites them): the twin refuses past them.
FUNCTION_SIZE = 10 * 1024
NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
VIEWER_EVENTS = ("viewer-request", "viewer-response")
KVS_TOTAL = 5 * 1024 * 1024
KVS_KEY = 512
KVS_VALUE = 1024
_ASSOC = re.compile(rb"<FunctionAssociations>.*?</FunctionAssociations>", re.S)

def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _json_error(status: int, code: str, message: str) -> Answer:
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, \
        json.dumps({"message": message}).encode()


def _find(root: ET.Element, name: str) -> ET.Element | None:
    return root.find(f"{{*}}{name}")


def _text(root: ET.Element | None, name: str, default: str = "") -> str:
    node = None if root is None else _find(root, name)
    return (node.text or "") if node is not None else default


@dataclass
class Stage:
    code: bytes
    config: dict[str, Any]
    etag: str
    modified: str


@dataclass
class Function:
    name: str
    arn: str
    created: str
    development: Stage
    live: Stage | None = None


@dataclass
class Store:
    etag: str = field(default_factory=lambda: secrets.token_hex(7).upper())
    keys: dict[str, str] = field(default_factory=dict)
    version: int = 0
    created: str = field(default_factory=lambda: _now())
    updated: str = field(default_factory=lambda: _now())

    @property
    def size(self) -> int:
        return sum(len(k.encode()) + len(v.encode()) for k, v in self.keys.items())


class Functions:
    """The twin's CloudFront Functions, KeyValueStore keys and function associations.
    ``cloudfront`` is a boto3 client straight to moto (for the stores that exist)."""

    def __init__(self, cloudfront: Any, account: str = "123456789012") -> None:
        self.cf = cloudfront
        self.account = account
        self.functions: dict[str, Function] = {}
        self.stores: dict[str, Store] = {}  # by store id
        # moto distribution id -> one list of associations per behaviour: the default
        # behaviour first, then CacheBehaviors in order (moto keeps that order)
        self.associations: dict[str, list[list[dict[str, str]]]] = {}
        self._lock = threading.RLock()
        self._engines: dict[str, Engine] = {}
        self._ids: Any = None  # the proxy's world <-> moto ids (a name may hold an id)

    # ---- in the proxy ----------------------------------------------------------------

    def install(self, kit: Kit) -> None:
        """This API as answers of the proxy, and its part of CloudFront's distribution calls
        (associations moto drops) in the proxy's tables."""
        from runbook.sandbox.cfrules import DIST, DIST_CONFIG, DIST_LIST

        proxy = kit.proxy

        self._ids = proxy.ids

        def answer(call: Any) -> Answer | None:
            return self.handle(call.method, call.target, call.headers, call.body)

        proxy.answers += [Route(m, p, answer) for p in (FUNCTION, KVS_DATA)
                          for m in ("GET", "POST", "PUT", "DELETE")]
        proxy.checks += [Route(m, p, lambda call: self.check_distribution(call.body))
                         for m, p in (("PUT", DIST_CONFIG), ("POST", DIST_LIST))]
        proxy.after += [Route(m, p, self._after) for m, p in (
            ("PUT", DIST_CONFIG), ("POST", DIST_LIST), ("GET", DIST_CONFIG), ("GET", DIST),
            ("GET", DIST_LIST))]

    def _after(self, call: Any, reply: Answer) -> Answer:
        status, headers, out = reply
        if status not in (200, 201):
            return reply
        groups = call.match.groups() if call.match is not None else ()
        dist_id: str | None = groups[0] if groups else None
        if dist_id is None and call.method == "POST":
            found = re.search(rb"<Id>([A-Z0-9]+)</Id>", out)
            dist_id = found.group(1).decode() if found else None
        return status, headers, self.after_distribution(dist_id, call.method, call.body, out)

    # ---- saved twins (``sandbox serve --state``) -----------------------------------------

    def export(self) -> dict[str, Any]:
        def stage(st: Stage | None) -> dict[str, Any] | None:
            return None if st is None else {"code": base64.b64encode(st.code).decode(),
                                            "config": st.config, "etag": st.etag,
                                            "modified": st.modified}

        with self._lock:
            return {"functions": [{"name": f.name, "arn": f.arn, "created": f.created,
                                   "development": stage(f.development),
                                   "live": stage(f.live)} for f in self.functions.values()],
                    "stores": {sid: {"etag": st.etag, "keys": st.keys, "created": st.created,
                                     "updated": st.updated} for sid, st in self.stores.items()},
                    "associations": self.associations}

    def restore(self, data: dict[str, Any]) -> None:
        def stage(d: dict[str, Any] | None) -> Stage | None:
            return None if d is None else Stage(base64.b64decode(d["code"]), d["config"],
                                                d["etag"], d["modified"])

        with self._lock:
            for f in data.get("functions", []):
                dev = stage(f["development"])
                assert dev is not None
                self.functions[f["name"]] = Function(f["name"], f["arn"], f["created"], dev,
                                                     stage(f["live"]))
            for sid, st in data.get("stores", {}).items():
                self.stores[sid] = Store(st["etag"], dict(st["keys"]), 1, st["created"],
                                         st["updated"])
            self.associations.update(data.get("associations", {}))

    # ---- the API ---------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> Answer | None:
        """The answer to a Functions or KeyValueStore data-plane call; None: not ours."""
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if_match = header(headers, "If-Match") or None
        m = FUNCTION.match(parts.path)
        if m:
            with self._lock:
                return self._function(method, m.group(1), m.group(2) or "", query,
                                      if_match, body)
        m = KVS_DATA.match(parts.path)
        if m and "cloudfront-keyvaluestore" in header(headers, "Authorization"):
            with self._lock:
                return self._keys(method, unquote(m.group(1)), bool(m.group(2)),
                                  unquote(m.group(3)) if m.group(3) else None, query,
                                  if_match, body)
        return None

    def _function(self, method: str, name: str | None, verb: str, query: dict[str, str],
                  if_match: str | None, body: bytes) -> Answer:
        if name is None:
            if method == "POST":
                return self._create(body)
            stage = query.get("Stage")
            items = "".join(self._summary(f, stage or "DEVELOPMENT") for f in
                            self.functions.values() if stage != "LIVE" or f.live)
            n = items.count("<FunctionSummary>")
            return 200, {"Content-Type": "text/xml"}, (
                f'<?xml version="1.0"?><FunctionList xmlns="{NS}"><MaxItems>100</MaxItems>'
                f"<Quantity>{n}</Quantity><Items>{items}</Items></FunctionList>").encode()
        fn = self.functions.get(name)
        if fn is None:
            return aws_error(404, "NoSuchFunctionExists", f"The function {name} does not "
                              "exist.")
        stage_name = query.get("Stage", "DEVELOPMENT")
        chosen = fn.live if stage_name == "LIVE" else fn.development
        if method == "GET":
            if chosen is None:
                return aws_error(404, "NoSuchFunctionExists",
                                  f"The function {name} has not been published.")
            if verb == "/describe":
                return self._summary_answer(fn, stage_name, {"ETag": chosen.etag})
            return 200, {"Content-Type": "application/octet-stream", "ETag": chosen.etag}, \
                chosen.code
        if method == "POST" and verb == "/test":
            return testing.answer(self, fn, body, if_match)
        if if_match != fn.development.etag:
            return aws_error(412, "PreconditionFailed", "The If-Match version is missing "
                              "or not valid for the resource.")
        if method == "PUT" and not verb:
            return self._update(fn, body)
        if method == "POST" and verb == "/publish":
            dev = fn.development
            fn.live = Stage(dev.code, dev.config, secrets.token_hex(7).upper(), _now())
            return self._summary_answer(fn, "LIVE", {})
        if method == "DELETE" and not verb:
            users = self._users(fn.arn)
            if users:
                return aws_error(409, "FunctionInUse", f"Cannot delete function {name}: it "
                                  f"is associated with distribution(s) {', '.join(users)}.")
            del self.functions[name]
            return 204, {}, b""
        return aws_error(400, "UnsupportedOperation", f"the sandbox does not do {method} "
                          f"{verb or 'on'} function {name}")

    def _parse(self, body: bytes) -> tuple[tuple[str, dict[str, Any], bytes] | None,
                                         Answer | None]:
        """(name, config, code) of a Create/UpdateFunction request, or AWS's refusal."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            return None, aws_error(400, "MalformedInput", str(exc))
        cfg = _find(root, "FunctionConfig")
        arns = [e.text or "" for e in root.iterfind(".//{*}KeyValueStoreARN")]
        config = {"Comment": _text(cfg, "Comment"), "Runtime": _text(cfg, "Runtime"),
                  "KeyValueStoreARNs": arns}
        code = base64.b64decode(_text(root, "FunctionCode"))
        refused = self._refuse_code(code, config)
        if refused:
            return None, refused
        return (_text(root, "Name"), config, code), None

    def _refuse_code(self, code: bytes, config: dict[str, Any]) -> Answer | None:
        if len(code) > FUNCTION_SIZE:
            return aws_error(413, "FunctionSizeLimitExceeded", f"The function code is "
                              f"{len(code)} bytes; the maximum is {FUNCTION_SIZE}.")
        if config["KeyValueStoreARNs"] and config["Runtime"] != "cloudfront-js-2.0":
            return aws_error(400, "InvalidArgument", "A function that uses a KeyValueStore "
                              "needs runtime cloudfront-js-2.0.")
        if len(config["KeyValueStoreARNs"]) > 1:
            return aws_error(400, "InvalidArgument", "A function can be associated with at "
                              "most one KeyValueStore.")
        runtime, store = _engine_of(config)
        engine, problem = Engine.compile(code.decode("utf-8", "replace"), runtime, store)
        if engine is not None:  # kept: the edge and TestFunction run this code with it
            self._engines[_engine_key(code, config)] = engine
        if problem:
            return aws_error(400, "InvalidArgument", f"The function code does not compile: "
                              f"{problem}")
        return None

    def _create(self, body: bytes) -> Answer:
        parsed, refused = self._parse(body)
        if parsed is None:
            assert refused is not None
            return refused
        name, config, code = parsed
        if not NAME.fullmatch(name):
            return aws_error(400, "InvalidArgument", f"The function name {name[:80]!r} is not "
                             "1 to 64 letters, digits, hyphens or underscores.")
        if name in self.functions:
            return aws_error(409, "FunctionAlreadyExists", f"Function {name} already exists.")
        now = _now()
        fn = Function(name, f"arn:aws:cloudfront::{self.account}:function/{name}", now,
                      Stage(code, config, secrets.token_hex(7).upper(), now))
        self.functions[name] = fn
        _, headers, out = self._summary_answer(fn, "DEVELOPMENT",
                                                    {"ETag": fn.development.etag})
        headers["Location"] = f"https://cloudfront.amazonaws.com/2020-05-31/function/{name}"
        return 201, headers, out

    def _update(self, fn: Function, body: bytes) -> Answer:
        parsed, refused = self._parse(body)
        if parsed is None:
            assert refused is not None
            return refused
        _, config, code = parsed
        fn.development = Stage(code, config, secrets.token_hex(7).upper(), _now())
        # botocore's model reads UpdateFunction's ETag from a header named "ETtag" (sic)
        return self._summary_answer(fn, "DEVELOPMENT", {"ETag": fn.development.etag,
                                                         "ETtag": fn.development.etag})

    def _summary_answer(self, fn: Function, stage: str, headers: dict[str, str]) -> Answer:
        out = f'<?xml version="1.0"?>{self._summary(fn, stage, NS)}'
        return 200, {"Content-Type": "text/xml", **headers}, out.encode()

    def _summary(self, fn: Function, stage: str, ns: str | None = None) -> str:
        st = fn.live if stage == "LIVE" and fn.live else fn.development
        arns = st.config["KeyValueStoreARNs"]
        kvs = "".join(f"<KeyValueStoreAssociation><KeyValueStoreARN>{a}</KeyValueStoreARN>"
                      "</KeyValueStoreAssociation>" for a in arns)
        attr = f' xmlns="{ns}"' if ns else ""
        return (f"<FunctionSummary{attr}><Name>{fn.name}</Name>"
                f"<Status>{'DEPLOYED' if fn.live else 'UNPUBLISHED'}</Status>"
                f"<FunctionConfig><Comment>{escape(st.config['Comment'])}</Comment>"
                f"<Runtime>{st.config['Runtime']}</Runtime><KeyValueStoreAssociations>"
                f"<Quantity>{len(arns)}</Quantity>"
                + (f"<Items>{kvs}</Items>" if arns else "") +
                "</KeyValueStoreAssociations></FunctionConfig>"
                f"<FunctionMetadata><FunctionARN>{fn.arn}</FunctionARN><Stage>{stage}</Stage>"
                f"<CreatedTime>{fn.created}</CreatedTime><LastModifiedTime>{st.modified}"
                "</LastModifiedTime></FunctionMetadata></FunctionSummary>")

    def _users(self, arn: str) -> list[str]:
        return [d for d, lists in self.associations.items()
                if any(a["FunctionARN"] == arn for one in lists for a in one)]

    # ---- KeyValueStore data plane ------------------------------------------------------

    def _store_exists(self, store_id: str) -> bool:
        pages = self.cf.get_paginator("list_key_value_stores").paginate()
        return any(s["Id"] == store_id for page in pages
                   for s in page.get("KeyValueStoreList", {}).get("Items", []) or [])

    def _keys(self, method: str, arn: str, keys: bool, key: str | None,
              query: dict[str, str], if_match: str | None, body: bytes) -> Answer:
        store_id = arn.rsplit("/", 1)[-1]
        if not self._store_exists(store_id):
            self.stores.pop(store_id, None)
            return _json_error(404, "ResourceNotFoundException",
                               f"The KeyValueStore {arn} was not found.")
        store = self.stores.setdefault(store_id, Store())
        if not keys and method == "GET":
            return self._describe(arn, store)
        if keys and key is None and method == "GET":
            names = sorted(store.keys)
            start = int(query.get("NextToken") or 0)
            size = int(query.get("MaxResults") or 50)
            page = names[start:start + size]
            out: dict[str, Any] = {"Items": [{"Key": k, "Value": store.keys[k]} for k in page]}
            if start + size < len(names):
                out["NextToken"] = str(start + size)
            return 200, {"Content-Type": "application/json"}, json.dumps(out).encode()
        if keys and key is not None and method == "GET":
            if key not in store.keys:
                return _json_error(404, "ResourceNotFoundException", f"Key {key} not found.")
            return self._json({"Key": key, "Value": store.keys[key],
                               "ItemCount": len(store.keys), "TotalSizeInBytes": store.size})
        if if_match != store.etag:
            return _json_error(409, "ConflictException", "The If-Match ETag does not match "
                               "the KeyValueStore's current ETag.")
        data = json.loads(body or b"{}")
        if key is not None and method == "PUT":
            puts, deletes = [{"Key": key, "Value": data.get("Value", "")}], []
        elif key is not None and method == "DELETE":
            puts, deletes = [], [{"Key": key}]
        elif key is None and method == "POST":
            puts, deletes = data.get("Puts") or [], data.get("Deletes") or []
        else:
            return _json_error(400, "ValidationException", f"{method} is not supported here")
        new = dict(store.keys)
        for d in deletes:
            new.pop(d["Key"], None)
        for p in puts:
            k, v = str(p["Key"]), str(p["Value"])
            if len(k.encode()) > KVS_KEY or len(v.encode()) > KVS_VALUE:
                return _json_error(400, "ValidationException",
                                   f"Key {k[:60]!r}: keys are at most {KVS_KEY} bytes and "
                                   f"values at most {KVS_VALUE} bytes.")
            new[k] = v
        total = sum(len(k.encode()) + len(v.encode()) for k, v in new.items())
        if total > KVS_TOTAL:
            return _json_error(402, "ServiceQuotaExceededException", f"The KeyValueStore "
                               f"would hold {total} bytes; the maximum is {KVS_TOTAL}.")
        store.keys, store.etag = new, secrets.token_hex(7).upper()
        store.version += 1
        store.updated = _now()
        return self._json({"ItemCount": len(new), "TotalSizeInBytes": total},
                          {"ETag": store.etag})

    def _describe(self, arn: str, store: Store) -> Answer:
        now = dt.datetime.now(dt.UTC).timestamp()
        return self._json({"ItemCount": len(store.keys), "TotalSizeInBytes": store.size,
                           "KvsARN": arn, "Created": now, "LastModified": now,
                           "Status": "READY"}, {"ETag": store.etag})

    @staticmethod
    def _json(data: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return 200, {"Content-Type": "application/json", **(headers or {})}, \
            json.dumps(data).encode()

    # ---- distributions -------------------------------------------------------------------

    def check_distribution(self, body: bytes) -> Answer | None:
        """AWS's refusal of a distribution config whose function associations it would
        refuse (a function that does not exist or is not published), or None."""
        behaviours = _behaviours(body)
        if behaviours is None:
            return None
        with self._lock:
            live = {f.arn for f in self.functions.values() if f.live is not None}
            for _, assoc in behaviours:
                for a in assoc:
                    if a["FunctionARN"] not in live:
                        return aws_error(400, "InvalidFunctionAssociation",
                                          f"The function ARN {a['FunctionARN']} is not valid "
                                          "or the function is not published.")
                types = [a["EventType"] for a in assoc]
                other = next((t for t in types if t not in VIEWER_EVENTS), None)
                if other is not None:
                    return aws_error(400, "InvalidFunctionAssociation", f"A CloudFront "
                                     f"function cannot be associated with {other} events: "
                                     "only viewer-request and viewer-response.")
                if len(types) != len(set(types)):
                    return aws_error(400, "InvalidFunctionAssociation", "Only one function "
                                      "can be associated with each event type.")
        return None

    def record_distribution(self, dist_id: str, body: bytes) -> None:
        behaviours = _behaviours(body)
        if behaviours is None:
            return
        with self._lock:
            self.associations[dist_id] = [a for _, a in behaviours]

    def present(self, dist_id: str | None, out: bytes) -> bytes:
        """moto's answer with the associations it dropped put back, behaviour by behaviour."""
        with self._lock:
            lists = self.associations.get(dist_id or "")
        if not lists:
            return out
        n = iter(range(10_000))

        def one(m: re.Match[bytes]) -> bytes:
            i = next(n)
            assoc = lists[i] if i < len(lists) else []
            if not assoc:
                return m.group(0)
            items = "".join(f"<FunctionAssociation><FunctionARN>{a['FunctionARN']}"
                            f"</FunctionARN><EventType>{a['EventType']}</EventType>"
                            "</FunctionAssociation>" for a in assoc)
            return (f"<FunctionAssociations><Quantity>{len(assoc)}</Quantity><Items>{items}"
                    "</Items></FunctionAssociations>").encode()

        return _ASSOC.sub(one, out)

    # ---- the edge --------------------------------------------------------------------

    def after_distribution(self, dist_id: str | None, method: str, body: bytes,
                           out: bytes) -> bytes:
        """moto answered a distribution call: remember what was written, and put the
        associations moto dropped back into its answer."""
        if dist_id is not None and method in ("PUT", "POST"):
            self.record_distribution(dist_id, body)
        return self.present(dist_id, out)

    error = staticmethod(aws_error)  # an API error answer, for cfjs.testing

    def _by_arn(self, arn: str) -> Function | None:
        """The function an ARN of a served configuration names (its world ids are moto's
        here: the proxy swapped them on the way in)."""
        if self._ids is not None:
            arn = self._ids.request(arn.encode()).decode()
        return next((f for f in self.functions.values() if f.arn == arn), None)

    def runtime_of(self, arn: str) -> str | None:
        """The runtime of the LIVE stage of the function with this ARN; None: none."""
        with self._lock:
            fn = self._by_arn(arn)
            return str(fn.live.config["Runtime"]) if fn and fn.live else None

    def run_live(self, arn: str, event: dict[str, Any]) -> Ran:
        with self._lock:
            fn = self._by_arn(arn)
            if fn is None or fn.live is None:
                raise FunctionError("FunctionExecutionError", f"no LIVE function {arn}")
            stage = fn.live
        return self.run(stage, event)

    def run(self, stage: Stage, event: dict[str, Any]) -> Ran:
        """One run of a stage's code against ``event``, with its store's keys."""
        with self._lock:
            sids = [a.rsplit("/", 1)[-1] for a in stage.config["KeyValueStoreARNs"]]
            stores = {sid: self.stores.setdefault(sid, Store()) for sid in sids}
            key = _engine_key(stage.code, stage.config)
            engine = self._engines.get(key)
            if engine is None:
                engine = self._engines[key] = Engine(stage.code.decode("utf-8", "replace"),
                                                     *_engine_of(stage.config))
        return engine.run(event, stores, sids[0] if sids else None)

    def viewer_request(self, dist: Any, behaviour: dict[str, Any],
                       req: Request) -> Forward | Reply:
        """For the edge: the behaviour's viewer-request function run (atedge.py)."""
        return atedge.viewer_request(self, dist, behaviour, req)

    def viewer_response(self, dist: Any, behaviour: dict[str, Any], req: Request,
                        reply: Reply) -> Reply:
        """For the edge: the behaviour's viewer-response function run on its answer."""
        return atedge.viewer_response(self, dist, behaviour, req, reply)


def _engine_of(config: dict[str, Any]) -> tuple[str, str | None]:
    """(runtime, associated store id or None): what a V8 context of the code is made for
    (Buffer or byte strings; whether ``cf.kvs()`` has a store)."""
    arns = config["KeyValueStoreARNs"]
    return str(config["Runtime"]), (str(arns[0]).rsplit("/", 1)[-1] if arns else None)


def _engine_key(code: bytes, config: dict[str, Any]) -> str:
    runtime, store = _engine_of(config)
    return hashlib.sha256(code + f"\0{runtime}\0{store}".encode()).hexdigest()


def _behaviours(body: bytes) -> list[tuple[str, list[dict[str, str]]]] | None:
    """(path pattern, associations) of the default behaviour ("*") and then each cache
    behaviour of a DistributionConfig document; None if it is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    config = root if root.tag.endswith("DistributionConfig") else \
        root.find(".//{*}DistributionConfig")
    if config is None:
        return None
    out: list[tuple[str, list[dict[str, str]]]] = []
    default = _find(config, "DefaultCacheBehavior")
    nodes = [("*", default)] if default is not None else []
    for cb in config.iterfind("{*}CacheBehaviors/{*}Items/{*}CacheBehavior"):
        nodes.append((_text(cb, "PathPattern"), cb))
    for pattern, node in nodes:
        assoc = [{"FunctionARN": _text(a, "FunctionARN"), "EventType": _text(a, "EventType")}
                 for a in node.iterfind("{*}FunctionAssociations/{*}Items/"
                                        "{*}FunctionAssociation")]
        out.append((pattern, assoc))
    return out


