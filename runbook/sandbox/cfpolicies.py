"""CloudFront's policies, which moto does not have: response headers policies, cache
policies and origin request policies, answered by the twin as CloudFront answers them.

For each kind: Create (201, ETag, Location), Get, GetConfig, List (``Type`` managed or
custom), Update (``If-Match``), Delete (``If-Match``); the managed policies
(``managedpolicies``) are listed and read by their documented ids and cannot be changed
(IllegalUpdate, IllegalDelete). Refusals as CloudFront's: a name already used
(``...AlreadyExists``), an unknown id (``NoSuch...``), a stale or missing ``If-Match``
(PreconditionFailed, InvalidIfMatchVersion), deleting a policy a distribution uses
(``...InUse``), and a distribution that names a policy that does not exist (checked at
CreateDistribution and UpdateDistribution).

Bodies are read and written with botocore's own model of the API, so the shapes are
CloudFront's.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from runbook.sandbox import managedpolicies
from runbook.sandbox.cfrules import DIST_CONFIG, DIST_LIST, CloudFrontRules
from runbook.sandbox.kit import Call, Kit, Reply, Route, aws_error, header
from runbook.sandbox.proxy import CF_API

NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"


@dataclass(frozen=True)
class Kind:
    path: str  # "response-headers-policy"
    noun: str  # "ResponseHeadersPolicy"
    plural: str  # "ResponseHeadersPolicies": List{plural}
    field: str  # the behaviour's field naming one: "ResponseHeadersPolicyId"
    what: str  # in messages
    managed: dict[str, dict[str, Any]]


KINDS = (
    Kind("response-headers-policy", "ResponseHeadersPolicy", "ResponseHeadersPolicies",
         "ResponseHeadersPolicyId", "response headers policy",
         managedpolicies.RESPONSE_HEADERS),
    Kind("cache-policy", "CachePolicy", "CachePolicies", "CachePolicyId", "cache policy",
         managedpolicies.CACHE),
    Kind("origin-request-policy", "OriginRequestPolicy", "OriginRequestPolicies",
         "OriginRequestPolicyId", "origin request policy", managedpolicies.ORIGIN_REQUEST),
)


@dataclass
class Policy:
    id: str
    config: dict[str, Any]
    etag: str = field(default_factory=lambda: secrets.token_hex(7).upper())
    modified: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())


class Policies:
    """The three stores, with the proxy routes that answer their API."""

    def __init__(self, cloudfront: Any, rules: CloudFrontRules | None = None) -> None:
        import botocore.parsers
        import botocore.serialize

        self.model = cloudfront.meta.service_model
        self._parser = botocore.parsers.create_parser("rest-xml")
        self._serializer = botocore.serialize.create_serializer("rest-xml")
        self.rules = rules
        self.custom: dict[str, dict[str, Policy]] = {k.noun: {} for k in KINDS}
        self._lock = threading.Lock()

    def install(self, kit: Kit) -> None:
        proxy = kit.proxy
        for kind in KINDS:
            base = re.escape(CF_API + kind.path)
            one = re.compile(rf"^{base}/([^/]+)$")
            config = re.compile(rf"^{base}/([^/]+)/config$")
            every = re.compile(rf"^{base}/?$")
            proxy.answers += [
                Route("POST", every, lambda c, k=kind: self.create(k, c)),
                Route("GET", every, lambda c, k=kind: self.list(k, c)),
                Route("GET", config, lambda c, k=kind: self.get(k, c, config_only=True)),
                Route("GET", one, lambda c, k=kind: self.get(k, c)),
                Route("PUT", one, lambda c, k=kind: self.update(k, c)),
                Route("DELETE", one, lambda c, k=kind: self.delete(k, c))]
        proxy.checks += [Route("PUT", DIST_CONFIG, self.check_distribution),
                         Route("POST", DIST_LIST, self.check_distribution)]

    # ---- what the edge reads -----------------------------------------------------------

    def config(self, noun: str, policy_id: str) -> dict[str, Any] | None:
        """A policy's configuration by id: a managed one, or one created through the API."""
        kind = next(k for k in KINDS if k.noun == noun)
        if policy_id in kind.managed:
            return kind.managed[policy_id]
        with self._lock:
            found = self.custom[noun].get(policy_id)
        return found.config if found else None

    def add(self, noun: str, config: dict[str, Any], policy_id: str | None = None) -> str:
        """A custom policy made without the API (a world's, keeping its captured id)."""
        made = Policy(policy_id or str(uuid.uuid4()), dict(config))
        with self._lock:
            self.custom[noun][made.id] = made
        return made.id

    def export(self) -> dict[str, Any]:
        """The custom policies, for a saved twin (``sandbox serve --state``)."""
        with self._lock:
            return {noun: {i: vars(p) for i, p in found.items()}
                    for noun, found in self.custom.items()}

    def restore(self, data: dict[str, Any]) -> None:
        with self._lock:
            for noun, found in data.items():
                self.custom.setdefault(noun, {}).update(
                    {i: Policy(**fields) for i, fields in found.items()})

    # ---- the API -----------------------------------------------------------------------

    def create(self, kind: Kind, call: Call) -> Reply:
        config = self._read(kind, call.body)
        if config is None:
            return aws_error(400, "MalformedInput", f"The {kind.what} configuration is not "
                                                    "valid XML of its shape.")
        name = str(config.get("Name") or "")
        with self._lock:
            taken = any(p.config.get("Name") == name for p in self.custom[kind.noun].values())
        if taken or any(m.get("Name") == name for m in kind.managed.values()):
            return aws_error(409, f"{kind.noun}AlreadyExists",
                             f"A {kind.what} with this name already exists.")
        made = Policy(str(uuid.uuid4()), config)
        with self._lock:
            self.custom[kind.noun][made.id] = made
        return 201, {"Content-Type": "text/xml", "ETag": made.etag,
                     "Location": f"https://cloudfront.amazonaws.com{CF_API}{kind.path}/"
                                 f"{made.id}"}, self._policy_xml(kind, made)

    def get(self, kind: Kind, call: Call, *, config_only: bool = False) -> Reply:
        assert call.match is not None
        found = self._find(kind, call.match.group(1))
        if found is None:
            return _missing(kind)
        body = (self._config_xml(kind, found.config) if config_only
                else self._policy_xml(kind, found))
        return 200, {"Content-Type": "text/xml", "ETag": found.etag}, body

    def list(self, kind: Kind, call: Call) -> Reply:
        wanted = dict(p.split("=", 1) for p in call.query.split("&") if "=" in p).get("Type")
        rows: list[tuple[str, Policy]] = []
        if wanted in (None, "managed"):
            rows += [("managed", self._managed(kind, i)) for i in kind.managed]
        if wanted in (None, "custom"):
            with self._lock:
                rows += [("custom", p) for p in self.custom[kind.noun].values()]
        items = "".join(f"<{kind.noun}Summary><Type>{t}</Type>"
                        f"{self._policy_xml(kind, p, ns=False).decode()}</{kind.noun}Summary>"
                        for t, p in rows)
        body = (f'<?xml version="1.0"?><{kind.noun}List xmlns="{NS}"><MaxItems>100</MaxItems>'
                f"<Quantity>{len(rows)}</Quantity><Items>{items}</Items></{kind.noun}List>")
        return 200, {"Content-Type": "text/xml"}, body.encode()

    def _custom(self, kind: Kind, call: Call, verb: str) -> Policy | Reply:
        """The custom policy an update or delete names, or what AWS answers instead: a
        managed policy cannot be changed, a missing one is missing, a stale If-Match is
        refused."""
        assert call.match is not None
        policy_id = call.match.group(1)
        if policy_id in kind.managed:
            return aws_error(400, f"Illegal{verb.capitalize()}",
                             f"A managed {kind.what} cannot be {verb}d.")
        with self._lock:
            found = self.custom[kind.noun].get(policy_id)
        if found is None:
            return _missing(kind)
        return _if_match(call, found) or found

    def update(self, kind: Kind, call: Call) -> Reply:
        found = self._custom(kind, call, "update")
        if not isinstance(found, Policy):
            return found
        config = self._read(kind, call.body)
        if config is None:
            return aws_error(400, "MalformedInput", f"The {kind.what} configuration is not "
                                                    "valid XML of its shape.")
        with self._lock:
            found.config = config
            found.etag = secrets.token_hex(7).upper()
            found.modified = dt.datetime.now(dt.UTC).isoformat()
        return 200, {"Content-Type": "text/xml", "ETag": found.etag}, \
            self._policy_xml(kind, found)

    def delete(self, kind: Kind, call: Call) -> Reply:
        found = self._custom(kind, call, "delete")
        if not isinstance(found, Policy):
            return found
        policy_id = found.id
        if self._in_use(kind, policy_id):
            return aws_error(409, f"{kind.noun}InUse", f"Cannot delete the {kind.what}: "
                                                       "a distribution uses it.")
        with self._lock:
            self.custom[kind.noun].pop(policy_id, None)
        return 204, {}, b""

    def check_distribution(self, call: Call) -> Reply | None:
        """CreateDistribution and UpdateDistribution: every policy a behaviour names exists."""
        try:
            root = ET.fromstring(call.sent or call.body)
        except ET.ParseError:
            return None
        for kind in KINDS:
            for node in root.iter(f"{{{NS}}}{kind.field}"):
                named = (node.text or "").strip()
                if named and self.config(kind.noun, named) is None:
                    return _missing(kind)
        return None

    # ---- helpers -----------------------------------------------------------------------

    def _find(self, kind: Kind, policy_id: str) -> Policy | None:
        if policy_id in kind.managed:
            return self._managed(kind, policy_id)
        with self._lock:
            return self.custom[kind.noun].get(policy_id)

    @staticmethod
    def _managed(kind: Kind, policy_id: str) -> Policy:
        return Policy(policy_id, kind.managed[policy_id], etag="E23ZP02F085DFQ",
                      modified="2021-09-01T00:00:00+00:00")

    def _in_use(self, kind: Kind, policy_id: str) -> bool:
        if self.rules is None:
            return False
        marker = f"<{kind.field}>{policy_id}</{kind.field}>".encode()
        with self.rules._lock:
            return any(marker in (st.config or b"") or marker in (st.live or b"")
                       for st in self.rules.dists.values())

    def _read(self, kind: Kind, body: bytes) -> dict[str, Any] | None:
        shape = self.model.operation_model(f"Get{kind.noun}Config").output_shape
        try:
            got = self._parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)
        except Exception:
            return None
        config = got.get(f"{kind.noun}Config")
        return dict(config) if isinstance(config, dict) and config.get("Name") else None

    def _config_xml(self, kind: Kind, config: dict[str, Any]) -> bytes:
        op = self.model.operation_model(f"Create{kind.noun}")
        request = self._serializer.serialize_to_request({f"{kind.noun}Config": config}, op)
        body: bytes = request["body"]
        return body

    def _policy_xml(self, kind: Kind, policy: Policy, *, ns: bool = True) -> bytes:
        inner = self._config_xml(kind, policy.config).decode()
        inner = re.sub(r"^<\?xml[^>]*\?>", "", inner).replace(f' xmlns="{NS}"', "", 1)
        xmlns = f' xmlns="{NS}"' if ns else ""
        head = '<?xml version="1.0"?>' if ns else ""
        return (f"{head}<{kind.noun}{xmlns}><Id>{policy.id}</Id><LastModifiedTime>"
                f"{policy.modified}</LastModifiedTime>{inner}</{kind.noun}>").encode()


def _missing(kind: Kind) -> Reply:
    return aws_error(404, f"NoSuch{kind.noun}", f"The {kind.what} does not exist.")


def _if_match(call: Call, found: Policy) -> Reply | None:
    given = header(call.headers, "if-match")
    if not given:
        return aws_error(400, "InvalidIfMatchVersion",
                         "The If-Match version is missing or not valid for the resource.")
    if given != found.etag:
        return aws_error(412, "PreconditionFailed",
                         "The If-Match version is missing or not valid for the resource.")
    return None
