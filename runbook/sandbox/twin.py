"""The local twin: moto behind a proxy for the AWS API, a DNS server answering from the
twin's Route53 zones as they are now, and an edge serving its distributions.

    with Twin.start(load_world(path)) as twin:
        ctx = twin.wire(ctx)        # AWS, DNS, HTTP(S) and the CA all point at the twin

The engine only ever sees endpoints: nothing outside this package knows it is a twin.
"""

from __future__ import annotations

import contextlib
import copy
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from runbook.context import AwsSettings, NetworkSettings, RunContext
from runbook.errors import RunbookError
from runbook.sandbox import cdroute, cfadapt, cfalias, s3rules
from runbook.sandbox import state as twinstate
from runbook.sandbox.cfpolicies import Policies
from runbook.sandbox.cfrules import CloudFrontRules
from runbook.sandbox.dnsserver import DNSServer
from runbook.sandbox.edge import Edge, EdgeState
from runbook.sandbox.edgecache import EdgeCache
from runbook.sandbox.edgelog import EdgeLog
from runbook.sandbox.edgeview import TwinView
from runbook.sandbox.functions import Functions
from runbook.sandbox.kit import KEYS, Kit, moto_clients
from runbook.sandbox.proxy import AwsProxy, Ids
from runbook.sandbox.r53rules import Route53Rules
from runbook.sandbox.resolvercache import CachingResolver
from runbook.sandbox.seed import seed
from runbook.sandbox.world import World
from runbook.sandbox.zones import EDGE_IP, ZoneSource


class SandboxError(RunbookError):
    exit_code = 2


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise SandboxError(
            f"the sandbox needs the Python package {exc.name!r}, which is not installed: "
            "pip install 'runbook-cutover[sandbox]' (or '.[dev]' in a checkout)") from exc


@dataclass(frozen=True)
class Endpoints:
    """Where a twin answers: all a run needs to reach it, in this process or another."""

    aws: str
    region: str
    dns: str  # "127.0.0.1:port"
    https: int
    http: int
    ca: str  # path of the CA's PEM file (same machine: the twin serves on loopback)
    scale: float  # real seconds per AWS second

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoints:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def scaled_time(scale: float) -> tuple[Any, Any]:
    """A clock and a sleep in AWS seconds for a twin whose time runs ``1/scale`` times as
    fast: a plan's `within: 25m` lasts 15 real seconds at 0.01, and the twin's deployments
    are scaled alike, so a wait that is too short on AWS is too short here."""
    def clock() -> float:
        return time.monotonic() / scale

    def sleep(seconds: float) -> None:
        time.sleep(max(0.0, seconds) * scale)
    return clock, sleep


def wire_to(ctx: RunContext, ep: Endpoints, time_scale: float | None = None) -> RunContext:
    """``ctx`` with AWS, DNS, HTTP(S), trust and time pointed at the twin ``ep``."""
    scale = time_scale if time_scale is not None else ep.scale
    clock, sleep = scaled_time(scale)
    aws = AwsSettings(endpoint_url=ep.aws, region=ep.region,
                      access_key_id=KEYS["aws_access_key_id"],
                      secret_access_key=KEYS["aws_secret_access_key"], max_attempts=2)
    network = NetworkSettings(resolvers=(ep.dns,), resolve_via_dns=True,
                              port_map={443: ep.https, 80: ep.http}, ca_bundle=ep.ca)
    return replace(ctx, aws=aws, network=network, clock=clock, sleep=sleep,
                   time_scale=scale, _session=None, _clients={}, _lock=threading.Lock())


@dataclass
class Twin:
    world: World
    moto: Any
    moto_url: str
    proxy: AwsProxy
    dns: DNSServer
    edge: Edge
    ca_path: str
    ids: Ids
    folder: Path
    cloudfront: CloudFrontRules
    route53: Route53Rules
    state_dir: Path | None = None
    resolver: CachingResolver | None = None  # what `system` lookups ask: caches as resolvers do
    router: cdroute.Router | None = None  # continuous deployment: staging.py, cdroute.py
    certificates: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _tmp: Any = None
    _dirty: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)

    # ---- start and stop --------------------------------------------------------------

    @classmethod
    def start(cls, world: World, *, state_dir: Path | None = None, port: int = 0) -> Twin:
        """A twin seeded from ``world``; with ``state_dir``, one that continues the twin
        saved there (the world file is then only read for its timing) and saves itself
        there after every change."""
        t0 = time.perf_counter()
        trustme = _need("trustme")
        server_mod = _need("moto.server")
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request
        moto = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, mport = moto.get_host_and_port()
        moto_url = f"http://{host}:{mport}"
        # moto keeps its state in the process, not the server: start from an empty world.
        # (So one process runs one twin at a time.)
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset",
                                                      method="POST"), timeout=10).close()
        t_moto = time.perf_counter()
        tmp = None
        if state_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="runbook-sandbox-")
            folder = Path(tmp.name)
        else:
            folder = state_dir.resolve()
            folder.mkdir(parents=True, exist_ok=True)
        restoring = state_dir is not None and twinstate.saved(folder)
        try:
            saved = twinstate.load(folder) if restoring else {}
        except Exception as exc:  # a pickle of another moto, a truncated or foreign file
            moto.stop()
            raise SandboxError(
                f"the twin's state in {folder} cannot be read ({type(exc).__name__}: {exc}); "
                "it was saved by another version of runbook or moto, or is damaged. Start "
                "with an empty --state folder (the world file seeds it again)") from exc

        client = moto_clients(moto_url, world.region)

        timing = world.timing
        ids = Ids(dict(saved.get("ids", {})), dict(saved.get("ids_everywhere", {})))
        proxy = AwsProxy(moto_url, ids, port)
        cf_rules = CloudFrontRules(client("cloudfront", "us-east-1"), client("acm", "us-east-1"),
                                   timing.deploy * timing.scale,
                                   timing.invalidation * timing.scale)
        r53_rules = Route53Rules(client("route53", "us-east-1"), timing.route53 * timing.scale)
        kit = Kit(proxy, client)
        cf_rules.install(kit)
        r53_rules.install(kit)
        s3rules.install(kit)
        # what moto lacks beside the rules: CloudFront Functions and KeyValueStores
        # (functions.py), AssociateAlias and ListConflictingAliases (cfalias.py)
        functions = Functions(client("cloudfront", "us-east-1"))
        functions.install(kit)
        cfalias.install(kit, cf_rules)
        cfadapt.install(kit)  # what CloudFront takes and moto refuses
        policies = Policies(client("cloudfront", "us-east-1"), cf_rules)  # moto has none
        policies.install(kit)
        cf_rules.restore(saved.get("cloudfront", {}))
        r53_rules.restore(saved.get("route53", {}))
        policies.restore(saved.get("policies", {}))
        functions.restore(saved.get("functions", {}))
        try:
            proxy.start()
        except OSError as exc:
            moto.stop()
            raise SandboxError(f"the sandbox cannot serve its AWS API on port {port}: {exc}. "
                               "Is another twin running there?") from exc
        ca_path = str(folder / "sandbox-ca.pem")
        edge_pem = folder / "sandbox-edge.pem"
        ca = None
        if not restoring:
            ca = trustme.CA(organization_name="runbook sandbox CA")
            ca.cert_pem.write_to_path(ca_path)
            ca.issue_cert("*.cloudfront.net", "cloudfront.net") \
                .private_key_and_cert_chain_pem.write_to_path(str(edge_pem))
        default = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        default.load_cert_chain(str(edge_pem))
        state = EdgeState(s3=client("s3"), cloudfront=client("cloudfront", "us-east-1",
                                                              proxy.url),
                          account=world.account, default_context=default,
                          cache=EdgeCache(timing.scale), view=TwinView(client("s3")),
                          custom_origins={o.domain.lower(): o.url or str(o.folder)
                                          for o in world.origins})
        view = state.view
        assert view is not None
        proxy.on_change = view.changed  # the edge reads again what a change may touch
        state.served = _served_by(cf_rules, ids, state.cloudfront)
        state.functions = functions  # the edge runs the functions the proxy holds
        state.watch = EdgeLog(client("cloudwatch", "us-east-1"), client("s3"))
        state.policies = policies  # and applies the policies it holds
        state.moto_id = lambda world_id: ids.to_moto.get(world_id, world_id)
        cf_rules.on_invalidate = lambda dist, paths, at: state.cache.invalidate(
            ids.to_world.get(dist, dist), paths, at)
        zones = ZoneSource(client("route53", "us-east-1"), client("cloudfront", "us-east-1"),
                            client)
        dns_server = DNSServer(zones).start()
        resolver = CachingResolver(dns_server, timing.scale)
        resolver.start()
        edge = Edge(state).start()
        router = cdroute.install(kit, edge, saved.get("staging", {}))
        twin = cls(world, moto, moto_url, proxy, dns_server, edge, ca_path, ids, folder,
                   cf_rules, r53_rules, state_dir=folder if state_dir else None,
                   resolver=resolver, router=router, _tmp=tmp)
        try:
            if restoring:
                for arn, (domains, pem) in saved.get("certificates", {}).items():
                    twin._serve_certificate(arn, list(domains), pem)
            else:
                assert ca is not None
                seed(twin, client, ca)
                cf_rules.settle()
                view.changed()  # the seed wrote to moto directly
            proxy.info = lambda: {**vars(twin.endpoints()), "account": world.account}
            if twin.state_dir is not None:
                twin.save()
                def changed() -> None:
                    view.changed()
                    twin._dirty.set()
                proxy.on_change = changed
                threading.Thread(target=twin._saver, daemon=True, name="twin-saver").start()
        except BaseException:  # a Ctrl-C or SIGTERM half-way, too: no half-started twin left
            twin.stop()
            raise
        twin.timings = {"moto": t_moto - t0, "total": time.perf_counter() - t0}
        return twin

    def _serve_certificate(self, arn: str, domains: list[str], pem: str) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.folder / pem))
        self.certificates[arn] = (domains, pem)
        self.edge.state.certificates[arn] = (domains, context)

    def save(self) -> None:
        """The twin's state to its state folder (a change at a time, never half of one)."""
        if self.state_dir is None:
            return
        with self.proxy.writing:
            twinstate.save(self.state_dir, {
                "ids": self.ids.to_moto, "ids_everywhere": self.ids.everywhere,
                "cloudfront": self.cloudfront.export(),
                "route53": self.route53.export(),
                "staging": self.router.deployments.export() if self.router else {},
                "policies": self.edge.state.policies.export(),
                "functions": self.edge.state.functions.export(),
                "certificates": {k: list(v) for k, v in self.certificates.items()}})

    def _saver(self) -> None:
        while not self._stopping.is_set():
            if self._dirty.wait(0.2):
                self._dirty.clear()
                with contextlib.suppress(Exception):  # the next change, or stop, saves again
                    self.save()

    def stop(self) -> None:
        # stopping what is half started must not hide why it stopped
        self._stopping.set()
        watch = self.edge.state.watch if self.edge is not None else None
        for part in (self.edge, self.resolver, self.dns, self.proxy, watch):
            with contextlib.suppress(Exception):
                if part is not None:
                    part.stop()
        with contextlib.suppress(Exception):
            self.save()
        with contextlib.suppress(Exception):
            self.moto.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- wiring ----------------------------------------------------------------------

    def endpoints(self) -> Endpoints:
        host, port = (self.resolver or self.dns).address
        return Endpoints(self.proxy.url, self.world.region, f"{host}:{port}",
                         self.edge.https.port, self.edge.http.port, self.ca_path,
                         self.world.timing.scale)

    @property
    def aws(self) -> AwsSettings:
        return wire_to(RunContext(), self.endpoints()).aws

    @property
    def network(self) -> NetworkSettings:
        return wire_to(RunContext(), self.endpoints()).network

    def wire(self, ctx: RunContext, time_scale: float | None = None) -> RunContext:
        """``ctx`` with AWS, DNS, HTTP(S), trust and time pointed at this twin."""
        return wire_to(ctx, self.endpoints(), time_scale)

    def instructions(self) -> str:
        dns_host, dns_port = (self.resolver or self.dns).address
        auth_host, auth_port = self.dns.address
        return "\n".join([
            f"AWS API (moto, behind runbook's proxy): {self.proxy.url}",
            f"  export AWS_ENDPOINT_URL={self.proxy.url} AWS_ACCESS_KEY_ID=sandbox "
            f"AWS_SECRET_ACCESS_KEY=sandbox AWS_DEFAULT_REGION={self.world.region}",
            "  aws cloudfront list-distributions",
            f"DNS: dig @{dns_host} -p {dns_port} <name>   (a caching resolver; the zones' "
            f"own server: dig @{auth_host} -p {auth_port} +norec <name>)",
            f"edge: https on {EDGE_IP}:{self.edge.https.port}, http on "
            f"{EDGE_IP}:{self.edge.http.port}",
            f"  curl --cacert {self.ca_path} --resolve <host>:{self.edge.https.port}:{EDGE_IP} "
            f"https://<host>:{self.edge.https.port}/",
            f"plans: `sandbox: {{serve: {self.proxy.url}}}` in an environment runs against "
            "this twin",
        ])


def _served_by(rules: CloudFrontRules, ids: Ids, cloudfront: Any) -> Any:
    """What the edge serves of a distribution: its deployed configuration, parsed as
    boto3 parses GetDistributionConfig."""
    import botocore.parsers

    shape = cloudfront.meta.service_model.operation_model("GetDistributionConfig").output_shape
    parser = botocore.parsers.create_parser("rest-xml")

    parsed: dict[bytes, dict[str, Any]] = {}  # by the XML: parsing is most of a read

    def served(world_id: str) -> tuple[bool, dict[str, Any] | None]:
        known, xml = rules.served(ids.to_moto.get(world_id, world_id))
        if xml is None:
            return known, None
        if xml not in parsed:
            if len(parsed) > 256:
                parsed.clear()
            parsed[xml] = parser.parse({"body": ids.response(xml), "headers": {},
                                        "status_code": 200}, shape)["DistributionConfig"]
        return True, copy.deepcopy(parsed[xml])
    return served
