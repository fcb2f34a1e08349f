"""A proxy in front of the moto server that makes CloudFront refuse what AWS refuses.

moto is a good twin of the API's shapes but accepts things AWS does not (see
docs/moto-gaps.md). For the calls runbook's kinds make, this proxy restores AWS's answers:

* a stale ``If-Match`` on UpdateDistribution: 412 PreconditionFailed;
* an alias used by another distribution: 409 CNAMEAlreadyExists;
* aliases without a certificate, a certificate outside us-east-1, or one that does not
  cover an alias: 400 InvalidViewerCertificate;
* a new ETag after every change, and ``InProgress`` for a few reads after each change.

It also presents the world file's distribution ids (E1PRODEXAMPLE) in place of moto's
random ones, so a plan written for an account runs unchanged against the twin.
Everything else passes through untouched.
"""

from __future__ import annotations

import http.client
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runbook.kinds.aws.common import covers
from runbook.sandbox.functions import Functions

DIST_CONFIG = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/config$")
DIST = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)$")
DIST_LIST = re.compile(r"^/2020-05-31/distribution/?(\?.*)?$")
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
IN_PROGRESS_READS = 2


@dataclass
class DistState:
    etag: str
    pending: int = 0


@dataclass
class Ids:
    """World ids <-> moto ids of distributions."""

    to_moto: dict[str, str] = field(default_factory=dict)

    @property
    def to_world(self) -> dict[str, str]:
        return {m: w for w, m in self.to_moto.items()}

    def request(self, data: bytes) -> bytes:
        for world, moto in self.to_moto.items():
            data = data.replace(world.encode(), moto.encode())
        return data

    def response(self, data: bytes) -> bytes:
        for world, moto in self.to_moto.items():
            data = data.replace(moto.encode(), world.encode())
        return data


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = (f'<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/'
            f'2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}'
            f'</Message></Error><RequestId>{secrets.token_hex(8)}</RequestId></ErrorResponse>')
    return status, {"Content-Type": "text/xml"}, body.encode()


def _text(root: ET.Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(path)]


class AwsProxy:
    """Serves on loopback; ``cloudfront`` and ``acm`` are boto3 clients straight to moto."""

    def __init__(self, moto_url: str, ids: Ids, cloudfront: Any,
                 certificate_domains: Callable[[str], list[str] | None]) -> None:
        self.moto = moto_url.split("://", 1)[1]
        self.ids = ids
        self.cf = cloudfront
        self.cert_domains = certificate_domains
        self.state: dict[str, DistState] = {}
        self.refusals: list[str] = []  # what was refused, for tests and `sandbox serve`
        # CloudFront Functions, KeyValueStore keys, function associations (functions.py)
        self.functions = Functions(cloudfront)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

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
                    size = next((str(v) for k, v in headers.items()
                                 if k.lower() == "content-length"), "0")
                self.send_header("Content-Length", size)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True, name="aws-proxy").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.moto, timeout=60)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            sent["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()

    # ---- the rules -------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        path = self.ids.request(path.encode()).decode()
        body = self.ids.request(body)
        answer = self.functions.handle(method, path, headers, body)  # hook: functions.py
        if answer is not None:
            return answer[0], answer[1], self.ids.response(answer[2])
        from runbook.sandbox import cfalias  # AssociateAlias, ListConflictingAliases

        done = cfalias.handle(self, method, path, headers, body)
        if done is not None:
            return done
        cf = path.startswith("/2020-05-31/distribution")
        m_cfg, m_dist = DIST_CONFIG.match(path), DIST.match(path)
        if cf and method == "PUT" and m_cfg:
            refused = self._check_update(m_cfg.group(1), headers, body)
            if refused:
                return self._refuse(refused)
        if cf and method == "POST" and DIST_LIST.match(path):
            refused = self._check_config(None, body)
            if refused:
                return self._refuse(refused)
        if cf and method in ("PUT", "POST"):
            bad = self.functions.check_distribution(body)  # hook: functions.py
            if bad is not None:
                self.refusals.append(bad[2].decode())
                return bad
        status, out_headers, out = self.forward(method, path, headers, body)
        if cf and status in (200, 201):
            matched = m_cfg or m_dist
            dist_id = matched.group(1) if matched is not None else None
            if method in ("PUT", "POST"):
                if dist_id is None:
                    found = re.search(rb"<Id>([A-Z0-9]+)</Id>", out)
                    dist_id = found.group(1).decode() if found else None
                if dist_id is not None:
                    with self._lock:
                        st = self._dist(dist_id)
                        st.etag = secrets.token_hex(7).upper()
                        st.pending = IN_PROGRESS_READS
            out, out_headers = self._present(dist_id, method, out, out_headers)
            out = self.functions.after_distribution(dist_id, method, body, out)  # hook
        return status, out_headers, self.ids.response(out)

    def _refuse(self, refusal: tuple[int, str, str]) -> tuple[int, dict[str, str], bytes]:
        self.refusals.append(f"{refusal[1]}: {refusal[2]}")
        return _error(*refusal)

    def _dist(self, dist_id: str) -> DistState:
        st = self.state.get(dist_id)
        if st is None:
            st = self.state[dist_id] = DistState(secrets.token_hex(7).upper())
        return st

    def _present(self, dist_id: str | None, method: str, out: bytes,
                 headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        headers = {k: v for k, v in headers.items() if k.lower() != "etag"}
        with self._lock:
            if dist_id is not None:
                st = self._dist(dist_id)
                headers["ETag"] = st.etag
                status = "InProgress" if st.pending > 0 else "Deployed"
                if method == "GET" and st.pending > 0 and b"<Status>" in out:
                    st.pending -= 1
                out = re.sub(rb"<Status>\w+</Status>", f"<Status>{status}</Status>".encode(),
                             out, count=1)
            else:  # a list: each summary's status
                def one(m: re.Match[bytes]) -> bytes:
                    st = self.state.get(m.group(2).decode())
                    s = "InProgress" if st is not None and st.pending > 0 else "Deployed"
                    return m.group(1) + re.sub(rb"<Status>\w+</Status>",
                                               f"<Status>{s}</Status>".encode(), m.group(3))
                out = re.sub(rb"(<DistributionSummary><Id>([A-Z0-9]+)</Id>)(.*?</Status>)",
                             one, out, flags=re.S)
        return out, headers

    def _check_update(self, dist_id: str, headers: dict[str, str],
                      body: bytes) -> tuple[int, str, str] | None:
        if_match = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
        with self._lock:
            current = self._dist(dist_id).etag
        if if_match is not None and if_match != current:
            return (412, "PreconditionFailed",
                    "The If-Match version is missing or not valid for the resource.")
        return self._check_config(dist_id, body)

    def _check_config(self, dist_id: str | None, body: bytes) -> tuple[int, str, str] | None:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return None
        aliases = [a.lower() for a in _text(root, ".//{*}Aliases/{*}Items/{*}CNAME")]
        for other in self._others(dist_id):
            taken = sorted(set(aliases) & other[1])
            if taken:
                return (409, "CNAMEAlreadyExists",
                        f"One or more of the CNAMEs you provided are already associated with a "
                        f"different resource: {', '.join(taken)}")
        if not aliases:
            return None
        arns = _text(root, ".//{*}ViewerCertificate/{*}ACMCertificateArn")
        if not arns or not arns[0]:
            return (400, "InvalidViewerCertificate",
                    "To add an alternate domain name (CNAME) to a CloudFront distribution, you "
                    "must attach a trusted certificate that validates your authorization to use "
                    "the domain name.")
        arn = arns[0]
        if ":us-east-1:" not in arn:
            return (400, "InvalidViewerCertificate",
                    f"The specified SSL certificate doesn't exist, isn't in us-east-1 region, "
                    f"isn't valid, or doesn't include a valid certificate chain: {arn}")
        domains = self.cert_domains(arn)
        if domains is None:
            return (400, "InvalidViewerCertificate",
                    f"The specified SSL certificate doesn't exist: {arn}")
        missing = [a for a in aliases if not any(covers(d, a) for d in domains)]
        if missing:
            return (400, "InvalidViewerCertificate",
                    f"The certificate that is attached to your distribution doesn't cover the "
                    f"alternate domain name (CNAME) that you're trying to add: "
                    f"{', '.join(missing)}")
        return None

    def _others(self, dist_id: str | None) -> list[tuple[str, set[str]]]:
        out = []
        pages = self.cf.get_paginator("list_distributions").paginate()
        for page in pages:
            for d in page.get("DistributionList", {}).get("Items", []) or []:
                if d["Id"] == dist_id:
                    continue
                out.append((d["Id"], {a.lower() for a in d.get("Aliases", {}).get("Items", [])
                                      or []}))
        return out
