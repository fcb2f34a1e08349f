"""Response headers policies at the edge and through the API (which moto lacks: the twin
answers it), managed ones by their documented ids and custom ones."""

from __future__ import annotations

import ssl
from typing import Any

import botocore.exceptions
import httpx
import pytest

from tests.sandbox.conftest import Look, wait_for
from tests.sandbox.test_edge_config import HOST, SITE, behaviour, dist_config, s3_origin, world

pytestmark = pytest.mark.slow

SECURITY = "67f7725c-6f97-4210-82d7-5512b31e9d03"
SIMPLE_CORS = "60669652-455b-4ae9-85a4-c4c02393f86c"


def _update(cf: Any, change: Any) -> None:
    got = cf.get_distribution_config(Id="E1SHOP")
    config = got["DistributionConfig"]
    change(config)
    cf.update_distribution(Id="E1SHOP", IfMatch=got["ETag"], DistributionConfig=config)


def test_managed_policies_by_id(small_twin):
    config = dist_config([s3_origin("site", "site")],
                         behaviour("site", ResponseHeadersPolicyId=SECURITY),
                         [behaviour("site", "app.*", ResponseHeadersPolicyId=SIMPLE_CORS)])
    _, look = small_twin(world(config, SITE))
    page = look.get(HOST, "/index.html")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert page.headers["x-xss-protection"] == "1; mode=block"
    assert "access-control-allow-origin" not in page.headers
    # SimpleCORS answers a CORS request (one with Origin) only
    script = look.get(HOST, "/app.js")
    assert "access-control-allow-origin" not in script.headers
    assert "x-frame-options" not in script.headers
    ctx = ssl.create_default_context(cafile=look.twin.ca_path)
    with httpx.Client(verify=ctx) as client:
        cors = client.get(f"https://127.0.0.1:{look.twin.edge.https.port}/app.js",
                          headers={"Host": HOST, "Origin": "https://other.test"},
                          extensions={"sni_hostname": HOST})
    assert cors.headers["access-control-allow-origin"] == "*"


def test_custom_policy_through_the_api_reaches_the_edge(small_twin):
    config = dist_config([s3_origin("site", "site")], behaviour("site"))
    _, look = small_twin(world(config, SITE))
    cf = look.client("cloudfront")
    made = cf.create_response_headers_policy(ResponseHeadersPolicyConfig={
        "Name": "shop-headers", "Comment": "ours",
        "CustomHeadersConfig": {"Quantity": 1, "Items": [
            {"Header": "X-Shop", "Value": "v1", "Override": True}]},
        "RemoveHeadersConfig": {"Quantity": 1, "Items": [{"Header": "Via"}]},
        "SecurityHeadersConfig": {"ContentSecurityPolicy": {
            "Override": True, "ContentSecurityPolicy": "default-src 'self'"}}})
    policy_id = made["ResponseHeadersPolicy"]["Id"]
    etag = made["ETag"]
    got = cf.get_response_headers_policy(Id=policy_id)
    assert got["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Name"] == "shop-headers"
    listed = cf.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]
    assert [i["ResponseHeadersPolicy"]["Id"] for i in listed["Items"]] == [policy_id]
    managed = cf.list_response_headers_policies(Type="managed")["ResponseHeadersPolicyList"]
    assert SECURITY in [i["ResponseHeadersPolicy"]["Id"] for i in managed["Items"]]

    def associate(config: dict[str, Any]) -> None:
        config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = policy_id
    _update(cf, associate)
    assert wait_for(lambda: look.get(HOST, "/app.js?v=1").headers.get("x-shop") == "v1")
    page = look.get(HOST, "/app.js?v=2")
    assert page.headers["content-security-policy"] == "default-src 'self'"
    assert "via" not in page.headers
    # an update reaches the edge; a stale If-Match is refused
    config = got["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]
    config["CustomHeadersConfig"]["Items"][0]["Value"] = "v2"
    cf.update_response_headers_policy(Id=policy_id, IfMatch=etag,
                                      ResponseHeadersPolicyConfig=config)
    assert look.get(HOST, "/app.js?v=3").headers["x-shop"] == "v2"
    with pytest.raises(botocore.exceptions.ClientError) as stale:
        cf.update_response_headers_policy(Id=policy_id, IfMatch=etag,
                                          ResponseHeadersPolicyConfig=config)
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    # in use: not deleted
    etag = cf.get_response_headers_policy(Id=policy_id)["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as in_use:
        cf.delete_response_headers_policy(Id=policy_id, IfMatch=etag)
    assert in_use.value.response["Error"]["Code"] == "ResponseHeadersPolicyInUse"


def test_refusals_as_cloudfront(small_twin):
    config = dist_config([s3_origin("site", "site")], behaviour("site"))
    _, look = small_twin(world(config, SITE))
    cf = look.client("cloudfront")

    def unknown(config: dict[str, Any]) -> None:
        config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = "no-such-policy"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        _update(cf, unknown)
    assert err.value.response["Error"]["Code"] == "NoSuchResponseHeadersPolicy"

    def unknown_cache(config: dict[str, Any]) -> None:
        config["DefaultCacheBehavior"]["CachePolicyId"] = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        _update(cf, unknown_cache)
    assert err.value.response["Error"]["Code"] == "NoSuchCachePolicy"
    body = {"Name": "twice", "CustomHeadersConfig": {"Quantity": 1, "Items": [
        {"Header": "X-A", "Value": "1", "Override": False}]}}
    cf.create_response_headers_policy(ResponseHeadersPolicyConfig=body)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.create_response_headers_policy(ResponseHeadersPolicyConfig=body)
    assert err.value.response["Error"]["Code"] == "ResponseHeadersPolicyAlreadyExists"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.get_response_headers_policy(Id="nope")
    assert err.value.response["Error"]["Code"] == "NoSuchResponseHeadersPolicy"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.delete_response_headers_policy(Id=SECURITY, IfMatch="x")
    assert err.value.response["Error"]["Code"] == "IllegalDelete"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_response_headers_policy(Id=SECURITY, IfMatch="x",
                                          ResponseHeadersPolicyConfig=body)
    assert err.value.response["Error"]["Code"] == "IllegalUpdate"
    assert "A managed response headers policy cannot be updated" in str(err.value)


def test_a_saved_twin_keeps_its_policies(tmp_path):
    from runbook.sandbox.twin import Twin
    from runbook.sandbox.world import load_world

    path = tmp_path / "world.yaml"
    path.write_text("sandbox: 1\n")
    config = {"Name": "kept", "CustomHeadersConfig": {"Quantity": 1, "Items": [
        {"Header": "X-Kept", "Value": "yes", "Override": False}]}}
    with Twin.start(load_world(path), state_dir=tmp_path / "state") as twin:
        cf = Look(twin).client("cloudfront")
        made = cf.create_response_headers_policy(ResponseHeadersPolicyConfig=config)
        policy_id = made["ResponseHeadersPolicy"]["Id"]
    with Twin.start(load_world(path), state_dir=tmp_path / "state") as again:
        got = Look(again).client("cloudfront").get_response_headers_policy(Id=policy_id)
        assert got["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Name"] == "kept"
        assert got["ETag"] == made["ETag"]
