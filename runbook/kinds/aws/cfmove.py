"""``cloudfront.move_alias``: move an alternate domain name from one distribution to
another in one step, with CloudFront's AssociateAlias.

Removing a name from one distribution and adding it to another takes two deploys (5-25
minutes each on CloudFront) during which the name is served by neither: an outage of the
name. AssociateAlias moves it atomically. AWS's prerequisites (CloudFront Developer
Guide, "Moving an alternate domain name to a different distribution"):

* the target distribution's certificate covers the name;
* a DNS TXT record ``_<name>`` whose value is the target distribution's domain name
  (``d111111abcdef8.cloudfront.net``) proves you control the name; AWS refuses the call
  without it (InvalidArgument).

Moving back (restore) needs the TXT record to name the *source* distribution. With
``zone`` given, restore points ``_<name>`` at the source, moves the name back, and puts
the TXT record back as it was, so the step that created it can remove it in its turn.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from runbook.certnames import covers
from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.errors import KindError
from runbook.kinds import register
from runbook.kinds.aws.cfconfig import aliases_of, cert_of
from runbook.kinds.aws.common import AwsApiError, bare, call, fqdn, read_distribution
from runbook.kinds.base import Action, Change, Diff, Outputs, Params, Snapshot


class MoveAliasParams(Params):
    alias: str = Field(description="the alternate domain name to move")
    source: str = Field(description="the distribution that has it now")
    target: str = Field(description="the distribution that will have it")
    zone: str | None = Field(
        None, description="hosted zone of the `_<alias>` TXT record (its name or id): lets "
        "rollback point the record at the source before it moves the name back")
    wait: bool = Field(True, description="wait until both distributions are Deployed")
    timeout: Duration = Field(1800.0, description="how long to wait for the deploys")
    every: Duration = Field(20.0, description="how often to ask while waiting")


def txt_name(alias: str) -> str:
    """The name of the TXT record AssociateAlias looks for: ``_`` + the alias."""
    return fqdn("_" + bare(alias))


def _unquote(value: str) -> str:
    return bare(value.strip().strip('"'))


@register
class MoveAlias(Action[MoveAliasParams]):
    kind = "cloudfront.move_alias"
    uses_aws = True
    Params = MoveAliasParams
    summary = "move an alternate domain name to another distribution in one step"
    outputs: ClassVar[dict[str, str]] = {
        "domain_name": "the target distribution's *.cloudfront.net name",
        "txt_record": "the TXT record AWS requires (_<alias>)",
    }
    # AssociateAlias appends the name it moves in: a distribution's aliases are a set.
    sets = {"source_aliases": None, "target_aliases": None}

    def describe(self) -> str:
        p = self.params
        return (f"move {bare(p.alias)} from distribution {p.source} to distribution "
                f"{p.target} in one step (AssociateAlias)")

    def _aliases(self, ctx: RunContext, dist_id: str) -> tuple[list[str], dict[str, Any]]:
        dist, _ = read_distribution(ctx, dist_id)
        return aliases_of(dist["DistributionConfig"]), dist

    def snapshot(self, ctx: RunContext) -> Snapshot:
        p = self.params
        src, _ = self._aliases(ctx, p.source)
        tgt, dist = self._aliases(ctx, p.target)
        return {"alias": bare(p.alias), "source_aliases": src, "target_aliases": tgt,
                "target_domain": bare(str(dist["DomainName"]))}

    def _txt(self, ctx: RunContext) -> tuple[str, str, dict[str, Any] | None] | None:
        """(zone id, record name, the TXT record set or None), when ``zone`` is given."""
        if self.params.zone is None:
            return None
        from runbook.kinds.aws.r53common import read_record, zone_of

        zone_id, _ = zone_of(ctx, self.params.zone)
        name = txt_name(self.params.alias)
        return zone_id, name, read_record(ctx, zone_id, name, "TXT")

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        p, alias = self.params, snapshot["alias"]
        src, tgt = list(snapshot["source_aliases"]), list(snapshot["target_aliases"])
        changes: list[Change] = []
        if alias in src:
            changes.append(Change(f"distribution {p.source} Aliases.Items", src,
                                  [a for a in src if a != alias]))
        if alias not in tgt:
            changes.append(Change(f"distribution {p.target} Aliases.Items", tgt, [*tgt, alias]))
        if not changes:
            return Diff()
        want = snapshot["target_domain"]
        notes = [f"one AssociateAlias call: {alias} is served by {p.source} until "
                 f"{p.target} takes it, with no gap; AWS requires TXT {txt_name(alias)} = "
                 f"\"{want}\""]
        found = self._txt(ctx)
        if found is not None:
            values = [_unquote(v["Value"]) for v in (found[2] or {}).get("ResourceRecords", [])]
            notes.append("that record exists" if want in values else
                         "that record does not exist yet: a step before must create it")
        if p.wait:
            notes.append(f"waits up to {format_duration(p.timeout)} for both distributions "
                         "to deploy")
        return Diff(tuple(changes), "; ".join(notes))

    def _associate(self, ctx: RunContext, target: str, target_domain: str) -> None:
        alias = bare(self.params.alias)
        try:
            call(ctx.client("cloudfront"), "associate_alias", f"distribution {target}",
                 TargetDistributionId=target, Alias=alias)
        except AwsApiError as exc:
            if exc.code not in ("InvalidArgument", "IllegalUpdate"):
                raise
            raise AwsApiError(
                f"CloudFront refused to move {alias} to distribution {target}: it needs a "
                f"DNS TXT record {txt_name(alias)} whose value is {target_domain} (the "
                "target's domain name), and a certificate on the target that covers "
                f"{alias}. Create the record (route53.record, type TXT) in a step before "
                f"this one. AWS said: {exc.message}", code=exc.code,
                operation=exc.operation, resource=exc.resource) from exc

    def _wait(self, ctx: RunContext) -> None:
        p = self.params
        if not p.wait:
            return
        for dist_id in (p.target, p.source):
            def probe(d: str = dist_id) -> tuple[bool, str]:
                dist, _ = read_distribution(ctx, d)
                status = str(dist.get("Status", ""))
                return status.lower() == "deployed", status

            ok, status = ctx.poll(probe, timeout=p.timeout, every=p.every,
                                  what=f"waiting for distribution {dist_id} to deploy")
            if not ok:
                raise KindError(f"distribution {dist_id} is still {status} after "
                                f"{format_duration(p.timeout)}: the move is saved and "
                                "CloudFront is still deploying it")

    def _check_target(self, ctx: RunContext, dist: dict[str, Any]) -> None:
        """Refuse early what AWS refuses: a target whose certificate does not cover the name."""
        p = self.params
        arn = cert_of(dist["DistributionConfig"])
        if not arn:
            raise KindError(f"distribution {p.target} has no ACM certificate, so it cannot "
                            f"serve {bare(p.alias)}: give it one that covers the name first")
        got = call(ctx.client("acm", region="us-east-1"), "describe_certificate",
                   f"certificate {arn}", CertificateArn=arn)["Certificate"]
        names = list(got.get("SubjectAlternativeNames") or [got.get("DomainName", "")])
        if not any(covers(n, p.alias) for n in names):
            raise KindError(f"the certificate of distribution {p.target} ({arn}) covers "
                            f"{', '.join(names)}, not {bare(p.alias)}: CloudFront would refuse "
                            "the move")

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p, alias = self.params, bare(self.params.alias)
        src, _ = self._aliases(ctx, p.source)
        tgt, dist = self._aliases(ctx, p.target)
        if alias in src or alias not in tgt:
            self._check_target(ctx, dist)
            self._associate(ctx, p.target, bare(str(dist["DomainName"])))
        self._wait(ctx)
        return self.recover(ctx, snapshot)

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        src, _ = self._aliases(ctx, self.params.source)
        tgt, dist = self._aliases(ctx, self.params.target)
        return {"domain_name": dist.get("DomainName"), "txt_record": txt_name(self.params.alias),
                "source_aliases": src, "target_aliases": tgt}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        p, alias = self.params, bare(self.params.alias)
        src, source = self._aliases(ctx, p.source)
        tgt, _ = self._aliases(ctx, p.target)
        had = alias in snapshot["source_aliases"]
        if not had or (alias in src and alias not in tgt):
            return  # it was not the source's, or it is back already
        domain = bare(str(source["DomainName"]))
        found = self._txt(ctx)
        if found is None:
            self._associate(ctx, p.source, domain)
        else:
            zone_id, name, before = found
            self._put_txt(ctx, zone_id, {"Name": name, "Type": "TXT", "TTL": 60,
                                         "ResourceRecords": [{"Value": f'"{domain}"'}]}, "UPSERT")
            try:
                self._associate(ctx, p.source, domain)
            finally:  # the TXT record as the step that made it left it
                if before is not None:
                    self._put_txt(ctx, zone_id, before, "UPSERT")
                else:
                    self._put_txt(ctx, zone_id, {"Name": name, "Type": "TXT", "TTL": 60,
                                                 "ResourceRecords": [{"Value": f'"{domain}"'}]},
                                  "DELETE")
        self._wait(ctx)

    def _put_txt(self, ctx: RunContext, zone_id: str, rr: dict[str, Any], action: str) -> None:
        call(ctx.client("route53"), "change_resource_record_sets", f"zone {zone_id}",
             HostedZoneId=zone_id, ChangeBatch={
                 "Comment": f"runbook {ctx.run_id}: move {bare(self.params.alias)} back",
                 "Changes": [{"Action": action, "ResourceRecordSet": rr}]})

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if "target_aliases" not in applied:
            return None
        p, alias = self.params, bare(self.params.alias)
        src, _ = self._aliases(ctx, p.source)
        tgt, _ = self._aliases(ctx, p.target)
        bad = []
        if alias not in tgt:
            bad.append(f"distribution {p.target} no longer has {alias}")
        if alias in src:
            bad.append(f"distribution {p.source} has {alias} again")
        if not bad:
            return None
        return f"{alias} changed since this run moved it: " + "; ".join(bad)
