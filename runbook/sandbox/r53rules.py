"""Route53 as AWS answers it, on top of moto: the proxy's Route53 routes.

moto applies any change batch; Route53 refuses, with InvalidChangeBatch and nothing
applied:

* an A (or any) record at a name that has a CNAME, and a CNAME next to other records;
* ``EvaluateTargetHealth: true`` on an alias to a CloudFront distribution;
* a DELETE whose TTL, values or alias do not match the live record exactly (or whose
  record does not exist).

And a change is PENDING for the world's propagation time before it is INSYNC, with an id
of its own (moto gives every change the same one).

moto also refuses a CREATE it once journaled, even after the record was deleted (it looks
at its change journal, then at any record sorting after the name). Route53 looks only at
the zone: a CREATE the rules above accept is sent to moto as an UPSERT, which is the same
change for a record that does not exist.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from runbook.kinds.aws.common import CLOUDFRONT_ZONE_ID, fqdn
from runbook.sandbox.kit import Call, Kit, Reply, Route, aws_error

CHANGE_RRSETS = re.compile(r"^/2013-04-01/hostedzone/([A-Za-z0-9]+)/rrset/?$")
GET_CHANGE = re.compile(r"^/2013-04-01/change/([A-Za-z0-9]+)$")
CLOUDFRONT_ZONE = CLOUDFRONT_ZONE_ID  # aliases to CloudFront name this zone
NS = "https://route53.amazonaws.com/doc/2013-04-01/"


def _refuse(message: str) -> Reply:
    return aws_error(400, "InvalidChangeBatch", f"[{message}]", NS)


@dataclass
class RrSet:
    name: str
    type: str
    ttl: str | None = None
    values: tuple[str, ...] = ()
    alias: tuple[str, str, bool] | None = None  # zone, name, evaluate health
    set_id: str | None = None

    def same(self, other: RrSet) -> bool:
        return (self.ttl, sorted(self.values), self.alias) == (other.ttl, sorted(other.values),
                                                               other.alias)


@dataclass
class Route53Rules:
    """``r53``: a boto3 client straight to moto; ``sync_seconds``: real seconds PENDING."""

    r53: Any
    sync_seconds: float
    changes: dict[str, float] = field(default_factory=dict)  # change id -> INSYNC at
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, kit: Kit) -> None:
        proxy = kit.proxy
        proxy.checks.append(Route("POST", CHANGE_RRSETS, self.check_batch))
        proxy.after += [Route("POST", CHANGE_RRSETS, self.pending),
                        Route("GET", GET_CHANGE, self.status)]

    def export(self) -> dict[str, Any]:
        return {"changes": dict(self.changes)}

    def restore(self, data: dict[str, Any]) -> None:
        self.changes.update(data.get("changes", {}))

    # ---- refusals ----------------------------------------------------------------------

    def check_batch(self, call: Call) -> Reply | None:
        assert call.match is not None
        try:
            root = ET.fromstring(call.body)
        except ET.ParseError:
            return None
        zone = call.match.group(1)
        live = self._live(zone)
        if live is None:
            return None  # no such zone: moto says NoSuchHostedZone, as AWS does
        for change in root.iterfind(".//{*}Changes/{*}Change"):
            action = (change.findtext("{*}Action") or "").upper()
            rr = _parse(change.find("{*}ResourceRecordSet"))
            if rr is None:
                continue
            key = (rr.name, rr.type, rr.set_id)
            refused = self._one(action, rr, live.get(key), live)
            if refused:
                return _refuse(refused)
            # later changes of the batch see this one, as Route53 applies a batch in order
            if action == "DELETE":
                live.pop(key, None)
            else:
                live[key] = rr
        # every CREATE was proved new above: moto must not refuse it from its journal
        call.body = _CREATE.sub(b"<Action>UPSERT</Action>", call.body)
        return None

    def _one(self, action: str, rr: RrSet, current: RrSet | None,
             live: dict[tuple[str, str, str | None], RrSet]) -> str | None:
        where = f"[name='{rr.name}', type='{rr.type}']"
        if action == "DELETE":
            if current is None:
                return f"Tried to delete resource record set {where} but it was not found"
            if not rr.same(current):
                return (f"Tried to delete resource record set {where} but the values "
                        "provided do not match the current values")
            return None
        if rr.alias and rr.alias[0] == CLOUDFRONT_ZONE and rr.alias[2]:
            return (f"Tried to create an alias that targets {rr.alias[1]}, type {rr.type} in "
                    f"zone {CLOUDFRONT_ZONE}, but EvaluateTargetHealth is not supported for "
                    "an alias to a CloudFront distribution: set it to false")
        others = {t for (n, t, _), _r in live.items() if n == rr.name and t != rr.type}
        if action == "CREATE" and current is not None:
            return (f"Tried to create resource record set {where} but it already exists")
        if rr.type != "CNAME" and "CNAME" in others:
            return (f"RRSet of type {rr.type} with DNS name {rr.name} is not permitted because "
                    "a conflicting RRSet of type CNAME with the same DNS name already exists")
        if rr.type == "CNAME" and others:
            kind = sorted(others)[0]
            return (f"RRSet of type CNAME with DNS name {rr.name} is not permitted because a "
                    f"conflicting RRSet of type {kind} with the same DNS name already exists")
        return None

    def _live(self, zone: str) -> dict[tuple[str, str, str | None], RrSet] | None:
        out: dict[tuple[str, str, str | None], RrSet] = {}
        try:
            for page in self.r53.get_paginator("list_resource_record_sets").paginate(
                    HostedZoneId=zone):
                for raw in page["ResourceRecordSets"]:
                    rr = _from_api(raw)
                    out[(rr.name, rr.type, rr.set_id)] = rr
        except Exception:
            return None
        return out

    # ---- status ------------------------------------------------------------------------

    def pending(self, call: Call, reply: Reply) -> Reply:
        if reply[0] != 200:
            return reply
        change_id = _new_change_id()
        body = _CHANGE_ID.sub(b"<Id>/change/" + change_id.encode() + b"</Id>", reply[2],
                              count=1)
        with self._lock:
            self.changes[change_id] = time.time() + self.sync_seconds
        return self._status((reply[0], reply[1], body))

    def status(self, call: Call, reply: Reply) -> Reply:
        return self._status(reply) if reply[0] == 200 else reply

    def _status(self, reply: Reply) -> Reply:
        found = re.search(rb"<Id>(?:/change/)?(\w+)</Id>", reply[2])
        at = self.changes.get(found.group(1).decode(), 0.0) if found else 0.0
        state = b"PENDING" if time.time() < at else b"INSYNC"
        out = re.sub(rb"<Status>\w+</Status>", b"<Status>" + state + b"</Status>", reply[2],
                     count=1)
        return reply[0], reply[1], out


_CREATE = re.compile(rb"<Action>\s*CREATE\s*</Action>")
_CHANGE_ID = re.compile(rb"<Id>(?:/change/)?\w+</Id>")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _new_change_id() -> str:
    """A change id shaped like Route53's (C and 13 letters or digits), one per change."""
    return "C" + "".join(secrets.choice(_ID_CHARS) for _ in range(13))


def _parse(el: ET.Element | None) -> RrSet | None:
    if el is None:
        return None
    alias = el.find("{*}AliasTarget")
    return RrSet(
        fqdn(el.findtext("{*}Name") or ""), (el.findtext("{*}Type") or "").upper(),
        el.findtext("{*}TTL"),
        tuple(v.text or "" for v in el.iterfind("{*}ResourceRecords/{*}ResourceRecord/{*}Value")),
        (alias.findtext("{*}HostedZoneId") or "", fqdn(alias.findtext("{*}DNSName") or ""),
         (alias.findtext("{*}EvaluateTargetHealth") or "false").lower() == "true")
        if alias is not None else None,
        el.findtext("{*}SetIdentifier"))


def _from_api(raw: dict[str, Any]) -> RrSet:
    alias = raw.get("AliasTarget")
    return RrSet(
        fqdn(raw["Name"]), raw["Type"].upper(),
        str(raw["TTL"]) if "TTL" in raw else None,
        tuple(v["Value"] for v in raw.get("ResourceRecords", [])),
        (alias["HostedZoneId"], fqdn(alias["DNSName"]), bool(alias.get("EvaluateTargetHealth")))
        if alias else None,
        raw.get("SetIdentifier"))
