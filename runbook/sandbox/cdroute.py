"""Which configuration answers a request at the twin's edge: the primary's, or its staging
distribution's (CloudFront continuous deployment; the API side is ``staging.py``).

As the developer guide ("Learn how continuous deployment works") says:

* a viewer cannot reach a staging distribution by its own domain name: the edge answers
  such a request as it answers a name no distribution serves;
* the primary's *deployed* configuration names the policy (``ContinuousDeploymentPolicyId``);
  an enabled policy routes a request carrying its header and value (SingleHeader), or a
  share of requests (SingleWeight) to the staging distribution, whose own configuration,
  origin and cache (the edge cache is keyed by distribution) then answer;
* with session stickiness a cookie keeps a viewer on the configuration it was given.

What is the twin's own, and says so: CloudFront documents no response header naming the
configuration that answered, so the twin adds ``x-runbook-twin-config: staging|primary``
(only the twin: checks against AWS cannot read it), and AWS does not document its
stickiness cookie's name, so the twin's is ``runbook-twin-cd``. ``all_to_primary`` plays
CloudFront's documented peak-time behaviour: every request to the primary, whatever the
policy says.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from runbook.sandbox.httpserver import Reply, Request

MARK = "x-runbook-twin-config"
COOKIE = "runbook-twin-cd"
HOLD = 0.5  # real seconds a staging distribution's listing is reused


@dataclass
class Router:
    deployments: Any  # staging.ContinuousDeployment
    all_to_primary: bool = False
    rng: random.Random = field(default_factory=random.Random)
    _chosen: threading.local = field(default_factory=threading.local)
    _held: dict[Any, tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, edge: Any, dist: Any, req: Request) -> Any:
        """The distribution whose configuration answers ``req`` (None: no distribution
        answers it), for a request whose Host found ``dist``."""
        self._chosen.value = None
        if dist is None:
            return None
        if dist.config.get("Staging"):
            return None  # viewers cannot address a staging distribution
        policy_id = str(dist.config.get("ContinuousDeploymentPolicyId") or "")
        policy = self.deployments.policy(policy_id) if policy_id else None
        if not policy or not policy.get("Enabled"):
            return dist
        names = {n.lower() for n in (policy.get("StagingDistributionDnsNames") or {})
                 .get("Items") or []}
        staging = self._staging(edge, policy_id, names)
        if staging is None:
            return dist
        to_staging, cookie = self._decide(policy.get("TrafficConfig") or {}, req)
        self._chosen.value = ("staging" if to_staging else "primary", cookie)
        return staging if to_staging else dist

    def _staging(self, edge: Any, policy_id: str, names: set[str]) -> Any:
        """The staging distribution a policy names, as the edge lists it; kept for a
        moment (every request of a weighted phase asks), keyed by the policy as it is."""
        key = (policy_id, frozenset(names))
        now = time.monotonic()
        with self._lock:
            held = self._held.get(key)
            if held is not None and now - held[0] < HOLD:
                return held[1]
        found = next((d for d in edge.distributions() if d.domain in names), None)
        with self._lock:
            self._held[key] = (now, found)
        return found

    def _decide(self, traffic: dict[str, Any], req: Request) -> tuple[bool, str | None]:
        headers = {k.lower(): v for k, v in req.headers.items()}
        if self.all_to_primary:
            return False, None
        if traffic.get("Type") == "SingleHeader":
            one = traffic.get("SingleHeaderConfig") or {}
            return headers.get(str(one.get("Header", "")).lower()) == one.get("Value"), None
        weight = traffic.get("SingleWeightConfig") or {}
        sticky = weight.get("SessionStickinessConfig")
        now = time.time()
        if sticky:
            held = _cookie(headers.get("cookie", ""))
            if held is not None:
                side, started = held
                if now - started <= float(sticky.get("MaximumTTL") or 0):
                    return side == "staging", _set(side, started, sticky)
        to_staging = self.rng.random() < float(weight.get("Weight") or 0)
        side = "staging" if to_staging else "primary"
        return to_staging, _set(side, now, sticky) if sticky else None

    def mark(self, reply: Reply) -> Reply:
        """``reply`` with the twin's mark of the configuration that answered (and the
        stickiness cookie), when a policy took part."""
        chosen = getattr(self._chosen, "value", None)
        self._chosen.value = None
        if chosen is None:
            return reply
        side, cookie = chosen
        headers = {**reply.headers, MARK: side}
        if cookie:
            headers["Set-Cookie"] = cookie
        return Reply(reply.status, reply.body, headers, reply.delay)

    def attach(self, edge: Any) -> None:
        """Mark every answer of ``edge``'s servers (its ``serve`` calls ``pick``)."""
        for server in (edge.https, edge.http):
            handler = server.routes.handler
            server.routes.handler = (lambda req, h=handler: self.mark(h(req)))


def _cookie(header: str) -> tuple[str, float] | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            side, _, started = value.partition(".")
            try:
                return side, float(started)
            except ValueError:
                return None
    return None


def _set(side: str, started: float, sticky: dict[str, Any]) -> str:
    return (f"{COOKIE}={side}.{int(started)}; Max-Age={int(sticky.get('IdleTTL') or 0)}; "
            "Path=/; Secure; HttpOnly")


def install(kit: Any, edge: Any, saved: dict[str, Any]) -> Router:
    """Continuous deployment in a twin: the API on the kit's proxy (staging.py), the
    routing at ``edge``; ``saved``: what ``Router.deployments.export()`` saved of a twin."""
    from runbook.sandbox.staging import ContinuousDeployment

    deployments = ContinuousDeployment(kit.proxy)
    deployments.install()
    deployments.restore(saved)
    router = Router(deployments)
    edge.state.route = router.pick
    router.attach(edge)
    return router
