"""Route53: a check of a record set as the API holds it (not as DNS answers), and an
action that writes or deletes one record set and waits until Route53 says INSYNC.

A record set is compared as a small view: TTL and sorted values, or the alias target
(its DNS name without the trailing dot, its zone, and health evaluation). An alias to a
CloudFront distribution is written as ``alias: {distribution: ID}``: the kind looks up
the distribution's domain name and uses CloudFront's hosted zone itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.common import (
    CLOUDFRONT_ZONE_ID,
    bare,
    call,
    describe_drift,
    fqdn,
    missing_fails,
    read_distribution,
)
from runbook.kinds.base import Action, Change, Check, CheckResult, Diff, Outputs, Params, Snapshot


class AliasSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: str | None = Field(None, description="CloudFront distribution id")
    dns_name: str | None = Field(None, description="alias target DNS name")
    zone_id: str | None = Field(
        None, description="the target's hosted zone id: needed to write a `dns_name` alias; "
        "a check compares it only when given")
    evaluate_health: bool = Field(False, description="EvaluateTargetHealth")

    @model_validator(mode="after")
    def _one(self) -> AliasSpec:
        if (self.distribution is None) == (self.dns_name is None):
            raise ValueError("give exactly one of `distribution` or `dns_name`")
        return self


class _RecordCommon(Params):
    zone: str = Field(description="hosted zone: its name (example.com) or id")
    name: str = Field(description="record name, fully qualified")
    type: str = Field("A", description="record type: A, AAAA, CNAME, TXT, MX, ...")
    values: list[str] | None = Field(None, description="the record's values")
    alias: AliasSpec | None = Field(None, description="alias target instead of values")
    absent: bool = Field(False, description="the record set must not exist")

    @field_validator("type")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _shape(self) -> _RecordCommon:
        given = (self.values is not None) + (self.alias is not None)
        if self.absent and given:
            raise ValueError("`absent: true` takes no `values` or `alias`")
        if given > 1:
            raise ValueError("give `values` or `alias`, not both")
        return self


def _zone(ctx: RunContext, zone: str) -> tuple[str, str]:
    """(zone id, zone name) for a zone name or id."""
    r53 = ctx.client("route53")
    if "." not in zone.strip("."):
        zid = zone.rsplit("/", 1)[-1]
        got = call(r53, "get_hosted_zone", f"hosted zone {zid}", Id=zid)
        return zid, fqdn(got["HostedZone"]["Name"])
    name = fqdn(zone)
    got = call(r53, "list_hosted_zones_by_name", f"hosted zone {name}", DNSName=name)
    found = [z for z in got.get("HostedZones", []) if fqdn(z["Name"]) == name]
    if not found:
        raise KindError(f"there is no hosted zone named {name} in this account")
    if len(found) > 1:
        ids = ", ".join(z["Id"].rsplit("/", 1)[-1] for z in found)
        raise KindError(f"{len(found)} hosted zones are named {name} ({ids}): give the id")
    return str(found[0]["Id"]).rsplit("/", 1)[-1], name


def _in_zone(name: str, zone_name: str) -> str:
    full = fqdn(name)
    if full != zone_name and not full.endswith("." + zone_name):
        raise KindError(f"{bare(name)} is not in zone {zone_name}")
    return full


def read_record(ctx: RunContext, zone_id: str, name: str, rtype: str) -> dict[str, Any] | None:
    """The record set ``name``/``rtype`` as the API holds it (simple routing only)."""
    got = call(ctx.client("route53"), "list_resource_record_sets", f"{bare(name)} {rtype}",
               HostedZoneId=zone_id, StartRecordName=name, StartRecordType=rtype,
               MaxItems="10")
    for rr in got.get("ResourceRecordSets", []):
        if fqdn(rr["Name"]) == fqdn(name) and rr["Type"] == rtype and "SetIdentifier" not in rr:
            return dict(rr)
    return None


def view(rr: dict[str, Any] | None) -> dict[str, Any] | None:
    """What matters of a record set, normalised for comparison."""
    if rr is None:
        return None
    if "AliasTarget" in rr:
        t = rr["AliasTarget"]
        return {"alias": {"dns_name": bare(t["DNSName"]), "zone_id": t["HostedZoneId"],
                          "evaluate_health": bool(t.get("EvaluateTargetHealth"))}}
    values = sorted(v["Value"] for v in rr.get("ResourceRecords", []))
    return {"ttl": rr.get("TTL"), "values": values}


def _alias_target(ctx: RunContext, alias: AliasSpec) -> dict[str, Any]:
    if alias.distribution:
        dist, _ = read_distribution(ctx, alias.distribution)
        name, zone = str(dist["DomainName"]), CLOUDFRONT_ZONE_ID
    else:
        name, zone = str(alias.dns_name), str(alias.zone_id or "")
    return {"HostedZoneId": zone, "DNSName": fqdn(name), "EvaluateTargetHealth":
            alias.evaluate_health}


def _changes(path: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Change]:
    if old is None or new is None or set(old) != set(new):
        return [Change(path, old, new)] if old != new else []
    out: list[Change] = []
    for key in sorted(old):
        a, b = old[key], new[key]
        if isinstance(a, dict) and isinstance(b, dict):
            out += [Change(f"{path}.{key}.{k}", a.get(k), b.get(k))
                    for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(Change(f"{path}.{key}", a, b))
    return out


@register
class RecordCheck(Check[_RecordCommon]):
    kind = "route53.record"
    Params = _RecordCommon
    summary = "a Route53 record set as the API holds it (values or alias), or its absence"

    def describe(self) -> str:
        p = self.params
        if p.absent:
            return f"{bare(p.name)} has no {p.type} record in zone {bare(p.zone)}"
        if p.alias:
            to = (p.alias.distribution and f"distribution {p.alias.distribution}") or \
                p.alias.dns_name
            return f"{bare(p.name)} {p.type} is an alias of {to}"
        if p.values is not None:
            return f"{bare(p.name)} {p.type} is {', '.join(p.values)}"
        return f"{bare(p.name)} has a {p.type} record"

    @missing_fails
    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        zone_id, zone_name = _zone(ctx, p.zone)
        name = _in_zone(p.name, zone_name)
        got = view(read_record(ctx, zone_id, name, p.type))
        label = f"{bare(name)} {p.type}"
        if p.absent:
            if got is None:
                return CheckResult.passed(f"{label} does not exist in {zone_name}", record=None)
            return CheckResult.failed(f"{label} exists ({got}), expected none", record=got)
        if got is None:
            return CheckResult.failed(f"{label} does not exist in zone {zone_name}",
                                      "missing", record=None)
        if p.alias:
            want = _alias_target(ctx, p.alias)
            have = got.get("alias")
            if have is None or have["dns_name"] != bare(want["DNSName"]) or (
                    want["HostedZoneId"] and have["zone_id"] != want["HostedZoneId"]):
                return CheckResult.failed(f"{label} points at {have or got}, expected an "
                                          f"alias of {bare(want['DNSName'])}", record=got)
            return CheckResult.passed(f"{label} is an alias of {have['dns_name']}", record=got)
        if p.values is not None and got.get("values") != sorted(p.values):
            return CheckResult.failed(f"{label} is {got.get('values') or got}, expected "
                                      f"{sorted(p.values)}", record=got)
        return CheckResult.passed(f"{label} is {got.get('values') or got}", record=got)


class RecordParams(_RecordCommon):
    ttl: int = Field(300, ge=0, description="TTL in seconds (not used by alias records)")
    wait: bool = Field(True, description="wait until Route53 reports the change INSYNC")
    timeout: Duration = Field(300.0, description="how long to wait for INSYNC")
    every: Duration = Field(5.0, description="how often to ask while waiting")

    @model_validator(mode="after")
    def _something(self) -> RecordParams:
        if not self.absent and self.values is None and self.alias is None:
            raise ValueError("give `values`, `alias`, or `absent: true`")
        if self.alias and self.alias.dns_name is not None and self.alias.zone_id is None:
            raise ValueError("an alias to `dns_name` needs the target's `zone_id`")
        return self


@register
class Record(Action[RecordParams]):
    kind = "route53.record"
    Params = RecordParams
    summary = "write or delete one Route53 record set; wait until INSYNC"
    outputs: ClassVar[dict[str, str]] = {
        "fqdn": "the record's fully qualified name, with the trailing dot",
        "change_id": "the Route53 change id ('' when nothing had to change)",
    }

    def describe(self) -> str:
        p = self.params
        if p.absent:
            return f"delete the {p.type} record of {bare(p.name)}"
        if p.alias:
            to = f"distribution {p.alias.distribution}" if p.alias.distribution \
                else p.alias.dns_name
            return f"point {bare(p.name)} ({p.type}) at {to}"
        return f"set {bare(p.name)} {p.type} to {', '.join(p.values or [])} (TTL {p.ttl})"

    def _desired(self, ctx: RunContext, name: str) -> dict[str, Any] | None:
        p = self.params
        if p.absent:
            return None
        rr: dict[str, Any] = {"Name": name, "Type": p.type}
        if p.alias:
            rr["AliasTarget"] = _alias_target(ctx, p.alias)
        else:
            rr["TTL"] = p.ttl
            rr["ResourceRecords"] = [{"Value": v} for v in p.values or []]
        return rr

    def snapshot(self, ctx: RunContext) -> Snapshot:
        p = self.params
        zone_id, zone_name = _zone(ctx, p.zone)
        name = _in_zone(p.name, zone_name)
        return {"zone_id": zone_id, "fqdn": name, "type": p.type,
                "record": read_record(ctx, zone_id, name, p.type)}

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        new = self._desired(ctx, snapshot["fqdn"])
        changes = _changes(f"{snapshot['fqdn']} {snapshot['type']}",
                           view(snapshot["record"]), view(new))
        note = (f"waits up to {format_duration(self.params.timeout)} for INSYNC"
                if changes and self.params.wait else None)
        return Diff(tuple(changes), note)

    def _change(self, ctx: RunContext, zone_id: str, action: str, rr: dict[str, Any]) -> str:
        p = self.params
        r53 = ctx.client("route53")
        what = f"{bare(rr['Name'])} {rr['Type']}"
        got = call(r53, "change_resource_record_sets", f"zone {zone_id}", HostedZoneId=zone_id,
                   ChangeBatch={"Comment": f"runbook {ctx.run_id}: {self.describe()}",
                                "Changes": [{"Action": action, "ResourceRecordSet": rr}]})
        change_id = str(got["ChangeInfo"]["Id"]).rsplit("/", 1)[-1]
        if not p.wait:
            return change_id

        def probe() -> tuple[bool, str]:
            status = str(call(r53, "get_change", f"change {change_id}",
                              Id=change_id)["ChangeInfo"]["Status"])
            return status == "INSYNC", status

        ok, status = ctx.poll(probe, timeout=p.timeout, every=p.every,
                              what=f"waiting for change {change_id} ({what}) to be INSYNC")
        if not ok:
            raise KindError(f"change {change_id} to {what} is still {status} after "
                            f"{format_duration(p.timeout)}: Route53 accepted it but has not "
                            "yet told all its name servers")
        return change_id

    def _put(self, ctx: RunContext, zone_id: str, want: dict[str, Any] | None,
             live: dict[str, Any] | None) -> str:
        """Make the record ``want`` (None: deleted), from ``live``. Returns the change id."""
        if view(want) == view(live):
            return ""
        if want is None:
            assert live is not None
            return self._change(ctx, zone_id, "DELETE", live)
        return self._change(ctx, zone_id, "UPSERT", want)

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        name = snapshot["fqdn"]
        want = self._desired(ctx, name)
        live = read_record(ctx, snapshot["zone_id"], name, snapshot["type"])
        change_id = self._put(ctx, snapshot["zone_id"], want, live)
        return {"fqdn": name, "change_id": change_id, "record": view(want)}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        live = read_record(ctx, snapshot["zone_id"], snapshot["fqdn"], snapshot["type"])
        self._put(ctx, snapshot["zone_id"], snapshot["record"], live)

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        return bool(view(before["record"]) == view(now["record"]))

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        then = view(snapshot["record"])
        now = view(read_record(ctx, snapshot["zone_id"], snapshot["fqdn"], snapshot["type"]))
        if now == then:
            return None
        changes = _changes("record", then, now)
        shown = "; ".join(f"{c.path} is {c.new!r}, was {c.old!r}" for c in changes[:3])
        return f"{bare(snapshot['fqdn'])} {snapshot['type']} differs from its snapshot: {shown}"

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if "record" not in applied:
            return None
        p = self.params
        zone_id, zone_name = _zone(ctx, p.zone)
        now = view(read_record(ctx, zone_id, _in_zone(p.name, zone_name), p.type))
        if now == applied["record"]:
            return None
        changes = [(c.path, c.old, c.new) for c in _changes("record", applied["record"], now)]
        return describe_drift(f"{bare(p.name)} {p.type}", changes)
