"""Route53: a check of a record set as the API holds it (not as DNS answers), and an
action that writes or deletes one record set and waits until Route53 says INSYNC.

A record set is compared as a small view: TTL and sorted values, or the alias target
(its DNS name without the trailing dot, its zone, and health evaluation). An alias to a
CloudFront distribution is written as ``alias: {distribution: ID}``: the kind looks up
the distribution's domain name and uses CloudFront's hosted zone itself.
"""

from __future__ import annotations

from runbook.context import RunContext
from runbook.kinds import register
from runbook.kinds.aws.common import bare, missing_fails
from runbook.kinds.aws.r53common import (
    RecordCommon,
    alias_target,
    in_zone,
    read_record,
    view,
    zone_of,
)
from runbook.kinds.base import Check, CheckResult


@register
class RecordCheck(Check[RecordCommon]):
    kind = "route53.record"
    uses_aws = True
    Params = RecordCommon
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
        zone_id, zone_name = zone_of(ctx, p.zone)
        name = in_zone(p.name, zone_name)
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
            want = alias_target(ctx, p.alias)
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
