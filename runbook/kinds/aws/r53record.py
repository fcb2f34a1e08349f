"""The ``route53.record`` action, as strict as Route53.

* A record that did not exist when the step read it is written with CREATE, so one that
  appears in between is refused by Route53 (and by this kind first) instead of being
  overwritten and then deleted by the rollback.
* The snapshot reads every record set at the name: a CNAME beside the record (or any
  record beside a CNAME) is a conflict Route53 rejects; the diff and the dry run show it
  and apply stops before changing anything.
* An A alias to a distribution can bring its AAAA twin (``also_aaaa``): both are written
  and restored in one change batch.
* The diff says how long resolvers may keep the old answer: the old record's TTL (60
  seconds for an alias to CloudFront), or the zone's negative-caching TTL for a name that
  had no record.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from runbook.context import RunContext
from runbook.durations import format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.common import (
    CLOUDFRONT_ZONE_ID,
    AwsApiError,
    bare,
    call,
    describe_drift,
    fqdn,
    read_distribution,
)
from runbook.kinds.aws.r53common import (
    RecordParams,
    alias_target,
    in_zone,
    read_record,
    view,
    zone_of,
)
from runbook.kinds.aws.r53common import (
    changes as field_changes,
)
from runbook.kinds.base import Action, Diff, Outputs, Snapshot

CLOUDFRONT_ALIAS_TTL = 60  # what Route53 answers for an alias to a distribution


def records_at(ctx: RunContext, zone_id: str, name: str) -> dict[str, dict[str, Any]]:
    """Every simple-routing record set at ``name``, by type."""
    got = call(ctx.client("route53"), "list_resource_record_sets", bare(name),
               HostedZoneId=zone_id, StartRecordName=name, MaxItems="50")
    return {str(rr["Type"]): dict(rr) for rr in got.get("ResourceRecordSets", [])
            if fqdn(rr["Name"]) == fqdn(name) and "SetIdentifier" not in rr}


def negative_ttl(ctx: RunContext, zone_id: str, zone_name: str) -> int | None:
    """The zone's negative-caching TTL: the SOA's minimum, capped by the SOA's own TTL."""
    soa = records_at(ctx, zone_id, zone_name).get("SOA")
    if not soa or not soa.get("ResourceRecords"):
        return None
    # the SOA's last number is its minimum (moto wraps the value in quotes and braces)
    numbers = re.findall(r"\d+", str(soa["ResourceRecords"][0]["Value"]))
    if not numbers:
        return None
    minimum = int(numbers[-1])
    return min(minimum, int(soa.get("TTL") or minimum))


def answer_ttl(rr: dict[str, Any] | None) -> int | None:
    if rr is None:
        return None
    if "AliasTarget" in rr:
        t = rr["AliasTarget"]
        if t.get("HostedZoneId") == CLOUDFRONT_ZONE_ID:
            return CLOUDFRONT_ALIAS_TTL
        return None
    return int(rr["TTL"]) if rr.get("TTL") is not None else None


def conflict(rtype: str, others: dict[str, Any]) -> str | None:
    """Why Route53 would refuse a ``rtype`` record beside the record sets ``others``."""
    if rtype != "CNAME" and "CNAME" in others:
        return (f"the name has a CNAME record ({view(others['CNAME'])}): Route53 refuses "
                f"a {rtype} record beside a CNAME; delete the CNAME first")
    if rtype == "CNAME":
        rest = sorted(t for t in others if t not in ("CNAME", "NS", "SOA"))
        if rest:
            return (f"the name has {', '.join(rest)} record(s): Route53 refuses a CNAME "
                    "beside other records")
    return None


@register
class Record(Action[RecordParams]):
    kind = "route53.record"
    uses_aws = True
    Params = RecordParams
    summary = "write or delete one Route53 record set (and its AAAA twin); wait until INSYNC"
    outputs: ClassVar[dict[str, str]] = {
        "fqdn": "the record's fully qualified name, with the trailing dot",
        "change_id": "the Route53 change id ('' when nothing had to change)",
        "old_answer_ttl": "seconds resolvers may keep the answer from before the change",
    }

    def describe(self) -> str:
        p = self.params
        if p.absent:
            return f"delete the {p.type} record of {bare(p.name)}"
        if p.alias:
            to = f"distribution {p.alias.distribution}" if p.alias.distribution \
                else p.alias.dns_name
            both = "A, and AAAA when IPv6 is on" if p.also_aaaa == "auto" else \
                "A and AAAA" if p.also_aaaa else p.type
            return f"point {bare(p.name)} ({both}) at {to}"
        if p.distribution_domain:
            return (f"set {bare(p.name)} {p.type} to the domain name of distribution "
                    f"{p.distribution_domain} (TTL {p.ttl})")
        return f"set {bare(p.name)} {p.type} to {', '.join(p.values or [])} (TTL {p.ttl})"

    def _types(self, snapshot: Snapshot) -> list[str]:
        return [snapshot["type"]] + (["AAAA"] if snapshot.get("ipv6") else [])

    def _desired(self, ctx: RunContext, name: str, rtype: str,
                 had: dict[str, Any] | None = None) -> dict[str, Any] | None:
        p = self.params
        if p.absent:
            return None
        rr: dict[str, Any] = {"Name": name, "Type": rtype}
        if p.keep_values:
            if had is None or "AliasTarget" in had:
                raise KindError(f"{bare(name)} {rtype} " + (
                    "is an alias record, which has no TTL of its own (resolvers get the "
                    "target's)" if had else "does not exist: there is no TTL to change"))
            return {**had, "TTL": p.ttl}
        if p.alias:
            rr["AliasTarget"] = alias_target(ctx, p.alias)
        elif p.distribution_domain:
            dist, _ = read_distribution(ctx, p.distribution_domain)
            value = bare(str(dist["DomainName"]))
            rr["TTL"] = p.ttl
            rr["ResourceRecords"] = [{"Value": f'"{value}"' if rtype == "TXT" else value}]
        else:
            rr["TTL"] = p.ttl
            rr["ResourceRecords"] = [{"Value": v} for v in p.values or []]
        return rr

    def _ipv6(self, ctx: RunContext) -> bool:
        p = self.params
        if p.also_aaaa is True:
            return True
        if p.also_aaaa == "auto" and p.type == "A" and p.alias and p.alias.distribution:
            dist, _ = read_distribution(ctx, p.alias.distribution)
            return bool(dist["DistributionConfig"].get("IsIPV6Enabled", True))
        return False

    def snapshot(self, ctx: RunContext) -> Snapshot:
        p = self.params
        zone_id, zone_name = zone_of(ctx, p.zone)
        name = in_zone(p.name, zone_name)
        at = records_at(ctx, zone_id, name)
        snap: dict[str, Any] = {"zone_id": zone_id, "fqdn": name, "type": p.type,
                                "record": at.get(p.type), "ipv6": self._ipv6(ctx),
                                "others": {t: view(rr) for t, rr in at.items()
                                           if t not in (p.type, "AAAA", "NS", "SOA")},
                                "negative_ttl": negative_ttl(ctx, zone_id, zone_name)}
        if snap["ipv6"]:
            snap["aaaa"] = at.get("AAAA")
        return snap

    def _had(self, snapshot: Snapshot, rtype: str) -> dict[str, Any] | None:
        return snapshot["record"] if rtype == snapshot["type"] else snapshot.get("aaaa")

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        p, name = self.params, snapshot["fqdn"]
        changes = []
        for rtype in self._types(snapshot):
            had = self._had(snapshot, rtype)
            changes += field_changes(f"{name} {rtype}", view(had),
                                     view(self._desired(ctx, name, rtype, had)))
        if not changes:
            return Diff()
        notes = []
        why = conflict(p.type, snapshot.get("others") or {}) if not p.absent else None
        if why:
            notes.append(f"CONFLICT: {why}; apply stops before changing anything")
        if p.alias and p.alias.distribution and p.type == "A":
            if snapshot.get("ipv6"):
                notes.append(f"distribution {p.alias.distribution} has IPv6 on: writes A "
                             "and AAAA")
            elif p.also_aaaa == "auto":
                notes.append(f"distribution {p.alias.distribution} has IPv6 off: writes A "
                             "only")
            else:
                notes.append("writes A only (also_aaaa is off): IPv6-only clients cannot "
                             "reach the name if the distribution has IPv6 on")
        notes.append(self._ttl_note(snapshot))
        if p.wait:
            notes.append(f"waits up to {format_duration(p.timeout)} for INSYNC")
        old_ttl = self._old_ttl(snapshot)
        if p.wait_old_ttl and old_ttl:
            notes.append(f"then waits {format_duration(float(old_ttl))} (the old TTL), so no "
                         "resolver still holds the answer it cached under it")
        return Diff(tuple(changes), "; ".join(notes))

    def _old_ttl(self, snapshot: Snapshot) -> int | None:
        had = snapshot["record"]
        return answer_ttl(had) if had is not None else snapshot.get("negative_ttl")

    def _ttl_note(self, snapshot: Snapshot) -> str:
        had, ttl = snapshot["record"], self._old_ttl(snapshot)
        if had is None:
            note = "creates the record (CREATE: Route53 refuses if one appears meanwhile)"
            if ttl is not None:
                note += (f"; resolvers that asked before may keep 'no such record' for up "
                         f"to {format_duration(float(ttl))} (the zone's negative-caching TTL)")
            return note
        if ttl is None:
            return "resolvers may keep the old answer for the alias target's TTL"
        return (f"resolvers may keep the old answer for up to {format_duration(float(ttl))} "
                "after the change (the old record's TTL), and the new one as long after a "
                "rollback")

    def _submit(self, ctx: RunContext, zone_id: str,
                batch: list[tuple[str, dict[str, Any]]]) -> str:
        p = self.params
        r53 = ctx.client("route53")
        what = ", ".join(f"{bare(rr['Name'])} {rr['Type']}" for _, rr in batch)
        try:
            got = call(r53, "change_resource_record_sets", f"zone {zone_id}",
                       HostedZoneId=zone_id, ChangeBatch={
                           "Comment": f"runbook {ctx.run_id}: {self.describe()}"[:256],
                           "Changes": [{"Action": a, "ResourceRecordSet": rr}
                                       for a, rr in batch]})
        except AwsApiError as exc:
            if exc.code != "InvalidChangeBatch":
                raise
            cause = getattr(exc.__cause__, "response", {}).get("Error", {})
            said = str(cause.get("Message") or exc.message).rstrip(".")
            raise AwsApiError(
                f"Route53 refused the change to {what}: {said}. A CREATE is refused "
                "when the record appeared after this step read it (someone else made it: "
                "look before overwriting), and any record is refused beside a CNAME.",
                code=exc.code, operation=exc.operation, resource=exc.resource) from exc
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

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p, name, zone_id = self.params, snapshot["fqdn"], snapshot["zone_id"]
        at = records_at(ctx, zone_id, name)
        others = {t: rr for t, rr in at.items() if t not in (p.type, "AAAA", "NS", "SOA")}
        why = conflict(p.type, others) if not p.absent else None
        if why:
            raise KindError(f"{bare(name)}: {why}. Nothing was changed.")
        batch: list[tuple[str, dict[str, Any]]] = []
        written: dict[str, Any] = {}
        for rtype in self._types(snapshot):
            had = self._had(snapshot, rtype)
            want, live = self._desired(ctx, name, rtype, had), at.get(rtype)
            written[rtype] = view(want)
            if view(want) == view(live):
                continue
            if want is None:
                batch.append(("DELETE", dict(live or {})))
            elif had is None:
                if live is not None:
                    raise KindError(
                        f"{bare(name)} {rtype} did not exist when this step read it, but "
                        f"exists now ({view(live)}): someone else created it. Not "
                        "overwriting a record nobody reviewed: run the step again to see "
                        "the new diff. Nothing was changed.")
                batch.append(("CREATE", want))
            else:
                batch.append(("UPSERT", want))
        change_id = self._submit(ctx, zone_id, batch) if batch else ""
        old_ttl = self._old_ttl(snapshot)
        if p.wait_old_ttl and batch and old_ttl:
            ctx.poll(lambda: (False, "resolvers may still hold the old answer"),
                     timeout=float(old_ttl), every=min(30.0, float(old_ttl)),
                     what=f"waiting out the old TTL ({old_ttl}s) of {bare(name)} {p.type}")
        return {"fqdn": name, "change_id": change_id, "record": written[p.type],
                "aaaa": written.get("AAAA"), "old_answer_ttl": self._old_ttl(snapshot)}

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        """The records written are read back; ``change_id`` is the one output only the
        change call gives (Route53 lists no changes, it answers one by its id), so it is
        '' here: the post checks read the records themselves, not the change."""
        name, zone_id = snapshot["fqdn"], snapshot["zone_id"]
        at = records_at(ctx, zone_id, name)
        types = self._types(snapshot)
        return {"fqdn": name, "change_id": "", "record": view(at.get(self.params.type)),
                "aaaa": view(at.get("AAAA")) if "AAAA" in types else None,
                "old_answer_ttl": self._old_ttl(snapshot)}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        name, zone_id = snapshot["fqdn"], snapshot["zone_id"]
        batch: list[tuple[str, dict[str, Any]]] = []
        for rtype in self._types(snapshot):
            had = self._had(snapshot, rtype)
            live = read_record(ctx, zone_id, name, rtype)
            if view(had) == view(live):
                continue
            if had is None:
                batch.append(("DELETE", dict(live or {})))
            else:
                batch.append(("UPSERT", had))
        if batch:
            self._submit(ctx, zone_id, batch)

    def unchanged(self, before: Snapshot, now: Snapshot) -> bool:
        return all(view(self._had(before, t)) == view(self._had(now, t))
                   for t in self._types(before))

    def restored(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> str | None:
        """The record sets read again, compared with the snapshot (A and AAAA alike)."""
        name, zone_id = snapshot["fqdn"], snapshot["zone_id"]
        for rtype in self._types(snapshot):
            then = view(self._had(snapshot, rtype))
            now = view(read_record(ctx, zone_id, name, rtype))
            if now != then:
                changes = field_changes("record", then, now)
                shown = "; ".join(f"{c.path} is {c.new!r}, was {c.old!r}" for c in changes[:3])
                return f"{bare(name)} {rtype} differs from its snapshot: {shown}"
        return None

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if "record" not in applied:
            return None
        p = self.params
        zone_id, zone_name = zone_of(ctx, p.zone)
        name = in_zone(p.name, zone_name)
        wanted = {p.type: applied["record"]}
        if applied.get("aaaa") is not None:
            wanted["AAAA"] = applied["aaaa"]
        for rtype, want in wanted.items():
            now = view(read_record(ctx, zone_id, name, rtype))
            if now != want:
                changes = [(c.path, c.old, c.new) for c in field_changes("record", want, now)]
                return describe_drift(f"{bare(p.name)} {rtype}", changes)
        return None
