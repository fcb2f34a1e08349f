"""The sandbox edge: an HTTPS (and HTTP) server on loopback that serves the twin's
distributions the way CloudFront would.

It picks the distribution by Host (and by TLS server name) among the aliases and the
``dXXXX.cloudfront.net`` names, presents a certificate only for the names that
distribution's ACM certificate covers, and reads objects from the origin bucket under the
origin path. It answers 403 when the bucket policy does not let that distribution read
(the seed's first outage) and 403 for a key that is not there (S3 without ListBucket: the
seed's second outage), serves the default root object, and answers S3 website endpoints
with their RedirectAllRequestsTo redirect.

It picks the most specific alias across distributions (an exact alias before a wildcard
one), signs origin requests only as the origin is set up (a bucket policy granting by OAC
serves nothing to an origin without one, and one granting an OAI nothing to an origin
that uses another or an OAC), and caches per distribution (``edgecache``), so a change
without an invalidation serves the old copy as CloudFront would.

It reads the twin's state on every request it does not answer from its cache: the
distributions as the API (the proxy) lists them, each with the configuration that is
deployed (while a change is InProgress, the one before it, as CloudFront's edges serve),
and S3 as it is now.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook.certnames import covers
from runbook.kinds.aws.common import bucket_of, is_website_domain
from runbook.kinds.aws.policy import read as read_policy
from runbook.sandbox.edgecache import EdgeCache
from runbook.sandbox.httpserver import Reply, Request, WebServer

FORBIDDEN_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                 '<Message>Access Denied</Message></Error>')
NOT_CONFIGURED = ("<html><h1>403 ERROR</h1><h2>The request could not be satisfied.</h2>"
                  "Bad request. We can't connect to the server for this app or website at "
                  "this time.</html>")


@dataclass
class EdgeState:
    """What the edge needs of the twin: clients of its API, certificates, its cache."""

    s3: Any
    cloudfront: Any  # through the proxy: world ids, the configuration as it was sent
    account: str
    # ACM certificate ARN -> (names it covers, SSL context presenting it)
    certificates: dict[str, tuple[list[str], ssl.SSLContext]] = field(default_factory=dict)
    default_context: ssl.SSLContext | None = None
    cache: EdgeCache = field(default_factory=EdgeCache)
    # distribution id -> (known, the configuration its edges serve now: the deployed one,
    # which is the previous one while a change is InProgress; None: nothing deployed yet)
    served: Callable[[str], tuple[bool, dict[str, Any] | None]] | None = None
    functions: Any = None  # the proxy's sandbox.functions.Functions: viewer functions run
    # world distribution id -> moto's (CloudFront Functions are kept under moto's ids)
    moto_id: Callable[[str], str] = lambda world_id: world_id
    # continuous deployment (cdroute.py): the distribution whose configuration answers
    route: Callable[[Any, Dist | None, Request], Dist | None] | None = None


@dataclass(frozen=True)
class Dist:
    id: str  # as the world calls it
    arn: str
    domain: str
    aliases: list[str]
    config: dict[str, Any]
    moto_id: str = ""


class _Everywhere(dict[str, Any]):
    """A route table that sends every path to one handler."""

    def __init__(self, handler: Any) -> None:
        super().__init__()
        self.handler = handler

    def get(self, key: str, default: Any = None) -> Any:
        return self.handler


class _EdgeServer(WebServer):
    def __init__(self, edge: Edge, **kw: Any) -> None:
        super().__init__(**kw)
        self.edge = edge

    def _pick(self, sock: Any, name: str | None, _ctx: ssl.SSLContext) -> None:
        sock.sni = name
        chosen = self.edge.context_for(name or "")
        if chosen is not None:
            sock.context = chosen


class Edge:
    def __init__(self, state: EdgeState) -> None:
        self.state = state
        self._lock = threading.Lock()
        assert state.default_context is not None
        self.https = _EdgeServer(self, tls=state.default_context)
        self.http = _EdgeServer(self)
        self.https.routes = _Everywhere(lambda req: self.serve(req, https=True))
        self.http.routes = _Everywhere(lambda req: self.serve(req, https=False))

    def start(self) -> Edge:
        self.https.start()
        self.http.start()
        return self

    def stop(self) -> None:
        self.https.stop()
        self.http.stop()

    # ---- distributions ---------------------------------------------------------------

    def distributions(self) -> list[Dist]:
        out = []
        pages = self.state.cloudfront.get_paginator("list_distributions").paginate()
        for page in pages:
            for d in page.get("DistributionList", {}).get("Items", []) or []:
                world_id = d["Id"]
                known, config = self.state.served(world_id) if self.state.served else (
                    False, None)
                if not known:
                    config = self.state.cloudfront.get_distribution_config(Id=world_id)[
                        "DistributionConfig"]
                if config is None:
                    continue  # created, not deployed yet: no edge knows it
                aliases = (config.get("Aliases") or {}).get("Items") or []
                out.append(Dist(world_id,
                                f"arn:aws:cloudfront::{self.state.account}:distribution/{world_id}",
                                d["DomainName"].lower(), [a.lower() for a in aliases], config,
                                self.state.moto_id(world_id)))
        return out

    def find(self, host: str) -> Dist | None:
        """The distribution serving ``host``: its exact alias (or cloudfront.net name)
        wins over a wildcard alias that covers it, whichever distribution has either."""
        host = host.lower().rstrip(".")
        dists = self.distributions()
        for d in dists:
            if host == d.domain or host in d.aliases:
                return d
        for d in dists:
            if any(a.startswith("*.") and covers(a, host) for a in d.aliases):
                return d
        return None

    def context_for(self, name: str) -> ssl.SSLContext | None:
        """The certificate the edge presents for a server name: the distribution's, when
        it covers the name; otherwise the default *.cloudfront.net one (which a browser
        then rejects for the alias, as with CloudFront)."""
        dist = self.find(name) if name else None
        if dist is None:
            return None
        arn = (dist.config.get("ViewerCertificate") or {}).get("ACMCertificateArn")
        found = self.state.certificates.get(arn or "")
        if found and any(covers(pattern, name) for pattern in found[0]):
            return found[1]
        return None

    # ---- requests --------------------------------------------------------------------

    def serve(self, req: Request, *, https: bool) -> Reply:
        host = req.host
        if is_website_domain(host):
            bucket = bucket_of(host)
            return self.website(bucket or "", req)
        dist = self.find(host)
        if self.state.route is not None:  # primary or staging (cdroute.py)
            dist = self.state.route(self, dist, req)
        if dist is None or not dist.config.get("Enabled", True):
            return Reply(403, NOT_CONFIGURED, {"X-Cache": "Error from cloudfront"})
        behaviour = dist.config.get("DefaultCacheBehavior") or {}
        if not https and behaviour.get("ViewerProtocolPolicy") in ("redirect-to-https",
                                                                    "https-only"):
            return Reply(301, b"", {"Location": f"https://{host}{req.path}"})
        if self.state.functions is not None:  # hook: CloudFront Functions (functions.py)
            made, req = self.state.functions.edge(dist.moto_id, dist.domain, dist.id, req)
            if made is not None:
                return made  # type: ignore[no-any-return]
        origins = (dist.config.get("Origins") or {}).get("Items") or []
        target = behaviour.get("TargetOriginId")
        origin = next((o for o in origins if o.get("Id") == target), origins[0] if origins
                      else None)
        if origin is None:
            return Reply(502, "no origin", {"X-Cache": "Error from cloudfront"})
        domain = str(origin.get("DomainName", ""))
        bucket = bucket_of(domain)
        if bucket is None:
            return Reply(502, f"the sandbox edge cannot reach custom origin {domain}")
        cache = self.state.cache
        ckey = cache.key(dist.id, host, req.path, behaviour)
        hit = cache.get(ckey)
        if hit is not None:
            return Reply(hit.status, hit.body, {**hit.headers, "X-Cache": "Hit from cloudfront"})
        if is_website_domain(domain):
            reply, control = self.website(bucket, req), None
        else:
            path = req.path.split("?", 1)[0]
            if path in ("", "/"):
                path = "/" + str(dist.config.get("DefaultRootObject") or "")
            key = (str(origin.get("OriginPath") or "").strip("/") + path).lstrip("/")
            reply, control = self.from_bucket(dist, origin, bucket, key)
        cache.put(ckey, reply, reply.status, control, behaviour)
        return reply

    def from_bucket(self, dist: Dist, origin: dict[str, Any], bucket: str,
                    key: str) -> tuple[Reply, str | None]:
        s3 = self.state.s3
        try:
            policy_text = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except Exception:  # no policy, or no bucket: CloudFront just gets AccessDenied
            policy_text = None
        import json

        policy = json.loads(policy_text) if policy_text else None
        # CloudFront signs for the origin as it is set up: with its OAC, or as its OAI
        oac = bool(origin.get("OriginAccessControlId"))
        oai = str((origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity") or "")
        reading = read_policy(policy, bucket=bucket, key=key, distribution_arn=dist.arn,
                              oai_ids=[oai.rsplit("/", 1)[-1]] if oai and not oac else [],
                              signs_with_oac=oac)
        headers = {"X-Cache": "Error from cloudfront", "Content-Type": "application/xml"}
        if reading.granted_by is None or reading.denied_by is not None:
            return Reply(403, FORBIDDEN_XML, headers), None
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except Exception:  # NoSuchKey: without ListBucket, S3 says AccessDenied
            return Reply(403, FORBIDDEN_XML, headers), None
        body = obj["Body"].read()
        control = obj.get("CacheControl")
        out = {"Content-Type": obj.get("ContentType") or "text/html",
               "X-Cache": "Miss from cloudfront", "Via": f"1.1 {dist.domain} (CloudFront)"}
        if control:
            out["Cache-Control"] = control
        return Reply(200, body, out), control

    def website(self, bucket: str, req: Request) -> Reply:
        try:
            site = self.state.s3.get_bucket_website(Bucket=bucket)
        except Exception:
            return Reply(404, "<h1>404 Not Found</h1>NoSuchWebsiteConfiguration")
        to = site.get("RedirectAllRequestsTo")
        if to:
            protocol = to.get("Protocol") or "http"
            return Reply(301, b"", {"Location": f"{protocol}://{to['HostName']}{req.path}",
                                    "Server": "AmazonS3"})
        return Reply(404, "<h1>404 Not Found</h1>the sandbox serves redirect websites only")
