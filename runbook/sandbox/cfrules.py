"""CloudFront as AWS answers it, on top of moto: the proxy's CloudFront routes.

* a stale ``If-Match`` on UpdateDistribution: 412 PreconditionFailed;
* an alias used by another distribution: 409 CNAMEAlreadyExists;
* an origin naming an origin access control that does not exist: 400
  InvalidOriginAccessControl (moto takes any id);
* aliases without a certificate, or one outside us-east-1, not ISSUED, expired, or not
  covering an alias: 400 InvalidViewerCertificate;
* invalidation paths that do not start with ``/``: 400 InvalidArgument;
* a new ETag after every change; ``InProgress`` for the world's deployment time after each
  change, then ``Deployed``; invalidations ``InProgress`` then ``Completed``;
* the configuration as it was sent: moto drops fields it does not model (an origin's
  ``OriginAccessControlId``, ``S3OriginConfig``, cache TTLs), AWS keeps them.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook.certnames import covers
from runbook.sandbox.kit import Call, Kit, Reply, Route, aws_error

DIST_CONFIG = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/config$")
DIST = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)$")
DIST_LIST = re.compile(r"^/2020-05-31/distribution/?$")
INVALIDATIONS = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/invalidation/?$")
INVALIDATION = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/invalidation/(\w+)$")
CONFIG_XML = re.compile(rb"<DistributionConfig(?:\s[^>]*)?>.*</DistributionConfig>", re.S)
BAD_CERT = ("The specified SSL certificate doesn't exist, isn't in us-east-1 region, isn't "
            "valid, or doesn't include a valid certificate chain")


@dataclass
class DistState:
    etag: str
    deployed_at: float = 0.0  # wall-clock time (so a saved twin keeps its deadlines)
    config: bytes | None = None  # the DistributionConfig as last sent
    live: bytes | None = None  # what the edge serves until the change is deployed


@dataclass
class Invalidation:
    dist: str
    paths: list[str]
    done_at: float


@dataclass
class CloudFrontRules:
    """``cf`` and ``acm``: boto3 clients straight to moto; times in real seconds."""

    cf: Any
    acm: Any
    deploy_seconds: float
    invalidation_seconds: float
    on_invalidate: Callable[[str, list[str], float], None] = lambda *a: None
    dists: dict[str, DistState] = field(default_factory=dict)
    # certificates the world says have expired (moto cannot import an expired one, so
    # they are imported valid and refused here): ARN -> when they expired, ISO 8601
    expired: dict[str, str] = field(default_factory=dict)
    invalidations: dict[str, Invalidation] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # names AssociateAlias is moving right now: held by two distributions for a moment
    moving: set[str] = field(default_factory=set)

    def install(self, kit: Kit) -> None:
        proxy = kit.proxy
        self.proxy = proxy
        proxy.checks += [Route("PUT", DIST_CONFIG, self.check_update),
                         Route("POST", DIST_LIST, self.check_create),
                         Route("POST", INVALIDATIONS, self.check_invalidation)]
        proxy.after += [Route("PUT", DIST_CONFIG, self.changed),
                        Route("POST", DIST_LIST, self.changed),
                        Route("GET", DIST_CONFIG, self.present),
                        Route("GET", DIST, self.present),
                        Route("GET", DIST_LIST, self.present_list),
                        Route("POST", INVALIDATIONS, self.invalidated),
                        Route("GET", INVALIDATION, self.present_invalidation),
                        Route("GET", INVALIDATIONS, self.present_invalidation)]

    # ---- state -------------------------------------------------------------------------

    def dist(self, dist_id: str) -> DistState:
        st = self.dists.get(dist_id)
        if st is None:
            st = self.dists[dist_id] = DistState(secrets.token_hex(7).upper())
        return st

    def settle(self) -> None:
        """Everything deployed now (a freshly seeded world starts deployed)."""
        for st in self.dists.values():
            st.deployed_at = 0.0

    def served(self, dist_id: str) -> tuple[bool, bytes | None]:
        """(known, the configuration edges serve): the last one sent once it is deployed,
        the one before while it deploys (None: a new distribution serves nothing yet).
        Not known: a distribution the proxy never saw a configuration of."""
        with self._lock:
            st = self.dists.get(dist_id)
            if st is None or st.config is None:
                return False, None
            return True, st.config if time.time() >= st.deployed_at else st.live

    def export(self) -> dict[str, Any]:
        def b64(data: bytes | None) -> str | None:
            return base64.b64encode(data).decode() if data else None

        return {"dists": {k: {"etag": v.etag, "deployed_at": v.deployed_at,
                              "config": b64(v.config), "live": b64(v.live)}
                          for k, v in self.dists.items()},
                "invalidations": {k: vars(v) for k, v in self.invalidations.items()},
                "expired": dict(self.expired)}

    def restore(self, data: dict[str, Any]) -> None:
        for k, v in data.get("dists", {}).items():
            self.dists[k] = DistState(*(
                [v["etag"], v["deployed_at"]] + [base64.b64decode(v[f]) if v.get(f) else None
                                                 for f in ("config", "live")]))
        for k, v in data.get("invalidations", {}).items():
            self.invalidations[k] = Invalidation(**v)
        self.expired.update(data.get("expired", {}))

    # ---- refusals ----------------------------------------------------------------------

    def check_update(self, call: Call) -> Reply | None:
        assert call.match is not None
        if_match = next((v for k, v in call.headers.items() if k.lower() == "if-match"), None)
        with self._lock:
            current = self.dist(call.match.group(1)).etag
        if if_match is not None and if_match != current:
            return aws_error(412, "PreconditionFailed",
                             "The If-Match version is missing or not valid for the resource.")
        return self.check_config(call.match.group(1), call.body)

    def check_create(self, call: Call) -> Reply | None:
        return self.check_config(None, call.body)

    def check_config(self, dist_id: str | None, body: bytes) -> Reply | None:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return None
        for oac in _text(root, ".//{*}Origins/{*}Items/{*}Origin/{*}OriginAccessControlId"):
            if oac and not self._oac_exists(oac):
                return aws_error(400, "InvalidOriginAccessControl",
                                 f"The origin access control is not valid: {oac}")
        aliases = [a.lower() for a in _text(root, ".//{*}Aliases/{*}Items/{*}CNAME")]
        for other in self._others(dist_id):
            # AssociateAlias (cfalias.py) moves a name in one step: it is not taken
            taken = sorted(set(aliases) & other - self.moving)
            if taken:
                return aws_error(409, "CNAMEAlreadyExists",
                                 "One or more of the CNAMEs you provided are already "
                                 f"associated with a different resource: {', '.join(taken)}")
        if not aliases:
            return None
        arns = _text(root, ".//{*}ViewerCertificate/{*}ACMCertificateArn")
        if not arns or not arns[0]:
            return aws_error(400, "InvalidViewerCertificate",
                             "To add an alternate domain name (CNAME) to a CloudFront "
                             "distribution, you must attach a trusted certificate that "
                             "validates your authorization to use the domain name.")
        return self._check_certificate(arns[0], aliases)

    def _oac_exists(self, oac_id: str) -> bool:
        try:
            self.cf.get_origin_access_control(Id=oac_id)
        except Exception as exc:  # botocore's ClientError, found by its code
            if "NoSuchOriginAccessControl" in str(exc):
                return False
            raise
        return True

    def _check_certificate(self, arn: str, aliases: list[str]) -> Reply | None:
        if ":us-east-1:" not in arn:
            return aws_error(400, "InvalidViewerCertificate", f"{BAD_CERT}: {arn}")
        try:
            cert = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception:
            return aws_error(400, "InvalidViewerCertificate", f"{BAD_CERT}: {arn}")
        status = cert.get("Status")
        not_after = cert.get("NotAfter")
        if arn in self.expired:
            not_after = dt.datetime.fromisoformat(self.expired[arn])
        if status != "ISSUED":
            return aws_error(400, "InvalidViewerCertificate",
                             f"{BAD_CERT}: {arn} (status {status})")
        if isinstance(not_after, dt.datetime) and not_after < dt.datetime.now(dt.UTC):
            return aws_error(400, "InvalidViewerCertificate",
                             f"{BAD_CERT}: {arn} (expired {not_after:%Y-%m-%d})")
        domains = [cert.get("DomainName", ""), *(cert.get("SubjectAlternativeNames") or [])]
        # a wildcard alias needs the same wildcard in the certificate
        missing = [a for a in aliases if not any(covers(d, a) for d in domains if d)]
        if missing:
            return aws_error(400, "InvalidViewerCertificate",
                             "The certificate that is attached to your distribution doesn't "
                             "cover the alternate domain name (CNAME) that you're trying to "
                             f"add: {', '.join(missing)}")
        return None

    def _others(self, dist_id: str | None) -> list[set[str]]:
        out = []
        for page in self.cf.get_paginator("list_distributions").paginate():
            for d in page.get("DistributionList", {}).get("Items", []) or []:
                if d["Id"] != dist_id:
                    out.append({a.lower() for a in d.get("Aliases", {}).get("Items", [])
                                or []})
        return out

    def check_invalidation(self, call: Call) -> Reply | None:
        try:
            paths = _text(ET.fromstring(call.body), ".//{*}Paths/{*}Items/{*}Path")
        except ET.ParseError:
            return None
        bad = [p for p in paths if not p.startswith("/")]
        if bad:
            return aws_error(400, "InvalidArgument",
                             "Your request contains one or more invalid invalidation paths "
                             f"(a path starts with /): {', '.join(bad)}")
        return None

    # ---- presenting ----------------------------------------------------------------------

    def changed(self, call: Call, reply: Reply) -> Reply:
        status, _headers, out = reply
        if status not in (200, 201):
            return reply
        if call.match is not None and call.match.re is DIST_CONFIG:
            dist_id: str | None = call.match.group(1)
        else:
            found = re.search(rb"<Id>([A-Z0-9]+)</Id>", out)
            dist_id = found.group(1).decode() if found else None
        if dist_id is None:
            return reply
        sent = CONFIG_XML.search(call.sent or call.body)
        with self._lock:
            st = self.dist(dist_id)
            # edges go on serving what was deployed until this change is
            st.live = st.config if time.time() >= st.deployed_at else st.live
            st.etag = secrets.token_hex(7).upper()
            st.deployed_at = time.time() + self.deploy_seconds
            st.config = sent.group(0) if sent else st.config
        return self._show(dist_id, reply)

    def present(self, call: Call, reply: Reply) -> Reply:
        assert call.match is not None
        return self._show(call.match.group(1), reply) if reply[0] == 200 else reply

    def _show(self, dist_id: str, reply: Reply) -> Reply:
        status, headers, out = reply
        headers = {k: v for k, v in headers.items() if k.lower() != "etag"}
        with self._lock:
            st = self.dist(dist_id)
            headers["ETag"] = st.etag
            state = "InProgress" if time.time() < st.deployed_at else "Deployed"
            config = st.config
        out = re.sub(rb"<Status>\w+</Status>", f"<Status>{state}</Status>".encode(), out,
                     count=1)
        if config is not None:
            out = CONFIG_XML.sub(lambda m: config, out, count=1)
        return status, headers, out

    def present_list(self, call: Call, reply: Reply) -> Reply:
        status, headers, out = reply
        now = time.time()

        def one(m: re.Match[bytes]) -> bytes:
            st = self.dists.get(m.group(2).decode())
            s = "InProgress" if st is not None and now < st.deployed_at else "Deployed"
            return m.group(1) + re.sub(rb"<Status>\w+</Status>",
                                       f"<Status>{s}</Status>".encode(), m.group(3))
        out = re.sub(rb"(<DistributionSummary><Id>([A-Z0-9]+)</Id>)(.*?</Status>)", one, out,
                     flags=re.S)
        return status, headers, out

    def invalidated(self, call: Call, reply: Reply) -> Reply:
        assert call.match is not None
        if reply[0] not in (200, 201):
            return reply
        found = re.search(rb"<Id>(\w+)</Id>", reply[2])
        paths = _text(ET.fromstring(call.body), ".//{*}Paths/{*}Items/{*}Path")
        done_at = time.time() + self.invalidation_seconds
        if found:
            dist = call.match.group(1)
            self.invalidations[found.group(1).decode()] = Invalidation(dist, paths, done_at)
            self.on_invalidate(dist, paths, done_at)
        return self._invalidation_status(reply)

    def present_invalidation(self, call: Call, reply: Reply) -> Reply:
        return self._invalidation_status(reply) if reply[0] == 200 else reply

    def _invalidation_status(self, reply: Reply) -> Reply:
        now = time.time()

        def one(m: re.Match[bytes]) -> bytes:
            inv = self.invalidations.get(m.group(2).decode())
            s = "InProgress" if inv is not None and now < inv.done_at else "Completed"
            return m.group(1) + re.sub(rb"<Status>\w+</Status>",
                                       f"<Status>{s}</Status>".encode(), m.group(3), count=1)
        out = re.sub(rb"(<Id>(\w+)</Id>)(.*?</Status>)", one, reply[2], flags=re.S)
        return reply[0], reply[1], out


def _text(root: ET.Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(path)]
