"""Capture copies what the edge needs: a "prod" (a twin: moto behind the twin's rules,
with its edge) whose distribution has a function reading a KeyValueStore, a custom
response headers policy and an SPA fallback is captured with the CLI; the copy's edge
answers the same URLs as prod's (status, Location, the policy's headers, body)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from runbook.context import RunContext
from runbook.kinds.aws.redirects import kvs_client
from runbook.sandbox.twin import Twin
from runbook.sandbox.world import load_world
from tests.sandbox.conftest import Look, wait_for
from tests.sandbox.test_capture import runbook

pytestmark = pytest.mark.slow

HOST = "www.shop.test"
PROD = """\
    sandbox: 1
    region: us-east-1
    timing: {deploy: 0, invalidation: 0}
    certificates:
      - {ref: shop, domains: ["*.shop.test"]}
    buckets:
      - name: shop-site
        grant: [E1PROD]
        objects: {index.html: "<title>the shop</title>", app.js: "console.log('shop')"}
    distributions:
      - id: E1PROD
        aliases: [www.shop.test]
        origin: {bucket: shop-site}
        certificate: shop
"""
CODE = """import cf from 'cloudfront';
const kvs = cf.kvs('%s');
async function handler(event) {
  var uri = event.request.uri;
  try {
    var to = await kvs.get(uri);
    return {statusCode: 301, statusDescription: 'Moved Permanently',
            headers: {location: {value: 'https://www.shop.test' + to}}};
  } catch (e) {
    return event.request;
  }
}
"""
PLAN = """\
    runbook: 1
    name: shop
    environments:
      prod:
        aws: {region: us-east-1, endpoint_url: "%s"}
    stages:
      - name: look
        checks:
          - cloudfront.distribution: {id: E1PROD}
"""
URLS = ["/", "/app.js", "/account/orders/7", "/old-sale", "/gone/", "/index.html"]


def _answers(twin: Twin) -> list[tuple[int, str | None, str | None, str | None, str]]:
    look = Look(twin)
    out = []
    for url in URLS:
        got = look.get(HOST, url)
        out.append((got.status_code, got.headers.get("location"),
                    got.headers.get("x-shop"), got.headers.get("x-frame-options"), got.text))
    return out


def _dress_prod(twin: Twin) -> None:
    """Through prod's API, as a team would: a store with keys, a function reading it, a
    response headers policy, and the distribution using them with an SPA fallback."""
    ctx = RunContext(aws=twin.aws)
    cf = ctx.client("cloudfront")
    store = cf.create_key_value_store(Name="routes")["KeyValueStore"]
    kvs = kvs_client(ctx)
    etag = kvs.describe_key_value_store(KvsARN=store["ARN"])["ETag"]
    kvs.update_keys(KvsARN=store["ARN"], IfMatch=etag, Puts=[
        {"Key": "/old-sale", "Value": "/sale"}, {"Key": "/gone/", "Value": "/"}])
    made = cf.create_function(Name="routes", FunctionConfig={
        "Comment": "redirects", "Runtime": "cloudfront-js-2.0",
        "KeyValueStoreAssociations": {"Quantity": 1, "Items": [
            {"KeyValueStoreARN": store["ARN"]}]}},
        FunctionCode=(CODE % store["Id"]).encode())
    cf.publish_function(Name="routes", IfMatch=made["ETag"])
    fn_arn = made["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    policy = cf.create_response_headers_policy(ResponseHeadersPolicyConfig={
        "Name": "shop", "CustomHeadersConfig": {"Quantity": 1, "Items": [
            {"Header": "X-Shop", "Value": "prod", "Override": True}]},
        "SecurityHeadersConfig": {"FrameOptions": {"Override": True,
                                                   "FrameOption": "DENY"}}})
    got = cf.get_distribution_config(Id="E1PROD")
    config: dict[str, Any] = got["DistributionConfig"]
    behaviour = config["DefaultCacheBehavior"]
    behaviour["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": fn_arn, "EventType": "viewer-request"}]}
    behaviour["ResponseHeadersPolicyId"] = policy["ResponseHeadersPolicy"]["Id"]
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [
        {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200",
         "ErrorCachingMinTTL": 10}]}
    cf.update_distribution(Id="E1PROD", IfMatch=got["ETag"], DistributionConfig=config)


def test_the_copy_of_prod_answers_as_prod(tmp_path: Path) -> None:
    (tmp_path / "prod.yaml").write_text(textwrap.dedent(PROD))
    with Twin.start(load_world(tmp_path / "prod.yaml")) as prod:
        _dress_prod(prod)
        assert wait_for(lambda: Look(prod).get(HOST, "/old-sale").status_code == 301)
        (tmp_path / "plan.yaml").write_text(textwrap.dedent(PLAN % prod.proxy.url))
        done = runbook(tmp_path, "sandbox", "capture", "plan.yaml", "--env", "prod",
                       "-o", "copy.yaml")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 function(s) (LIVE code), 1 KeyValueStore(s) (2 key(s); at most 1000 a " \
               "store), 1 custom policy(ies)" in done.stdout
        seen = _answers(prod)
    # what prod answers: the function's redirects, the fallback, the policy's headers
    assert [s[0] for s in seen] == [200, 200, 200, 301, 301, 200]
    assert seen[3][1] == "https://www.shop.test/sale" and seen[2][4] == "<title>the shop</title>"
    assert seen[0][2] == "prod" and seen[0][3] == "DENY"
    world = load_world(tmp_path / "copy.yaml")
    assert [f.name for f in world.functions] == ["routes"]
    assert world.key_value_stores[0].keys == {"/old-sale": "/sale", "/gone/": "/"}
    with Twin.start(world) as copy:
        assert _answers(copy) == seen
