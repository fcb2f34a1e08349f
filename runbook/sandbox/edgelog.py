"""What the twin's edge keeps of every response, as CloudFront does: metrics and logs.

**Metrics.** Each response served for a distribution is published to the twin's
CloudWatch (moto, through the same API ``cloudfront.metrics`` reads) in us-east-1,
namespace AWS/CloudFront, dimensions ``DistributionId`` (the world's id) and
``Region=Global``: ``Requests`` and ``BytesDownloaded`` (values to sum) and
``4xxErrorRate``, ``5xxErrorRate`` and ``TotalErrorRate`` (100 for a response in the
class, 0 otherwise, so that their Average over a window is the rate in percent, as
CloudFront's is). CloudFront publishes a value a minute, a minute or so late; the twin
publishes at once.

The edge calls :meth:`EdgeLog.finished` once per response, where it finishes one
(``Edge.serve``).

**Access logs.** For a distribution whose ``Logging`` is enabled, each response becomes
one line of a standard (legacy layout) access log: the documented W3C fields, tab
separated, under ``#Version``/``#Fields`` headers, gzipped, written to the logging bucket
as ``PREFIX + DISTRIBUTIONID.YYYY-MM-DD-HH.UNIQUE.gz``. CloudFront delivers a file every
few minutes; the twin writes what it has every :data:`FLUSH_EVERY` real seconds and when
it stops, and a world's ``logs.traffic`` is written as one file when it is seeded.

Nothing here may break a response: a failure to publish or log is dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from runbook.kinds.aws.common import is_website_domain

if TYPE_CHECKING:
    from runbook.sandbox.httpserver import Reply, Request

# The edge (sandbox/edge.py) holds an EdgeLog and calls it: its Edge and Dist are named
# here by what is used of them (``find``; ``id``, ``domain``, ``config``), not imported,
# so the two modules do not import each other.
Edge = Any
Dist = Any

FLUSH_EVERY = 1.0  # real seconds between writes of the access logs
FIELDS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem "
          "sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type "
          "x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for "
          "ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version "
          "fle-status fle-encrypted-fields c-port time-to-first-byte "
          "x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start "
          "sc-range-end")
HEADER = f"#Version: 1.0\n#Fields: {FIELDS}\n"


def log_line(*, when: dt.datetime, method: str, domain: str, host: str, path: str,
             status: int, size: int, https: bool, result: str = "Miss",
             agent: str = "-") -> str:
    """One access log line in the legacy field order (the #Fields of :data:`HEADER`)."""
    stem, _, query = path.partition("?")
    proto = "https" if https else "http"
    kind = "Error" if status >= 400 else result
    return "\t".join([
        when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S"), "LHR-SANDBOX", str(size),
        "127.0.0.1", method, domain, stem or "/", str(status), "-",
        agent.replace(" ", "%20") or "-", query or "-", "-", kind,
        uuid.uuid4().hex[:20], host, proto, "0", "0.001", "-",
        "TLSv1.3" if https else "-", "TLS_AES_128_GCM_SHA256" if https else "-", kind,
        "HTTP/1.1", "-", "-", "443" if https else "80", "0.001", kind, "-", str(size),
        "-", "-"])


def key_for(prefix: str, dist_id: str, when: dt.datetime) -> str:
    return f"{prefix}{dist_id}.{when.strftime('%Y-%m-%d-%H')}.{uuid.uuid4().hex[:8]}.gz"


def logging_of(config: dict[str, Any]) -> tuple[str, str] | None:
    """(bucket, prefix) a DistributionConfig logs to, or None when logging is off."""
    logging = config.get("Logging") or {}
    if not logging.get("Enabled") or not logging.get("Bucket"):
        return None
    return str(logging["Bucket"]).split(".s3", 1)[0], str(logging.get("Prefix") or "")


def write_log(s3: Any, bucket: str, key: str, lines: Iterable[str]) -> None:
    body = HEADER + "".join(line + "\n" for line in lines)
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body.encode("utf-8")))


class EdgeLog:
    """Publishes the edge's responses as metrics and access logs (see the module)."""

    def __init__(self, cloudwatch: Any, s3: Any) -> None:
        self.cloudwatch = cloudwatch
        self.s3 = s3
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str], list[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flusher, daemon=True,
                                        name="edge-logs")
        self._thread.start()

    def finished(self, edge: Edge, req: Request, reply: Reply, https: bool) -> Reply:
        """Count and log ``reply`` to ``req``; return it untouched."""
        with contextlib.suppress(Exception):
            if not is_website_domain(req.host):
                dist = edge.find(req.host)
                if dist is not None:
                    self._record(dist, req, reply, https)
        return reply

    def _record(self, dist: Dist, req: Request, reply: Reply, https: bool) -> None:
        size = len(reply.body) if req.method != "HEAD" else 0
        status = reply.status
        dims = [{"Name": "DistributionId", "Value": dist.id},
                {"Name": "Region", "Value": "Global"}]
        now = dt.datetime.now(dt.UTC)

        def rate(on: bool) -> float:
            return 100.0 if on else 0.0

        data = [("Requests", 1.0, "None"), ("BytesDownloaded", float(size), "None"),
                ("4xxErrorRate", rate(400 <= status < 500), "Percent"),
                ("5xxErrorRate", rate(status >= 500), "Percent"),
                ("TotalErrorRate", rate(status >= 400), "Percent")]
        self.cloudwatch.put_metric_data(Namespace="AWS/CloudFront", MetricData=[
            {"MetricName": name, "Dimensions": dims, "Value": value, "Unit": unit,
             "Timestamp": now} for name, value, unit in data])
        target = logging_of(dist.config)
        if target is not None:
            hit = (reply.headers or {}).get("X-Cache", "")
            line = log_line(when=now, method=req.method, domain=dist.domain, host=req.host,
                            path=req.path, status=status, size=size, https=https,
                            result="Hit" if hit.startswith("Hit") else "Miss",
                            agent=str(req.headers.get("User-Agent", "-")))
            with self._lock:
                self._pending.setdefault((dist.id, *target), []).append(line)

    def flush(self) -> None:
        """Write every pending line: one file per distribution."""
        with self._lock:
            pending, self._pending = self._pending, {}
        now = dt.datetime.now(dt.UTC)
        for (dist_id, bucket, prefix), lines in pending.items():
            with contextlib.suppress(Exception):
                write_log(self.s3, bucket, key_for(prefix, dist_id, now), lines)

    def _flusher(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        self.flush()


def seed_traffic(s3: Any, dist_id: str, domain: str, host: str, bucket: str, prefix: str,
                 traffic: dict[str, int], *, now: dt.datetime | None = None) -> int:
    """A world's past traffic (a path on ``host``, or a whole URL -> requests, each
    answered 200 then), written as one access log file of the last hour. Returns the
    lines written."""
    from urllib.parse import urlsplit

    now = now or dt.datetime.now(dt.UTC)
    lines: list[str] = []
    for where, count in traffic.items():
        parts = urlsplit(where) if "://" in where else None
        name = parts.hostname or host if parts else host
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "") \
            if parts else where
        for i in range(count):
            when = now - dt.timedelta(seconds=60 + (i * 37) % 3000)
            lines.append(log_line(when=when, method="GET", domain=domain, host=name,
                                  path=path, status=200, size=1024,
                                  https=parts is None or parts.scheme == "https",
                                  result="Hit"))
    if lines:
        write_log(s3, bucket, key_for(prefix, dist_id, now - dt.timedelta(hours=1)), lines)
    return len(lines)
