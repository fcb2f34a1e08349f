"""CloudFront's AssociateAlias and ListConflictingAliases in the twin (moto has neither).

AssociateAlias (``PUT /2020-05-31/distribution/{Target}/associate-alias?Alias=NAME``)
moves an alternate domain name to the target distribution in one step. As on AWS it is
refused (400 InvalidArgument) unless

* the target's certificate covers the name, and
* a TXT record ``_NAME`` in a hosted zone of the account has the target distribution's
  domain name as its value (AWS looks the record up in public DNS; the twin's DNS answers
  from the same Route53 zones).

The name is added to the target *before* it is taken off the source, both through the
proxy (so each is an update with its ETag and deployment time, and the name is held by
both for the moment of the move), so the edge always finds a distribution for it: no
gap, as on AWS.

ListConflictingAliases (``GET /2020-05-31/conflicting-alias?DistributionId=&Alias=``)
answers the aliases of every distribution that equal the name or overlap it by a
wildcard, with ids and account partly hidden as AWS hides them. Like AWS it needs the
distribution to have a certificate that covers the name (else InvalidArgument).
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from typing import Any

from runbook.certnames import covers
from runbook.kinds.aws.common import bare, fqdn
from runbook.sandbox.kit import Call, Kit, Reply, Route, aws_error


class Twin:
    """The parts of the twin these operations use: CloudFront through the proxy itself (so
    a move is an update like any other: ETag, certificate check, deployment time), ACM,
    Route53 and STS straight to moto, the ids and the list of refusals."""

    def __init__(self, kit: Kit, rules: Any) -> None:
        self.kit = kit
        self.acm = kit.client("acm", "us-east-1")
        self.route53 = kit.client("route53", "us-east-1")
        self.sts = kit.client("sts", "us-east-1")
        self.ids = kit.proxy.ids
        self.refusals = kit.proxy.refusals
        self.rules = rules  # cfrules.CloudFrontRules
        self._cf: Any = None

    @property
    def cf(self) -> Any:
        if self._cf is None:  # the proxy's address is known once it serves
            self._cf = self.kit.through_proxy("cloudfront")
        return self._cf

    def cert_domains(self, arn: str) -> list[str] | None:
        arn = self.ids.everywhere.get(arn, arn)  # a captured certificate's real ARN
        try:
            cert = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception:
            return None
        return [cert.get("DomainName", ""), *(cert.get("SubjectAlternativeNames") or [])]


def install(kit: Kit, rules: Any) -> None:
    """AssociateAlias and ListConflictingAliases as answers of the proxy; ``rules``
    (cfrules.CloudFrontRules) lets a moving name be held by both distributions for the
    moment of the move."""
    twin = Twin(kit, rules)

    def move(call: Call) -> Reply:
        assert call.match is not None
        query = urllib.parse.parse_qs(call.query)
        return associate(twin, call.match.group(1), bare(query.get("Alias", [""])[0]))

    def conflicting(call: Call) -> Reply:
        query = urllib.parse.parse_qs(call.query)
        return conflicts(twin, query.get("DistributionId", [""])[0],
                         bare(query.get("Alias", [""])[0]))

    kit.proxy.answers += [Route("PUT", ASSOCIATE, move), Route("GET", CONFLICTS, conflicting)]


ASSOCIATE = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/associate-alias$")
CONFLICTS = re.compile(r"^/2020-05-31/conflicting-alias$")
NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
_MOVES = threading.Lock()  # one move at a time, as CloudFront serialises a name's moves


def _error(proxy: Twin, status: int, code: str, message: str) -> Reply:
    proxy.refusals.append(f"{code}: {message}")
    return aws_error(status, code, message)


def txt_values(proxy: Twin, name: str) -> list[str]:
    """The values of the TXT record ``name`` in whichever zone of the account holds it."""
    r53, name = proxy.route53, fqdn(name)
    out: list[str] = []
    for zone in r53.list_hosted_zones().get("HostedZones", []):
        zname = fqdn(zone["Name"])
        if name != zname and not name.endswith("." + zname):
            continue
        got = r53.list_resource_record_sets(HostedZoneId=zone["Id"], StartRecordName=name,
                                            StartRecordType="TXT", MaxItems="5")
        for rr in got.get("ResourceRecordSets", []):
            if fqdn(rr["Name"]) == name and rr["Type"] == "TXT":
                out += [bare(v["Value"].strip('"')) for v in rr.get("ResourceRecords", [])]
    return out


def _config(proxy: Twin, dist_id: str) -> tuple[dict[str, Any], str] | None:
    try:
        got = proxy.cf.get_distribution_config(Id=dist_id)
    except proxy.cf.exceptions.NoSuchDistribution:
        return None
    return dict(got["DistributionConfig"]), str(got["ETag"])


def _aliases(config: dict[str, Any]) -> list[str]:
    return [bare(a) for a in (config.get("Aliases") or {}).get("Items") or []]


def _set_aliases(proxy: Twin, dist_id: str, names: list[str]) -> None:
    got = _config(proxy, dist_id)
    assert got is not None
    config, etag = got
    config["Aliases"] = {"Quantity": len(names), "Items": names} if names else {"Quantity": 0}
    # through the proxy: a new ETag, and InProgress for a while, as any update
    proxy.cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)


def _covered(proxy: Twin, config: dict[str, Any], alias: str) -> bool:
    arn = (config.get("ViewerCertificate") or {}).get("ACMCertificateArn")
    domains = proxy.cert_domains(arn) if arn else None
    return bool(domains) and any(covers(d, alias) for d in domains or [])


def associate(proxy: Twin, target: str, alias: str) -> Reply:
    with _MOVES:
        got = _config(proxy, target)
        if got is None:
            return _error(proxy, 404, "NoSuchDistribution",
                          "The specified distribution does not exist.")
        config, _ = got
        if not _covered(proxy, config, alias):
            return _error(proxy, 400, "InvalidArgument",
                          f"The certificate that is attached to the target distribution "
                          f"doesn't cover the alias: {alias}")
        domain = bare(proxy.cf.get_distribution(Id=target)["Distribution"]["DomainName"])
        if domain not in txt_values(proxy, "_" + alias):
            return _error(proxy, 400, "InvalidArgument",
                          f"To move {alias}, create a DNS TXT record _{alias} with the value "
                          f"{domain} (the target distribution's domain name).")
        holders = [d["Id"] for d in _summaries(proxy)
                   if alias in _aliases(d) and d["Id"] != target]
        moving = proxy.rules.moving if proxy.rules is not None else set()
        moving.add(alias)
        try:
            if alias not in _aliases(config):
                _set_aliases(proxy, target, [*_aliases(config), alias])
            for other in holders:
                found = _config(proxy, other)
                if found is not None:
                    _set_aliases(proxy, other, [a for a in _aliases(found[0]) if a != alias])
        finally:
            moving.discard(alias)
    return 200, {}, b""


def _summaries(proxy: Twin) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in proxy.cf.get_paginator("list_distributions").paginate():
        out += page.get("DistributionList", {}).get("Items", []) or []
    return out


def _overlaps(a: str, b: str) -> bool:
    """Whether two alternate domain names can claim the same host (equal, or one is a
    wildcard that covers the other)."""
    return a == b or covers(a, b) or covers(b, a)


def _hide(value: str) -> str:
    """AWS shows only the end of another party's ids: ``*******EXAMPLE``."""
    return "*" * max(len(value) - 6, 0) + value[-6:]


def conflicts(proxy: Twin, dist_id: str, alias: str) -> Reply:
    got = _config(proxy, dist_id)
    if got is None:
        return _error(proxy, 404, "NoSuchDistribution",
                      "The specified distribution does not exist.")
    if not _covered(proxy, got[0], alias):
        return _error(proxy, 400, "InvalidArgument",
                      f"The distribution's certificate does not cover {alias}.")
    account = _account(proxy)
    found = [(a, d["Id"]) for d in _summaries(proxy) for a in _aliases(d) if _overlaps(a, alias)]
    names = proxy.ids.to_world
    items = "".join(f"<ConflictingAlias><Alias>{a}</Alias><DistributionId>"
                    f"{_hide(names.get(i, i))}</DistributionId><AccountId>{_hide(account)}"
                    "</AccountId></ConflictingAlias>" for a, i in found)
    body = (f'<?xml version="1.0"?><ConflictingAliasesList xmlns="{NS}"><MaxItems>100'
            f"</MaxItems><Quantity>{len(found)}</Quantity>"
            + (f"<Items>{items}</Items>" if found else "") + "</ConflictingAliasesList>")
    return 200, {"Content-Type": "text/xml"}, body.encode()


def _account(proxy: Twin) -> str:
    return str(proxy.sts.get_caller_identity()["Account"])
