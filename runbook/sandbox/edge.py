"""The sandbox edge: an HTTPS (and HTTP) server on loopback that serves the twin's
distributions the way CloudFront would.

It picks the distribution by Host (and by TLS server name) among the aliases and the
``dXXXX.cloudfront.net`` names (an exact alias before a wildcard one, across
distributions), and presents a certificate only for the names that distribution's ACM
certificate covers. A request then goes through one sequence, each step a call:

1. the cache behaviour whose path pattern matches (``edgeconfig``);
2. the viewer protocol policy (plain HTTP redirected, refused, or served);
3. the behaviour's viewer-request CloudFront Function (``cfjs.atedge``): a response, a
   503 for a failing function, or the request to carry on with (perhaps to the origin
   an origin modification helper chose);
4. the cache (``edgecache``, keyed as the cache policy says: ``cachepolicy``), else the
   behaviour's origin or origin group (``origins``) with what the policies forward, and
   the custom error response for an origin's error (``edgeconfig``);
5. the answer dressed on its way out: the response headers policy (``headerspolicy``),
   compression (``compress``);
6. the behaviour's viewer-response CloudFront Function (``cfjs.atedge``);

so a change without an invalidation serves the old copy as CloudFront would.

It serves the configuration that is deployed (while a change is InProgress, the one
before it, as CloudFront's edges serve) and reads the rest of the twin (the distribution
list, bucket policies and websites) through ``edgeview``, which keeps what it read until
the proxy sees a change.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook.certnames import covers
from runbook.kinds.aws.common import bucket_of, is_website_domain
from runbook.sandbox import cachepolicy, headerspolicy
from runbook.sandbox.cfjs.atedge import routed
from runbook.sandbox.compress import compress
from runbook.sandbox.edgecache import EdgeCache
from runbook.sandbox.edgeconfig import (
    Target,
    behaviour_for,
    error_page,
    target_for,
    viewer_protocol,
)
from runbook.sandbox.edgeview import TwinView
from runbook.sandbox.httpserver import Reply, Request, WebServer
from runbook.sandbox.origins import Fetched, Origins, Outgoing

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
    view: TwinView | None = None  # what the edge read of the twin, until the twin changes
    # custom origin domain -> where the world points it: a loopback URL or a folder
    custom_origins: dict[str, str] = field(default_factory=dict)
    policies: Any = None  # the proxy's sandbox.cfpolicies.Policies: managed and custom ones
    watch: Any = None  # sandbox.edgelog.EdgeLog: every response as metrics and access logs
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
        if state.view is None:
            state.view = TwinView(state.s3)
        self.view = state.view
        self.origins = Origins(state.s3, self.view, state.custom_origins)
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

    def _listing(self) -> list[tuple[str, str]]:
        """(world id, domain name) of every distribution, as the API lists them."""
        out = []
        pages = self.state.cloudfront.get_paginator("list_distributions").paginate()
        for page in pages:
            for d in page.get("DistributionList", {}).get("Items", []) or []:
                out.append((str(d["Id"]), str(d["DomainName"]).lower()))
        return out

    def _config(self, world_id: str) -> dict[str, Any]:
        got: dict[str, Any] = self.state.cloudfront.get_distribution_config(Id=world_id)
        return dict(got["DistributionConfig"])

    def distributions(self) -> list[Dist]:
        out = []
        for world_id, domain in self.view.remember(("distributions",), self._listing):
            known, config = self.state.served(world_id) if self.state.served else (
                False, None)
            if not known:
                config = self.view.remember(("config", world_id),
                                            functools.partial(self._config, world_id))
            if config is None:
                continue  # created, not deployed yet: no edge knows it
            aliases = (config.get("Aliases") or {}).get("Items") or []
            out.append(Dist(world_id,
                            f"arn:aws:cloudfront::{self.state.account}:distribution/{world_id}",
                            domain, [a.lower() for a in aliases], config,
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
        """One request from a viewer to its answer: what sees every request and its
        answer (metrics, access logs) goes here."""
        reply = self.answer(req, https=https)
        if self.state.watch is not None:  # CloudFront's metrics and logs (edgelog.py)
            self.state.watch.finished(self, req, reply, https)
        return reply

    def answer(self, req: Request, *, https: bool) -> Reply:
        """The request path, in CloudFront's order (the module's docstring)."""
        if is_website_domain(req.host):  # an S3 website endpoint, asked directly
            return self.origins.website(bucket_of(req.host) or "", req.host, req.path)
        dist = self.find(req.host)
        if self.state.route is not None:  # primary or staging (cdroute.py)
            dist = self.state.route(self, dist, req)
        if dist is None or not dist.config.get("Enabled", True):
            return Reply(403, NOT_CONFIGURED, {"X-Cache": "Error from cloudfront"})
        behaviour = behaviour_for(dist.config, req.path.partition("?")[0])
        refused = viewer_protocol(behaviour, req, https=https)
        if refused is not None:
            return refused
        functions = self.state.functions  # CloudFront Functions (sandbox/cfjs/atedge.py)
        if functions is not None:
            ran = functions.viewer_request(dist, behaviour, req)
            if isinstance(ran, Reply):
                return ran
            req = ran.request
            dist, behaviour = routed(dist, behaviour, ran.origin)
        reply = self.dress(behaviour, req, self.respond(dist, behaviour, req))
        if functions is not None:
            reply = functions.viewer_response(dist, behaviour, req, reply)
        return reply

    def dress(self, behaviour: dict[str, Any], req: Request, reply: Reply) -> Reply:
        """What CloudFront does to an answer on its way out: the behaviour's response
        headers policy, and compression when the behaviour asks for it."""
        policy_id = str(behaviour.get("ResponseHeadersPolicyId") or "")
        policy = self.policy("ResponseHeadersPolicy", policy_id) if policy_id else None
        if policy is not None:
            reply = headerspolicy.apply(policy, req.headers, reply)
        if behaviour.get("Compress"):
            enabled = cachepolicy.rules_for(behaviour, self.policy).encodings \
                if behaviour.get("CachePolicyId") else None
            reply = compress(reply, req.headers, enabled)
        return reply

    def policy(self, noun: str, policy_id: str) -> dict[str, Any] | None:
        if self.state.policies is None:
            return None
        found: dict[str, Any] | None = self.state.policies.config(noun, policy_id)
        return found

    def respond(self, dist: Dist, behaviour: dict[str, Any], req: Request) -> Reply:
        """From the cache, else from the behaviour's origin (with the custom error
        response for its error), kept in the cache as CloudFront keeps it."""
        cache = self.state.cache
        rules = cachepolicy.rules_for(behaviour, self.policy)
        path, _, query = req.path.partition("?")
        ckey = cache.key(dist.id, req.host, path, *cachepolicy.key_parts(rules, query,
                                                                           req.headers))
        hit = cache.get(ckey)
        if hit is not None:
            return Reply(hit.status, hit.body, {**hit.headers, "X-Cache": "Hit from cloudfront"})
        if path in ("", "/"):
            path = "/" + str(dist.config.get("DefaultRootObject") or "")
        out = cachepolicy.outgoing(rules, path, query, req.headers)
        fetched, error_ttl = self.from_origin(dist, behaviour, out)
        reply = fetched.reply
        cache.put(ckey, reply, reply.status, fetched.cache_control, rules.ttl,
                  error_ttl=error_ttl)
        return reply

    def from_origin(self, dist: Dist, behaviour: dict[str, Any],
                    out: Outgoing) -> tuple[Fetched, float | None]:
        """What the origin answers, and how long to cache an error (None: the default)."""
        target = target_for(dist.config, behaviour)
        fetched = self.from_target(dist, target, out)
        status = fetched.reply.status
        page = error_page(dist.config, status) if status >= 400 else None
        if page is None:
            return fetched, None
        if page.path:  # the page is read through the behaviour its own path matches
            shown = self.from_target(dist, target_for(
                dist.config, behaviour_for(dist.config, page.path)), Outgoing(page.path))
            if shown.reply.status < 400:
                headers = {**shown.reply.headers, "X-Cache": "Error from cloudfront"}
                fetched = Fetched(Reply(page.status, shown.reply.body, headers))
        return fetched, page.ttl

    def from_target(self, dist: Dist, target: Target | None, out: Outgoing) -> Fetched:
        """The answer of the target's origin; of an origin group, the secondary's when
        the primary answers a status of the group's failover criteria."""
        if target is None or not target.origins:
            return Fetched(Reply(502, "no origin", {"X-Cache": "Error from cloudfront"}))
        fetched = Fetched(Reply(502, "no origin"))
        for origin in target.origins:
            fetched = self.origins.fetch(origin, out, dist_arn=dist.arn,
                                         dist_domain=dist.domain)
            if fetched.reply.status not in target.failover:
                break
        return fetched
