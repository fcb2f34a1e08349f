"""CloudFront continuous deployment in the twin (moto has none of it): staging
distributions, continuous deployment policies and promotion, answered by the proxy.

* CopyDistribution (``POST /distribution/{Id}/copy``, header ``Staging: true``) creates
  the staging distribution through the proxy's own CreateDistribution, so it has its own
  ETag and deployment time like any other; it takes the primary's configuration without
  its aliases, with ``Staging`` true;
* the policy API: Create, Get, GetConfig, List, Update, Delete
  (``/continuous-deployment-policy``), each with its ETag;
* UpdateDistributionWithStagingConfig (``PUT /distribution/{Id}/promote-staging-config``,
  ``If-Match: <primary ETag>, <staging ETag>``) copies the staging configuration onto the
  primary, which keeps its aliases and ContinuousDeploymentPolicyId, as an update of the
  primary (deployment time included), and disables the policy.

It refuses what the CloudFront developer guide says AWS refuses (the page "Quotas and
other considerations for continuous deployment", and the API reference): a weight above
0.15, a header without the ``aws-cf-cd-`` prefix, a stickiness idle or maximum time
outside 300-3600 s (or idle above maximum), more than 20 staging distributions or 20
policies in the account, a second staging distribution for one primary, continuous
deployment on a distribution with HTTP/3, aliases on a staging distribution. Where the
guide names no error code, the twin answers ``InvalidArgument`` (docs/sandbox.md says so).

The edge's side (which configuration answers a request) is ``cdroute.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from runbook.sandbox import cfxml
from runbook.sandbox.kit import AwsProxy, Call, Reply, Route, aws_error, header

API = "/2020-05-31/"
COPY = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/copy$")
PROMOTE = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/promote-staging-config$")
POLICIES = re.compile(r"^/2020-05-31/continuous-deployment-policy/?$")
POLICY = re.compile(r"^/2020-05-31/continuous-deployment-policy/([A-Za-z0-9-]+)$")
POLICY_CONFIG = re.compile(r"^/2020-05-31/continuous-deployment-policy/([A-Za-z0-9-]+)/config$")
DIST_CONFIG = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/config$")
DIST = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)$")

MAX_WEIGHT = 0.15
HEADER_PREFIX = "aws-cf-cd-"
MAX_STAGING = 20
MAX_POLICIES = 20
TTL_RANGE = (300, 3600)
HTTP3 = ("http2and3", "http3")
# moto tells services apart by the credential scope of the signature
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=sandbox/20200101/us-east-1/"
                           "cloudfront/aws4_request, SignedHeaders=host, Signature=0"}


@dataclass
class Policy:
    config: dict[str, Any]
    etag: str = field(default_factory=lambda: secrets.token_hex(7).upper())
    modified: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def shown(self, policy_id: str) -> dict[str, Any]:
        return {"Id": policy_id, "LastModifiedTime": self.modified,
                "ContinuousDeploymentPolicyConfig": self.config}


@dataclass
class ContinuousDeployment:
    """The twin's staging distributions (moto id -> its primary's moto id) and policies."""

    proxy: AwsProxy
    policies: dict[str, Policy] = field(default_factory=dict)
    copies: dict[str, str] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def install(self) -> None:
        p = self.proxy
        p.answers += [Route("POST", COPY, self.copy), Route("PUT", PROMOTE, self.promote),
                      Route("POST", POLICIES, self.create_policy),
                      Route("GET", POLICIES, self.list_policies),
                      Route("GET", POLICY, self.get_policy),
                      Route("GET", POLICY_CONFIG, self.get_policy_config),
                      Route("PUT", POLICY, self.update_policy),
                      Route("DELETE", POLICY, self.delete_policy)]
        p.checks += [Route("PUT", DIST_CONFIG, self.check_update),
                     Route("DELETE", DIST, self.check_delete)]
        p.after.append(Route("DELETE", DIST, self.deleted))

    # ---- reading the twin's distributions (through the proxy: the config as sent) ---------

    def config(self, dist_id: str) -> tuple[dict[str, Any], str] | None:
        status, headers, body = self.proxy.handle(
            "GET", f"{API}distribution/{dist_id}/config", dict(SIGNED), b"")
        if status != 200:
            return None
        found = cfxml.read(body, "DistributionConfig")
        etag = next((v for k, v in headers.items() if k.lower() == "etag"), "")
        return (found, etag) if found is not None else None

    def _moto(self, dist_id: str) -> str:
        return self.proxy.ids.to_moto.get(dist_id, dist_id)

    def _domains(self) -> dict[str, str]:
        """cloudfront.net name -> moto id, of every distribution."""
        _, _, body = self.proxy.forward(Call("GET", f"{API}distribution", "", dict(SIGNED), b""))
        found = cfxml.read(body, "DistributionList") or {}
        return {str(d.get("DomainName", "")).lower(): str(d["Id"])
                for d in found.get("Items", [])}

    def _staging_alive(self) -> dict[str, str]:
        alive = set(self._domains().values())
        with self._lock:
            for gone in [s for s in self.copies if s not in alive]:
                del self.copies[gone]
            return dict(self.copies)

    # ---- CopyDistribution -----------------------------------------------------------------

    def copy(self, call: Call) -> Reply:
        assert call.match is not None
        primary = call.match.group(1)
        staging = header(call.headers, "Staging", "false").lower() == "true"
        got = self.config(primary)
        if got is None:
            return aws_error(404, "NoSuchDistribution", "The specified distribution does not "
                             "exist.")
        config, etag = got
        if header(call.headers, "If-Match", etag) != etag:
            return aws_error(412, "PreconditionFailed", "The If-Match version is missing or "
                             "not valid for the resource.")
        request = cfxml.read(call.body, "CopyDistributionRequest") or {}
        if staging:
            refused = self._may_stage(primary, config)
            if refused is not None:
                return self._refuse(refused)
        made = dict(config)
        made.update(CallerReference=request.get("CallerReference") or secrets.token_hex(8),
                    Aliases={"Quantity": 0}, Staging=staging)
        made.pop("ContinuousDeploymentPolicyId", None)
        if "Enabled" in request:
            made["Enabled"] = request["Enabled"]
        body = cfxml.write("DistributionConfig", "DistributionConfig", made)
        with self._lock:
            reply = self.proxy.handle("POST", f"{API}distribution",
                                      {**SIGNED, "Content-Type": "application/xml"}, body)
            found = re.search(rb"<Id>([A-Za-z0-9]+)</Id>", reply[2])
            if reply[0] < 300 and found and staging:
                self.copies[self._moto(found.group(1).decode())] = self._moto(primary)
        return reply

    def _may_stage(self, primary: str, config: dict[str, Any]) -> Reply | None:
        if config.get("Staging"):
            return aws_error(400, "InvalidArgument", "A staging distribution cannot be "
                             "copied as the staging distribution of another.")
        if config.get("HttpVersion") in HTTP3:
            return aws_error(400, "InvalidArgument", "Continuous deployment cannot be used "
                             "with a distribution that supports HTTP/3 (HttpVersion "
                             f"{config.get('HttpVersion')}).")
        alive = self._staging_alive()
        if self._moto(primary) in alive.values():
            other = next(s for s, p in alive.items() if p == self._moto(primary))
            return aws_error(400, "InvalidArgument", "The primary distribution already has a "
                             f"staging distribution ({self._world(other)}): one staging "
                             "distribution per primary.")
        if len(alive) >= MAX_STAGING:
            return aws_error(400, "TooManyDistributions", "Your account already has "
                             f"{MAX_STAGING} staging distributions, the most allowed.")
        return None

    def _world(self, moto_id: str) -> str:
        return self.proxy.ids.to_world.get(moto_id, moto_id)

    def _refuse(self, reply: Reply) -> Reply:
        found = re.search(rb"<Code>(.*?)</Code>.*?<Message>(.*?)</Message>", reply[2], re.S)
        if found:
            self.proxy.refusals.append(f"{found.group(1).decode()}: {found.group(2).decode()}")
        return reply

    # ---- refusals on distributions ----------------------------------------------------------

    def check_update(self, call: Call) -> Reply | None:
        assert call.match is not None
        dist = call.match.group(1)
        sent = cfxml.read(call.body, "DistributionConfig")
        if sent is None:
            return None
        got = self.config(dist)
        before = got[0] if got else {}
        if bool(sent.get("Staging")) != bool(before.get("Staging")):
            return aws_error(400, "IllegalUpdate", "The Staging field of a distribution "
                             "cannot be changed.")
        if sent.get("Staging") and (sent.get("Aliases") or {}).get("Quantity"):
            return aws_error(400, "InvalidArgument", "A staging distribution cannot have "
                             "alternate domain names (CNAMEs).")
        policy_id = sent.get("ContinuousDeploymentPolicyId") or ""
        if policy_id and policy_id != before.get("ContinuousDeploymentPolicyId"):
            with self._lock:
                known = policy_id in self.policies
            if not known:
                return aws_error(404, "NoSuchContinuousDeploymentPolicy", "The continuous "
                                 f"deployment policy {policy_id} does not exist.")
            if sent.get("HttpVersion") in HTTP3:
                return aws_error(400, "InvalidArgument", "Continuous deployment cannot be "
                                 "used with a distribution that supports HTTP/3 (HttpVersion "
                                 f"{sent.get('HttpVersion')}).")
            if self._attached_elsewhere(policy_id, dist):
                return aws_error(409, "ContinuousDeploymentPolicyInUse", "The continuous "
                                 "deployment policy is attached to another distribution.")
        return None

    def _attached_elsewhere(self, policy_id: str, dist: str) -> bool:
        for other in set(self._domains().values()) - {self._moto(dist)}:
            got = self.config(other)
            if got and got[0].get("ContinuousDeploymentPolicyId") == policy_id:
                return True
        return False

    def check_delete(self, call: Call) -> Reply | None:
        assert call.match is not None
        dist = self._moto(call.match.group(1))
        with self._lock:
            if dist not in self.copies:
                return None
            names = self._names_of(dist)
            used = [pid for pid, p in self.policies.items() if set(_dns_names(p)) & names]
        if used and self._is_attached(used):
            return aws_error(409, "StagingDistributionInUse", "The staging distribution is "
                             "named by a continuous deployment policy attached to its "
                             "primary; detach the policy first.")
        return None

    def _names_of(self, moto_id: str) -> set[str]:
        return {d for d, i in self._domains().items() if i == moto_id}

    def _is_attached(self, policy_ids: list[str]) -> bool:
        for dist in set(self._domains().values()):
            got = self.config(dist)
            if got and got[0].get("ContinuousDeploymentPolicyId") in policy_ids:
                return True
        return False

    def deleted(self, call: Call, reply: Reply) -> Reply:
        assert call.match is not None
        if reply[0] < 300:
            with self._lock:
                self.copies.pop(self._moto(call.match.group(1)), None)
        return reply

    # ---- the policy API ---------------------------------------------------------------------

    def _check_policy(self, config: dict[str, Any], policy_id: str | None) -> Reply | None:
        names = [n.lower() for n in (config.get("StagingDistributionDnsNames") or {})
                 .get("Items") or []]
        domains = self._domains()
        staging = self._staging_alive()
        for name in names:
            if domains.get(name) not in staging:
                return aws_error(400, "InvalidArgument", f"{name} is not the domain name of "
                                 "a staging distribution of this account.")
        with self._lock:
            for pid, other in self.policies.items():
                if pid != policy_id and set(_dns_names(other)) & set(names):
                    return aws_error(409, "StagingDistributionInUse", "The staging "
                                     "distribution is already named by continuous "
                                     f"deployment policy {pid}.")
        traffic = config.get("TrafficConfig") or {}
        kind = traffic.get("Type")
        if kind == "SingleWeight":
            weight = (traffic.get("SingleWeightConfig") or {}).get("Weight")
            if weight is None or not 0 <= float(weight) <= MAX_WEIGHT:
                return aws_error(400, "InvalidArgument", f"Weight {weight}: the share of "
                                 "traffic sent to a staging distribution is between 0 and "
                                 f"{MAX_WEIGHT}.")
            sticky = (traffic.get("SingleWeightConfig") or {}).get("SessionStickinessConfig")
            if sticky is not None:
                idle, most = sticky.get("IdleTTL"), sticky.get("MaximumTTL")
                low, high = TTL_RANGE
                if not (isinstance(idle, int) and isinstance(most, int)
                        and low <= idle <= high and low <= most <= high and idle <= most):
                    return aws_error(400, "InvalidArgument", f"IdleTTL {idle}, MaximumTTL "
                                     f"{most}: each is {low}-{high} seconds, and IdleTTL is "
                                     "at most MaximumTTL.")
        elif kind == "SingleHeader":
            header = str((traffic.get("SingleHeaderConfig") or {}).get("Header") or "")
            if not header.lower().startswith(HEADER_PREFIX):
                return aws_error(400, "InvalidArgument", f"Header {header!r}: the header of "
                                 f"a continuous deployment policy starts with {HEADER_PREFIX}.")
        else:
            return aws_error(400, "InvalidArgument", f"TrafficConfig Type {kind!r}: "
                             "SingleWeight or SingleHeader.")
        return None

    def create_policy(self, call: Call) -> Reply:
        config = cfxml.read(call.body, "ContinuousDeploymentPolicyConfig")
        if config is None:
            return aws_error(400, "MalformedInput", "The policy is not valid XML.")
        with self._lock:
            if len(self.policies) >= MAX_POLICIES:
                return self._refuse(aws_error(400, "TooManyContinuousDeploymentPolicies",
                                              "Your account already has "
                                              f"{MAX_POLICIES} continuous deployment "
                                              "policies, the most allowed."))
        refused = self._check_policy(config, None)
        if refused is not None:
            return self._refuse(refused)
        policy_id = secrets.token_hex(18)
        policy_id = "-".join([policy_id[:8], policy_id[8:12], policy_id[12:16],
                              policy_id[16:20], policy_id[20:32]])
        with self._lock:
            made = self.policies[policy_id] = Policy(config)
        self.proxy.on_change()
        return 201, {"Content-Type": "text/xml", "ETag": made.etag,
                     "Location": f"https://cloudfront.amazonaws.com{API}"
                                 f"continuous-deployment-policy/{policy_id}"}, \
            cfxml.write("ContinuousDeploymentPolicy", "ContinuousDeploymentPolicy",
                        made.shown(policy_id))

    def _find(self, call: Call) -> tuple[str, Policy | None]:
        assert call.match is not None
        policy_id = call.match.group(1)
        with self._lock:
            return policy_id, self.policies.get(policy_id)

    @staticmethod
    def _missing(policy_id: str) -> Reply:
        return aws_error(404, "NoSuchContinuousDeploymentPolicy", "The continuous "
                         f"deployment policy {policy_id} does not exist.")

    def get_policy(self, call: Call) -> Reply:
        policy_id, policy = self._find(call)
        if policy is None:
            return self._missing(policy_id)
        return 200, {"Content-Type": "text/xml", "ETag": policy.etag}, cfxml.write(
            "ContinuousDeploymentPolicy", "ContinuousDeploymentPolicy", policy.shown(policy_id))

    def get_policy_config(self, call: Call) -> Reply:
        policy_id, policy = self._find(call)
        if policy is None:
            return self._missing(policy_id)
        return 200, {"Content-Type": "text/xml", "ETag": policy.etag}, cfxml.write(
            "ContinuousDeploymentPolicyConfig", "ContinuousDeploymentPolicyConfig",
            policy.config)

    def list_policies(self, call: Call) -> Reply:
        with self._lock:
            items = [{"ContinuousDeploymentPolicy": p.shown(pid)}
                     for pid, p in self.policies.items()]
        listed = {"MaxItems": 100, "Quantity": len(items), "Items": items or None}
        return 200, {"Content-Type": "text/xml"}, cfxml.write(
            "ContinuousDeploymentPolicyList", "ContinuousDeploymentPolicyList", listed)

    def _matches(self, call: Call, policy: Policy) -> bool:
        return header(call.headers, "If-Match") == policy.etag

    def update_policy(self, call: Call) -> Reply:
        policy_id, policy = self._find(call)
        if policy is None:
            return self._missing(policy_id)
        if not self._matches(call, policy):
            return self._refuse(aws_error(412, "PreconditionFailed", "The If-Match version "
                                          "is missing or not valid for the resource."))
        config = cfxml.read(call.body, "ContinuousDeploymentPolicyConfig")
        if config is None:
            return aws_error(400, "MalformedInput", "The policy is not valid XML.")
        refused = self._check_policy(config, policy_id)
        if refused is not None:
            return self._refuse(refused)
        with self._lock:
            made = self.policies[policy_id] = Policy(config)
        self.proxy.on_change()
        return 200, {"Content-Type": "text/xml", "ETag": made.etag}, cfxml.write(
            "ContinuousDeploymentPolicy", "ContinuousDeploymentPolicy", made.shown(policy_id))

    def delete_policy(self, call: Call) -> Reply:
        policy_id, policy = self._find(call)
        if policy is None:
            return self._missing(policy_id)
        if not self._matches(call, policy):
            return self._refuse(aws_error(412, "PreconditionFailed", "The If-Match version "
                                          "is missing or not valid for the resource."))
        if self._is_attached([policy_id]):
            return self._refuse(aws_error(409, "ContinuousDeploymentPolicyInUse", "The "
                                          "continuous deployment policy is attached to a "
                                          "distribution; detach it first."))
        with self._lock:
            self.policies.pop(policy_id, None)
        self.proxy.on_change()
        return 204, {}, b""

    # ---- UpdateDistributionWithStagingConfig -------------------------------------------------

    def promote(self, call: Call) -> Reply:
        assert call.match is not None
        primary = call.match.group(1)
        staging = urllib.parse.parse_qs(call.query).get("StagingDistributionId", [""])[0]
        staging = self._moto(staging)
        got_p, got_s = self.config(primary), self.config(staging)
        if got_p is None or got_s is None:
            return self._refuse(aws_error(404, "NoSuchDistribution", "The specified "
                                          "distribution does not exist."))
        (config_p, etag_p), (config_s, etag_s) = got_p, got_s
        if not config_s.get("Staging"):
            return self._refuse(aws_error(400, "InvalidArgument", f"{staging} is not a "
                                          "staging distribution."))
        if_match = header(call.headers, "If-Match")
        if [e.strip() for e in if_match.split(",")] != [etag_p, etag_s]:
            return self._refuse(aws_error(412, "PreconditionFailed", "The If-Match version "
                                          "is missing or not valid: it is <primary ETag>, "
                                          "<staging ETag>."))
        promoted = dict(config_s)
        promoted.update(CallerReference=config_p.get("CallerReference"),
                        Aliases=config_p.get("Aliases") or {"Quantity": 0}, Staging=False)
        promoted.pop("ContinuousDeploymentPolicyId", None)
        if config_p.get("ContinuousDeploymentPolicyId"):
            promoted["ContinuousDeploymentPolicyId"] = config_p["ContinuousDeploymentPolicyId"]
        # an update of the primary like any other: its rules, a new ETag, deployment time
        reply = self.proxy.handle("PUT", f"{API}distribution/{primary}/config",
                                  {**SIGNED, "If-Match": etag_p,
                                   "Content-Type": "application/xml"},
                                  cfxml.write("DistributionConfig", "DistributionConfig",
                                              promoted))
        if reply[0] < 300:
            self._disable(str(config_p.get("ContinuousDeploymentPolicyId") or ""))
        return reply

    def _disable(self, policy_id: str) -> None:
        with self._lock:
            policy = self.policies.get(policy_id)
            if policy is not None:
                self.policies[policy_id] = Policy({**policy.config, "Enabled": False})

    # ---- what the edge reads ------------------------------------------------------------------

    def policy(self, policy_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.policies.get(policy_id)
            return dict(found.config) if found is not None else None

    def export(self) -> dict[str, Any]:
        with self._lock:
            return {"copies": dict(self.copies),
                    "policies": {k: {"config": v.config, "etag": v.etag}
                                 for k, v in self.policies.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.copies.update(data.get("copies", {}))
            for k, v in data.get("policies", {}).items():
                self.policies[k] = Policy(v["config"], v["etag"])


def _dns_names(policy: Policy) -> list[str]:
    return [n.lower() for n in (policy.config.get("StagingDistributionDnsNames") or {})
            .get("Items") or []]
