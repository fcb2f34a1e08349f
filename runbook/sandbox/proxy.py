"""A proxy in front of the moto server that makes the twin answer as AWS does.

moto is a good twin of the API's shapes but accepts things AWS refuses, answers at once
where AWS takes minutes, and forgets fields it does not model (see docs/moto-gaps.md).
The proxy puts that back, one operation at a time, through three tables:

* ``answers``: operations the twin answers itself, never reaching moto: ``/runbook-twin``
  (what a client of a served twin reads to find its DNS server, edge and CA), CloudFront
  Functions and KeyValueStores (``functions``), AssociateAlias and ListConflictingAliases
  (``cfalias``); an answer may decline a call it does not own;
* ``checks``: refusals before moto sees a request (``cfrules`` for CloudFront, ``r53rules``
  for Route53): a check returns an AWS error reply, or None to let the request through;
* ``after``: rewrites of moto's reply (deployment and change status, ETags, the fields moto
  drops).

Other parts of the twin add their own routes to these tables (``Route``) in their
``install(kit)``, built with the one kit of kit.py (reply type, error bodies, header
lookup, the twin's client factory), so a new operation is one line there, not a branch in
``handle``.

It also presents the world file's distribution ids (E1PRODEXAMPLE) in place of moto's
random ones in the CloudFront API only, so a plan written for an account runs unchanged
against the twin, and what a plan writes elsewhere (a bucket policy naming the
distribution) is stored as the plan wrote it, as on AWS.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CF_API = "/2020-05-31/"
R53_API = "/2013-04-01/"
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}

Reply = tuple[int, dict[str, str], bytes]  # status, headers, body: every table's reply


def header(headers: dict[str, str], name: str, default: str = "") -> str:
    """The value of header ``name`` (HTTP header names are case-insensitive)."""
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), default)


@dataclass
class Call:
    """One request to the AWS API, as the proxy sees it (world ids already swapped)."""

    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None
    # the body as the client sent it, when a check rewrote ``body`` into what moto takes
    sent: bytes | None = None

    def header(self, name: str) -> str:
        return header(self.headers, name)

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Any]  # answers/checks: (Call) -> Reply | None; after: (Call, Reply)

    def matches(self, call: Call) -> re.Match[str] | None:
        return self.pattern.match(call.path) if call.method == self.method else None


@dataclass
class Ids:
    """World ids <-> moto ids: of distributions (``to_moto``, swapped in the CloudFront API
    only), and of a captured world's certificates and hosted zones (``everywhere``: real
    ARNs and zone ids, swapped in every API, since no plan writes them into a policy)."""

    to_moto: dict[str, str] = field(default_factory=dict)
    everywhere: dict[str, str] = field(default_factory=dict)

    @property
    def to_world(self) -> dict[str, str]:
        return {m: w for w, m in self.to_moto.items()}

    def request(self, data: bytes, table: dict[str, str] | None = None) -> bytes:
        for world, moto in (self.to_moto if table is None else table).items():
            data = data.replace(world.encode(), moto.encode())
        return data

    def response(self, data: bytes, table: dict[str, str] | None = None) -> bytes:
        for world, moto in (self.to_moto if table is None else table).items():
            data = data.replace(moto.encode(), world.encode())
        return data


class AwsProxy:
    """Serves on loopback and forwards to moto what no table answers or refuses."""

    def __init__(self, moto_url: str, ids: Ids, port: int = 0) -> None:
        self.moto = moto_url.split("://", 1)[1]
        self.ids = ids
        self.port = port
        self.answers: list[Route] = []
        self.checks: list[Route] = []
        self.after: list[Route] = []
        self.refusals: list[str] = []  # what was refused, for tests and `sandbox serve`
        self.on_change: Callable[[], None] = lambda: None
        # Changes go one at a time, so a saved state never holds half of one.
        self.writing = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.answers.append(Route("GET", re.compile(r"^/runbook-twin$"), self._info))
        self.info: Callable[[], dict[str, Any]] = dict

    # ---- serving ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AwsProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, out = proxy.handle(self.command, self.path,
                                                    dict(self.headers.items()), body)
                self.send_response_only(status)
                for k, v in headers.items():
                    if k.lower() not in HOP:
                        self.send_header(k, v)
                # a HEAD answer has no body but tells the length of the one GET would get
                size = str(len(out))
                if self.command == "HEAD":
                    size = header(headers, "Content-Length", "0")
                self.send_header("Content-Length", size)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _any

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True, name="aws-proxy").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def forward(self, call: Call) -> Reply:
        conn = http.client.HTTPConnection(self.moto, timeout=60)
        try:
            sent = {k: v for k, v in call.headers.items()
                    if k.lower() not in ("host", "connection")}
            sent["Content-Length"] = str(len(call.body))
            conn.request(call.method, call.target, body=call.body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()

    # ---- the tables ------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        path, _, query = target.partition("?")
        if self.ids.everywhere:  # a captured world's real certificate ARNs and zone ids
            path = self.ids.request(path.encode(), self.ids.everywhere).decode()
            query = self.ids.request(query.encode(), self.ids.everywhere).decode()
            body = self.ids.request(body, self.ids.everywhere)
        cloudfront = path.startswith(CF_API)
        if cloudfront:  # world ids only where they are distribution ids: the CloudFront API
            path = self.ids.request(path.encode()).decode()
            query = self.ids.request(query.encode()).decode()
            body = self.ids.request(body)
        call = Call(method, path, query, headers, body)
        reply = self._dispatch(call)
        if cloudfront:
            reply = (reply[0], reply[1], self.ids.response(reply[2]))
        if self.ids.everywhere:
            reply = (reply[0], reply[1], self.ids.response(reply[2], self.ids.everywhere))
        return reply

    def _dispatch(self, call: Call) -> Reply:
        writes = call.method not in ("GET", "HEAD")
        # Answers run outside the write lock: one may call the proxy again (AssociateAlias
        # updates both distributions through it, so their rules apply). An answer may
        # decline (None) a call it recognises but does not own.
        for route in self.answers:
            call.match = route.matches(call)
            if call.match:
                answered: Reply | None = route.handler(call)
                if answered is not None:
                    if writes and answered[0] < 300:
                        self.on_change()
                    return answered
        with self.writing if writes else _NoLock():
            for route in self.checks:
                call.match = route.matches(call)
                if call.match:
                    refused: Reply | None = route.handler(call)
                    if refused is not None:
                        self.refusals.append(_message(refused[2]))
                        return refused
            reply = self.forward(call)
            for route in self.after:
                call.match = route.matches(call)
                if call.match:
                    reply = route.handler(call, reply)
        if writes and reply[0] < 300:
            self.on_change()
        return reply

    def _info(self, call: Call) -> Reply:
        return 200, {"Content-Type": "application/json"}, json.dumps(self.info()).encode()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _message(body: bytes) -> str:
    code = re.search(rb"<Code>(.*?)</Code>", body)
    text = re.search(rb"<Message>(.*?)</Message>", body, re.S)
    return ": ".join(m.group(1).decode() for m in (code, text) if m)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a run interrupted mid-call) is no error of the twin's:
        no traceback on the console of `sandbox serve`. Anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
