"""Route53 record sets for the ``route53.record`` check and action: their parameter
models, zone lookup, reading and normalising record sets (private to the route53 kinds)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runbook.context import RunContext
from runbook.durations import Duration
from runbook.errors import KindError
from runbook.kinds.aws.common import CLOUDFRONT_ZONE_ID, bare, call, fqdn, read_distribution
from runbook.kinds.base import Change, Params
from runbook.kinds.sets import RECORD_SETS, in_set_order


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
        cloudfront = self.distribution is not None or self.zone_id == CLOUDFRONT_ZONE_ID or (
            self.dns_name is not None and bare(self.dns_name).endswith(".cloudfront.net"))
        if self.evaluate_health and cloudfront:
            raise ValueError("Route53 refuses `evaluate_health: true` for an alias to a "
                             "CloudFront distribution (EvaluateTargetHealth must be false "
                             "there): remove it")
        return self


class RecordCommon(Params):
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
    def _shape(self) -> RecordCommon:
        given = (self.values is not None) + (self.alias is not None)
        if self.absent and given:
            raise ValueError("`absent: true` takes no `values` or `alias`")
        if given > 1:
            raise ValueError("give `values` or `alias`, not both")
        return self


def zone_of(ctx: RunContext, zone: str) -> tuple[str, str]:
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


def in_zone(name: str, zone_name: str) -> str:
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
    values = [v["Value"] for v in rr.get("ResourceRecords", [])]
    return dict(in_set_order({"ttl": rr.get("TTL"), "values": values}, RECORD_SETS))


def alias_target(ctx: RunContext, alias: AliasSpec) -> dict[str, Any]:
    if alias.distribution:
        dist, _ = read_distribution(ctx, alias.distribution)
        name, zone = str(dist["DomainName"]), CLOUDFRONT_ZONE_ID
    else:
        name, zone = str(alias.dns_name), str(alias.zone_id or "")
    return {"HostedZoneId": zone, "DNSName": fqdn(name), "EvaluateTargetHealth":
            alias.evaluate_health}


def changes(path: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Change]:
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


class RecordParams(RecordCommon):
    ttl: int = Field(300, ge=0, description="TTL in seconds (not used by alias records)")
    distribution_domain: str | None = Field(
        None, description="the value is this CloudFront distribution's domain name "
        "(d123.cloudfront.net): the TXT record `_<alias>` that cloudfront.move_alias needs")
    also_aaaa: bool | Literal["auto"] = Field(
        False, description="with an A alias to a distribution: also write the AAAA alias "
        "(auto: when the distribution has IPv6 on, CloudFront's default)")
    keep_values: bool = Field(
        False, description="change only the TTL of the record that is there, keeping its "
        "values (lower a TTL ahead of a change)")
    wait_old_ttl: bool = Field(
        False, description="after INSYNC, wait the old record's TTL: until then resolvers "
        "may still hold the answer they cached under it")
    wait: bool = Field(True, description="wait until Route53 reports the change INSYNC")
    timeout: Duration = Field(300.0, description="how long to wait for INSYNC")
    every: Duration = Field(5.0, description="how often to ask while waiting")

    @model_validator(mode="after")
    def _something(self) -> RecordParams:
        if self.keep_values:
            if self.values is not None or self.alias is not None or self.absent or \
                    self.distribution_domain is not None:
                raise ValueError("`keep_values` changes only the TTL: give no `values`, "
                                 "`alias`, `distribution_domain` or `absent` with it")
        elif self.distribution_domain is not None:
            if self.values is not None or self.alias is not None or self.absent:
                raise ValueError("`distribution_domain` is the record's value: give no "
                                 "`values`, `alias` or `absent` with it")
            if self.type not in ("TXT", "CNAME"):
                raise ValueError("`distribution_domain` makes a TXT or CNAME record")
        elif not self.absent and self.values is None and self.alias is None:
            raise ValueError("give `values`, `alias`, or `absent: true`")
        if self.alias and self.alias.dns_name is not None and self.alias.zone_id is None:
            raise ValueError("an alias to `dns_name` needs the target's `zone_id`")
        if self.also_aaaa is True and not (self.type == "A" and self.alias is not None
                                           and self.alias.distribution is not None):
            raise ValueError("`also_aaaa` goes with `type: A` and `alias: {distribution: ID}`")
        return self
