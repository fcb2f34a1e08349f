"""The origins the edge reads, each as it answers CloudFront:

* an S3 bucket (REST endpoint): the object under the origin path, when the bucket policy
  lets this distribution read it as its origin signs (OAC, OAI); otherwise, and for a
  missing key (no ListBucket), 403 AccessDenied;
* an S3 website endpoint: ``RedirectAllRequestsTo``; otherwise the index document for a
  folder (and a 302 to ``key/`` when only the folder's index exists), routing rules
  (``KeyPrefixEquals`` before the object is read, ``HttpErrorCodeReturnedEquals`` after),
  the error document for a 404 or 403, public objects only; a missing key is 404 when
  anyone may list the bucket, 403 otherwise;
* a custom origin, which the world points at a loopback server (``url``) or a local folder
  (``folder``): the request goes there with what the origin request policy forwards.
"""

from __future__ import annotations

import http.client
import mimetypes
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook.kinds.aws.common import bucket_of, is_website_domain
from runbook.kinds.aws.policy import lists_publicly
from runbook.kinds.aws.policy import read as read_policy
from runbook.sandbox.edgeview import TwinView
from runbook.sandbox.httpserver import Reply

FORBIDDEN_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                 '<Message>Access Denied</Message></Error>')
# what a custom origin passes back to the viewer (hop-by-hop headers stay behind)
PASSED = ("content-type", "cache-control", "etag", "last-modified", "location", "expires",
          "content-language", "content-disposition", "set-cookie", "vary")


@dataclass(frozen=True)
class Fetched:
    reply: Reply
    cache_control: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """The request as it reaches the origin: path (under the origin path, no query), the
    query, and the headers the origin request policy forwards."""

    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()


class Origins:
    def __init__(self, s3: Any, view: TwinView, custom: dict[str, str] | None = None) -> None:
        self.s3 = s3
        self.view = view
        # custom origin domain -> "http://127.0.0.1:PORT" or a folder's absolute path
        self.custom = dict(custom or {})

    def fetch(self, origin: dict[str, Any], out: Outgoing, *, dist_arn: str,
              dist_domain: str) -> Fetched:
        domain = str(origin.get("DomainName", "")).lower()
        path = "/" + (str(origin.get("OriginPath") or "").strip("/") + "/" +
                      out.path.lstrip("/")).lstrip("/")
        bucket = bucket_of(domain)
        if bucket is not None and is_website_domain(domain):
            return Fetched(self.website(bucket, domain, path + (f"?{out.query}" if out.query
                                                                else "")))
        if bucket is not None:
            return self.from_bucket(origin, bucket, path.lstrip("/"), dist_arn, dist_domain)
        where = self.custom.get(domain)
        if where is None:
            return Fetched(Reply(502, f"the sandbox edge cannot reach custom origin {domain}: "
                                      "the world does not point it anywhere (origins:)",
                                 {"X-Cache": "Error from cloudfront"}))
        if where.startswith(("http://", "https://")):
            return self.from_server(where, domain, path, out)
        return self.from_folder(Path(where), path)

    # ---- S3 ----------------------------------------------------------------------------

    def from_bucket(self, origin: dict[str, Any], bucket: str, key: str, dist_arn: str,
                    dist_domain: str) -> Fetched:
        # CloudFront signs for the origin as it is set up: with its OAC, or as its OAI
        oac = bool(origin.get("OriginAccessControlId"))
        oai = str((origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity") or "")
        reading = read_policy(self.view.bucket_policy(bucket), bucket=bucket, key=key,
                              distribution_arn=dist_arn,
                              oai_ids=[oai.rsplit("/", 1)[-1]] if oai and not oac else [],
                              signs_with_oac=oac)
        if reading.granted_by is None or reading.denied_by is not None:
            return Fetched(_denied())
        got = self._object(bucket, key)
        if got is None:  # NoSuchKey: without ListBucket, S3 says AccessDenied
            return Fetched(_denied())
        body, headers, control = got
        headers["Via"] = f"1.1 {dist_domain} (CloudFront)"
        return Fetched(Reply(200, body, headers), control)

    def _object(self, bucket: str, key: str) -> tuple[bytes, dict[str, str], str | None] | None:
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
        except Exception:
            return None
        control = obj.get("CacheControl")
        headers = {"Content-Type": obj.get("ContentType") or "text/html",
                   "X-Cache": "Miss from cloudfront"}
        if obj.get("ETag"):
            headers["ETag"] = obj["ETag"]
        if control:
            headers["Cache-Control"] = control
        return obj["Body"].read(), headers, control

    def website(self, bucket: str, host: str, path: str) -> Reply:
        """The S3 website endpoint of ``bucket`` answering ``path`` (with its query)."""
        site = self.view.bucket_website(bucket)
        if site is None:
            return _site_error(404, "NoSuchWebsiteConfiguration",
                               "The specified bucket does not have a website configuration")
        path, _, query = path.partition("?")
        to = site.get("RedirectAllRequestsTo")
        if to:
            protocol = to.get("Protocol") or "http"
            return Reply(301, b"", {"Location": f"{protocol}://{to['HostName']}{path}"
                                                + (f"?{query}" if query else ""),
                                    "Server": "AmazonS3"})
        key = urllib.parse.unquote(path.lstrip("/"))
        rules = site.get("RoutingRules") or []
        for rule in rules:
            cond = rule.get("Condition") or {}
            if "HttpErrorCodeReturnedEquals" not in cond and key.startswith(
                    cond.get("KeyPrefixEquals") or ""):
                return _redirect(rule, key, host, cond.get("KeyPrefixEquals") or "")
        suffix = (site.get("IndexDocument") or {}).get("Suffix") or "index.html"
        wanted = key + suffix if key == "" or key.endswith("/") else key
        found = self._public(bucket, wanted)
        if found is None and not wanted.endswith(suffix) and self._public(
                bucket, f"{key}/{suffix}") is not None:
            return Reply(302, b"", {"Location": f"/{key}/", "Server": "AmazonS3"})
        if found is not None and found[0] == 200:
            return found[1]
        listed = lists_publicly(self.view.bucket_policy(bucket), bucket=bucket)
        status = (404 if listed else 403) if found is None else found[0]
        for rule in rules:
            cond = rule.get("Condition") or {}
            if str(cond.get("HttpErrorCodeReturnedEquals") or "") == str(status) and \
                    key.startswith(cond.get("KeyPrefixEquals") or ""):
                return _redirect(rule, key, host, cond.get("KeyPrefixEquals") or "")
        page = (site.get("ErrorDocument") or {}).get("Key")
        if page:
            shown = self._public(bucket, page)
            if shown is not None and shown[0] == 200:
                return Reply(status, shown[1].body, shown[1].headers)
        if status == 403:
            return _site_error(403, "AccessDenied", "Access Denied")
        return _site_error(404, "NoSuchKey", "The specified key does not exist.")

    def _public(self, bucket: str, key: str) -> tuple[int, Reply] | None:
        """(200, the object) when anyone may read it, (403, ...) when not; None: no key."""
        got = self._object(bucket, key)
        if got is None:
            return None
        reading = read_policy(self.view.bucket_policy(bucket), bucket=bucket, key=key,
                              distribution_arn="", oai_ids=[], signs_with_oac=False)
        if not reading.public or reading.denied_by is not None:
            return 403, _denied()
        body, headers, _ = got
        headers.pop("X-Cache", None)
        headers["Server"] = "AmazonS3"
        return 200, Reply(200, body, headers)

    # ---- custom origins -----------------------------------------------------------------

    def from_server(self, url: str, domain: str, path: str, out: Outgoing) -> Fetched:
        parts = urllib.parse.urlsplit(url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        conn = conn_cls(parts.netloc, timeout=30)
        headers = dict(out.headers)
        headers.setdefault("Host", domain)  # CloudFront sends the origin's name unless told
        headers["Via"] = "1.1 sandbox (CloudFront)"
        try:
            conn.request("GET", (parts.path.rstrip("/") + path) + (
                f"?{out.query}" if out.query else ""), headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except OSError as exc:
            return Fetched(Reply(502, f"CloudFront could not connect to the origin {domain}: "
                                      f"{exc}", {"X-Cache": "Error from cloudfront"}))
        finally:
            conn.close()
        kept = {k: v for k, v in resp.getheaders() if k.lower() in PASSED}
        kept["X-Cache"] = "Miss from cloudfront"
        return Fetched(Reply(resp.status, body, kept), resp.getheader("Cache-Control"))

    def from_folder(self, folder: Path, path: str) -> Fetched:
        rel = urllib.parse.unquote(path).lstrip("/")
        target = (folder / rel).resolve()
        if not target.is_relative_to(folder.resolve()) or not target.is_file():
            return Fetched(Reply(404, "<h1>404 Not Found</h1>", {
                "Content-Type": "text/html", "X-Cache": "Error from cloudfront"}))
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return Fetched(Reply(200, target.read_bytes(), {"Content-Type": kind,
                                                        "X-Cache": "Miss from cloudfront"}))


def _denied() -> Reply:
    return Reply(403, FORBIDDEN_XML, {"X-Cache": "Error from cloudfront",
                                      "Content-Type": "application/xml"})


def _site_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, f"<html><head><title>{status}</title></head><body><h1>{status}</h1>"
                         f"<ul><li>Code: {code}</li><li>Message: {message}</li></ul></body>"
                         "</html>", {"Content-Type": "text/html", "Server": "AmazonS3"})


def _redirect(rule: dict[str, Any], key: str, host: str, prefix: str) -> Reply:
    """A routing rule's redirect of ``key``: its host (the request's by default), protocol,
    key (``ReplaceKeyWith``, or the prefix replaced) and code (301 by default)."""
    to = rule.get("Redirect") or {}
    if to.get("ReplaceKeyWith") is not None:
        new_key = str(to["ReplaceKeyWith"])
    elif to.get("ReplaceKeyPrefixWith") is not None:
        new_key = str(to["ReplaceKeyPrefixWith"]) + key[len(prefix):]
    else:
        new_key = key
    protocol = to.get("Protocol") or "http"
    where = f"{protocol}://{to.get('HostName') or host}/{new_key}"
    return Reply(int(to.get("HttpRedirectCode") or 301), b"",
                 {"Location": where, "Server": "AmazonS3"})
