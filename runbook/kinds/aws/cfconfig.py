"""Editing a CloudFront DistributionConfig: the parameter models of
``cloudfront.update`` and the one function that applies them to a config, changing the
fields asked for and nothing else (private to ``runbook.kinds.aws.cloudfront``)."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runbook.context import RunContext
from runbook.durations import Duration
from runbook.errors import KindError
from runbook.kinds.aws.common import bare, bucket_of, default_origin, is_website_domain, items
from runbook.kinds.aws.s3common import bucket_region
from runbook.kinds.base import Params


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OriginSpec(_Part):
    bucket: str | None = Field(None, description="S3 bucket the default origin reads")
    domain: str | None = Field(None, description="origin domain name (any origin)")
    path: str | None = Field(None, description="origin path, e.g. /v1.42.0 ('' for none)")


class AliasesExpect(_Part):
    contains: list[str] = Field(default_factory=list, description="names that must be aliases")
    exactly: list[str] | None = Field(None, description="the aliases, no more, no fewer")


def norm_path(value: str) -> str:
    """CloudFront writes origin paths with a leading slash and no trailing one."""
    value = value.strip().strip("/")
    return f"/{value}" if value else ""


def aliases_of(config: dict[str, Any]) -> list[str]:
    return [bare(a) for a in items(config.get("Aliases"))]


def cert_of(config: dict[str, Any]) -> str | None:
    return (config.get("ViewerCertificate") or {}).get("ACMCertificateArn") or None


class AliasChange(_Part):
    add: list[str] = Field(default_factory=list, description="names to add")
    remove: list[str] = Field(default_factory=list, description="names to remove")
    set: list[str] | None = Field(None, description="the whole list")


class UpdateParams(Params):
    id: str = Field(description="distribution id")
    origin: OriginSpec | None = Field(None, description="change the default origin")
    aliases: AliasChange | None = Field(None, description="change the aliases")
    certificate: str | None = Field(None, description="ACM certificate ARN (us-east-1)")
    default_root_object: str | None = Field(None, description="new default root object")
    enabled: bool | None = Field(None, description="enable or disable the distribution")
    invalidate: list[str] | None = Field(
        None, description="paths to invalidate once the change is deployed, and again after "
        "a rollback (OriginPath is not in CloudFront's cache key), e.g. ['/*']")
    wait: bool = Field(True, description="wait until the distribution is Deployed")
    timeout: Duration = Field(1800.0, description="how long to wait for the deploy")
    every: Duration = Field(20.0, description="how often to ask while waiting")

    @field_validator("invalidate")
    @classmethod
    def _slash(cls, paths: list[str] | None) -> list[str] | None:
        bad = [x for x in paths or [] if not x.startswith("/")]
        if bad:
            raise ValueError(f"invalidation paths must start with / (CloudFront refuses "
                             f"others with InvalidArgument): {', '.join(bad)}")
        return paths

    @model_validator(mode="after")
    def _something(self) -> UpdateParams:
        if all(v is None for v in (self.origin, self.aliases, self.certificate,
                                   self.default_root_object, self.enabled)):
            raise ValueError("give at least one of origin, aliases, certificate, "
                             "default_root_object, enabled")
        return self


def origin_kind_kept(dist_id: str, origin: dict[str, Any], spec: OriginSpec) -> None:
    """Refuse to turn an S3 origin into a website/custom one or back by changing only its
    domain: CloudFront would reject it, or worse, read the bucket without signing."""
    name = origin.get("Id")
    if spec.bucket and "CustomOriginConfig" in origin:
        raise KindError(
            f"origin {name} of distribution {dist_id} is a custom origin "
            f"({origin.get('DomainName')}); pointing it at bucket {spec.bucket} needs S3 "
            "origin settings (OAC) that cloudfront.update does not invent: change it by hand "
            "or give `origin.domain`")
    if spec.domain and is_website_domain(spec.domain) and "CustomOriginConfig" not in origin:
        raise KindError(
            f"{spec.domain} is an S3 website endpoint, which CloudFront reads as a custom "
            f"(HTTP) origin, but origin {name} of distribution {dist_id} is an S3 origin: "
            "use a distribution whose origin is a custom one")


def edit(ctx: RunContext, p: UpdateParams, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the changes ``p`` asks for, and nothing else."""
    new = copy.deepcopy(config)
    if p.origin:
        target = default_origin(new)["Id"]
        origin = next(o for o in items(new.get("Origins")) if o.get("Id") == target)
        origin_kind_kept(p.id, origin, p.origin)
        if p.origin.bucket and bucket_of(origin.get("DomainName", "")) != p.origin.bucket:
            region = bucket_region(ctx, p.origin.bucket)
            origin["DomainName"] = f"{p.origin.bucket}.s3.{region}.amazonaws.com"
        if p.origin.domain:
            origin["DomainName"] = p.origin.domain
        if p.origin.path is not None:
            origin["OriginPath"] = norm_path(p.origin.path)
    if p.aliases:
        names = list(items(new.get("Aliases")))
        if p.aliases.set is not None:
            names = [bare(a) for a in p.aliases.set]
        names += [bare(a) for a in p.aliases.add if bare(a) not in {bare(n) for n in names}]
        gone = {bare(a) for a in p.aliases.remove}
        names = [n for n in names if bare(n) not in gone]
        if names != items(new.get("Aliases")):
            new["Aliases"] = {"Quantity": len(names), "Items": names} if names \
                else {"Quantity": 0}
    if p.certificate and cert_of(new) != p.certificate:
        old = new.get("ViewerCertificate") or {}
        had = bool(old.get("ACMCertificateArn"))
        new["ViewerCertificate"] = {
            "ACMCertificateArn": p.certificate,
            "SSLSupportMethod": old.get("SSLSupportMethod", "sni-only") if had else "sni-only",
            "MinimumProtocolVersion": old.get("MinimumProtocolVersion", "TLSv1.2_2021")
            if had else "TLSv1.2_2021",
            "CloudFrontDefaultCertificate": False,
        }
    if p.default_root_object is not None:
        new["DefaultRootObject"] = p.default_root_object.lstrip("/")
    if p.enabled is not None:
        new["Enabled"] = p.enabled
    return new


def summarise(changes: list[tuple[str, Any, Any]], limit: int = 4) -> str:
    text = "; ".join(f"{p}: {o!r} -> {n!r}" for p, o, n in changes[:limit])
    return text + (f" and {len(changes) - limit} more" if len(changes) > limit else "")
