"""The edge honours a distribution's configuration as CloudFront documents it: custom
error responses, viewer protocol policies, cache behaviours routed to several origins
(S3 buckets, an S3 website endpoint, custom origins on loopback or in a folder) and
origin groups. Each test writes its own world and configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runbook.sandbox.httpserver import Reply, WebServer

pytestmark = pytest.mark.slow

HOST = "www.shop.test"
REGION = "eu-west-2"


def s3_origin(origin_id: str, bucket: str, path: str = "") -> dict[str, Any]:
    return {"Id": origin_id, "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
            "OriginPath": path, "S3OriginConfig": {"OriginAccessIdentity": ""},
            "OriginAccessControlId": f"OAC{origin_id}"}


def custom_origin(origin_id: str, domain: str) -> dict[str, Any]:
    return {"Id": origin_id, "DomainName": domain, "OriginPath": "",
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                   "OriginProtocolPolicy": "http-only"}}


def behaviour(origin_id: str, pattern: str | None = None,
              viewer: str = "redirect-to-https", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "TargetOriginId": origin_id, "ViewerProtocolPolicy": viewer,
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6", **extra}
    if pattern is not None:
        out["PathPattern"] = pattern
    return out


def dist_config(origins: list[dict[str, Any]], default: dict[str, Any],
                behaviours: list[dict[str, Any]] | None = None,
                **extra: Any) -> dict[str, Any]:
    behaviours = behaviours or []
    return {
        "CallerReference": "test", "Comment": "shop", "Enabled": True,
        "DefaultRootObject": "index.html",
        "Aliases": {"Quantity": 1, "Items": [HOST]},
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": default,
        "CacheBehaviors": {"Quantity": len(behaviours), "Items": behaviours},
        "ViewerCertificate": {"ACMCertificateArn": "arn:placeholder",
                              "SSLSupportMethod": "sni-only",
                              "MinimumProtocolVersion": "TLSv1.2_2021"},
        **extra}


def world(config: dict[str, Any], buckets: str, origins: str = "") -> str:
    return f"""
        sandbox: 1
        region: {REGION}
        certificates:
          - {{ref: shop, domains: ["*.shop.test"]}}
        buckets:
{buckets}
        distributions:
          - id: E1SHOP
            origin: {{bucket: site}}
            certificate: shop
            config: {json.dumps(config)}
{origins}
    """


APP = '{index.html: "<title>the app</title>", app.js: "console.log(1)"}'


def site(objects: str = APP) -> str:
    """The site bucket, which the distribution may read (OAC)."""
    return f"""\
          - name: site
            grant: [E1SHOP]
            objects: {objects}
"""


SITE = site()


def test_spa_fallback_serves_index_for_a_deep_link(small_twin):
    config = dist_config([s3_origin("site", "site")], behaviour("site"), CustomErrorResponses={
        "Quantity": 1, "Items": [{"ErrorCode": 403, "ResponsePagePath": "/index.html",
                                  "ResponseCode": "200", "ErrorCachingMinTTL": 3000}]})
    _, look = small_twin(world(config, SITE))
    deep = look.get(HOST, "/account/settings?tab=2")
    assert deep.status_code == 200 and "<title>the app</title>" in deep.text
    assert look.get(HOST, "/app.js").text == "console.log(1)"
    # the fallback is cached for ErrorCachingMinTTL: a page uploaded now is not seen yet
    s3 = look.client("s3", REGION)
    s3.put_object(Bucket="site", Key="account/settings", Body=b"the real page")
    again = look.get(HOST, "/account/settings?tab=2")
    assert again.status_code == 200 and "<title>the app</title>" in again.text


def test_without_a_custom_error_response_a_deep_link_is_403(small_twin):
    config = dist_config([s3_origin("site", "site")], behaviour("site"))
    _, look = small_twin(world(config, SITE))
    got = look.get(HOST, "/account/settings")
    assert got.status_code == 403 and "AccessDenied" in got.text


def test_viewer_protocol_policies(small_twin):
    config = dist_config([s3_origin("site", "site")], behaviour("site"), [
        behaviour("site", "/index.html", viewer="https-only"),
        behaviour("site", "app.*", viewer="allow-all")])
    _, look = small_twin(world(config, SITE))
    moved = look.get(HOST, "/deep/page?q=1&r=2", https=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"https://{HOST}/deep/page?q=1&r=2"
    refused = look.get(HOST, "/index.html", https=False)
    assert refused.status_code == 403
    assert look.get(HOST, "/index.html").status_code == 200  # over HTTPS it serves
    plain = look.get(HOST, "/app.js", https=False)
    assert plain.status_code == 200 and plain.text == "console.log(1)"


def test_behaviours_route_to_several_origins(small_twin, tmp_path: Path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "files").mkdir()
    (tmp_path / "files" / "files" / "notes.txt").write_text("from a folder")

    def api(req: Any) -> Reply:
        return Reply(200, f"api saw {req.path} as {req.headers.get('Host')}",
                     {"Content-Type": "text/plain"})

    with WebServer({"/api/orders": api}) as server:
        config = dist_config(
            [s3_origin("site", "site"), s3_origin("media", "media"),
             custom_origin("web", f"pages.s3-website.{REGION}.amazonaws.com"),
             custom_origin("api", "api.shop.test"), custom_origin("files", "files.shop.test")],
            behaviour("site"),
            [behaviour("media", "/media/*"), behaviour("web", "/docs/*"),
             behaviour("web", "/old/*"), behaviour("api", "/api/*"),
             behaviour("files", "/files/*")])
        buckets = SITE + f"""\
          - name: media
            grant: [E1SHOP]
            objects: {{media/logo.svg: "<svg/>"}}
          - name: pages
            block_public_access: false
            objects: {{docs/index.html: "docs home", docs/guide/index.html: "the guide",
                       missing.html: "no such page"}}
            policy: {{Version: "2012-10-17", Statement: [
                {{Effect: Allow, Principal: "*", Action: "s3:GetObject",
                  Resource: "arn:aws:s3:::pages/*"}},
                {{Effect: Allow, Principal: "*", Action: "s3:ListBucket",
                  Resource: "arn:aws:s3:::pages"}}]}}
            website:
              IndexDocument: {{Suffix: index.html}}
              ErrorDocument: {{Key: missing.html}}
              RoutingRules:
                - Condition: {{KeyPrefixEquals: old/}}
                  Redirect: {{ReplaceKeyPrefixWith: docs/, HttpRedirectCode: "301",
                              HostName: {HOST}, Protocol: https}}
"""
        origins = f"""\
        origins:
          - {{domain: api.shop.test, url: "http://127.0.0.1:{server.port}"}}
          - {{domain: files.shop.test, folder: files}}
"""
        _, look = small_twin(world(config, buckets, origins))
        assert look.get(HOST, "/media/logo.svg").text == "<svg/>"  # the second bucket
        assert look.get(HOST, "/").text == "<title>the app</title>"
        # the website endpoint: index documents, a folder without its slash, the error
        # document, a routing rule
        assert look.get(HOST, "/docs/").text == "docs home"
        folder = look.get(HOST, "/docs/guide")
        assert folder.status_code == 302 and folder.headers["location"] == "/docs/guide/"
        assert look.get(HOST, "/docs/guide/").text == "the guide"
        lost = look.get(HOST, "/docs/nothing.html")
        assert lost.status_code == 404 and lost.text == "no such page"
        old = look.get(HOST, "/old/guide/")
        assert old.status_code == 301
        assert old.headers["location"] == f"https://{HOST}/docs/guide/"
        # the custom origins: the loopback server (asked with the origin's name) and a folder
        assert look.get(HOST, "/api/orders").text == "api saw /api/orders as api.shop.test"
        assert look.get(HOST, "/files/notes.txt").text == "from a folder"
        assert look.get(HOST, "/files/none.txt").status_code == 404


def test_origin_group_fails_over_on_its_status_codes(small_twin):
    def broken(req: Any) -> Reply:
        return Reply(503, "primary is down")

    def missing(req: Any) -> Reply:
        return Reply(404, "primary has no such thing")

    with WebServer({"/down.html": broken, "/gone.html": missing}) as server:
        group = {"Id": "both", "FailoverCriteria": {"StatusCodes": {
            "Quantity": 2, "Items": [500, 503]}},
            "Members": {"Quantity": 2, "Items": [{"OriginId": "primary"},
                                                 {"OriginId": "site"}]}}
        config = dist_config([custom_origin("primary", "primary.shop.test"),
                              s3_origin("site", "site")], behaviour("both"),
                             OriginGroups={"Quantity": 1, "Items": [group]})
        buckets = site('{down.html: "from the secondary", gone.html: "the secondary has it"}')
        origins = f"""\
        origins:
          - {{domain: primary.shop.test, url: "http://127.0.0.1:{server.port}"}}
"""
        _, look = small_twin(world(config, buckets, origins))
        assert look.get(HOST, "/down.html").text == "from the secondary"  # 503: fails over
        gone = look.get(HOST, "/gone.html")  # 404 is not in the criteria: the primary's answer
        assert gone.status_code == 404 and gone.text == "primary has no such thing"


def test_the_edge_sees_a_change_at_once(small_twin):
    """The edge keeps what it read of the twin only until the proxy sees a change: a
    bucket policy removed, or a website configuration put, shows on the next request."""
    config = dist_config([s3_origin("site", "site"),
                          custom_origin("web", f"pages.s3-website.{REGION}.amazonaws.com")],
                         behaviour("site"), [behaviour("web", "/docs/*")])
    buckets = SITE + """\
          - name: pages
            block_public_access: false
            objects: {docs/a.html: "page a", docs/b.html: "page b"}
            policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: "*",
                     Action: "s3:GetObject", Resource: "arn:aws:s3:::pages/*"}]}
            website: {IndexDocument: {Suffix: index.html}}
"""
    _, look = small_twin(world(config, buckets))
    assert look.get(HOST, "/app.js").status_code == 200
    assert look.get(HOST, "/docs/a.html").text == "page a"
    # no public ListBucket: S3's website answers a missing key 403, not 404
    missing = look.get(HOST, "/docs/none.html")
    assert missing.status_code == 403 and "AccessDenied" in missing.text
    s3 = look.client("s3", REGION)
    s3.delete_bucket_policy(Bucket="site")
    assert look.get(HOST, "/index.html").status_code == 403  # not cached yet: read again
    s3.put_bucket_website(Bucket="pages", WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "elsewhere.test", "Protocol": "https"}})
    moved = look.get(HOST, "/docs/b.html")
    assert moved.status_code == 301 and moved.headers["location"] == \
        "https://elsewhere.test/docs/b.html"


def test_a_custom_origin_is_a_loopback_server_or_a_folder(tmp_path: Path):
    from runbook.errors import PlanError
    from runbook.sandbox.world import load_world

    path = tmp_path / "world.yaml"
    path.write_text("sandbox: 1\norigins:\n  - {domain: api.shop.test, url: "
                    "\"http://api.example.com\"}\n  - {domain: b.shop.test}\n")
    with pytest.raises(PlanError) as err:
        load_world(path)
    text = str(err.value)
    assert "origins.0.url" in text and "line 3" in text
    assert "either a `url` or a `folder`" in text
