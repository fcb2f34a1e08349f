"""CloudFront Functions at the twin's edge as CloudFront runs them: each test writes its
own function, creates and publishes it through the twin's API, associates it with the
distribution as a plan would, and asks the edge over HTTPS what a viewer would see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from runbook.context import RunContext
from runbook.kinds.aws.redirects import kvs_client
from runbook.sandbox.twin import Twin
from runbook.sandbox.world import load_world

from .conftest import Look, wait_for

pytestmark = pytest.mark.slow
DIST = "E7SITEEXAMPLE"
HOST = "site.example.test"
WORLD = f"""\
sandbox: 1
account: "123456789012"
region: eu-west-2
timing: {{scale: 0.01, deploy: 1, invalidation: 1}}
certificates:
  - ref: site
    domains: [{HOST}]
buckets:
  - name: site-bucket
    objects:
      index.html: "<p>home</p>"
      a.html: "<p>page a</p>"
      api/x.html: "<p>api x</p>"
    grant: [{DIST}]
  - name: other-bucket
    objects:
      a.html: "<p>other a</p>"
      b.html: "<p>other b</p>"
    grant: [{DIST}]
distributions:
  - id: {DIST}
    aliases: [{HOST}]
    origin: {{bucket: site-bucket}}
    certificate: site
    default_root_object: index.html
    default_ttl: 0
"""


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    path = tmp_path_factory.mktemp("world") / "world.yaml"
    path.write_text(WORLD)
    with Twin.start(load_world(path)) as made:
        yield made


@pytest.fixture(scope="module")
def look(twin: Twin) -> Look:
    return Look(twin)


@pytest.fixture(scope="module")
def cf(look: Look) -> Any:
    return look.client("cloudfront")


_names = iter(range(10_000))


def create(cf: Any, code: str, *, runtime: str = "cloudfront-js-2.0",
           kvs: str | None = None, publish: bool = True) -> tuple[str, str]:
    """(name, ARN) of a new function with ``code``, published unless told."""
    name = f"fn-{next(_names)}"
    config: dict[str, Any] = {"Comment": "test", "Runtime": runtime}
    if kvs:
        config["KeyValueStoreAssociations"] = {
            "Quantity": 1, "Items": [{"KeyValueStoreARN": kvs}]}
    made = cf.create_function(Name=name, FunctionConfig=config, FunctionCode=code.encode())
    if publish:
        cf.publish_function(Name=name, IfMatch=made["ETag"])
    return name, made["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]


def associate(cf: Any, request: str | None = None, response: str | None = None,
              *, api_pattern: bool = False) -> None:
    """The distribution's default behaviour runs these functions (and, with
    ``api_pattern``, a cache behaviour /api/* runs none); waits until it is deployed."""
    got = cf.get_distribution_config(Id=DIST)
    config = got["DistributionConfig"]
    items = [{"FunctionARN": arn, "EventType": event} for arn, event in
             ((request, "viewer-request"), (response, "viewer-response")) if arn]
    default = config["DefaultCacheBehavior"]
    default["FunctionAssociations"] = {"Quantity": len(items), **({"Items": items} if items
                                                                    else {})}
    if api_pattern:
        api = json.loads(json.dumps(default))
        api["PathPattern"] = "/api/*"
        api["FunctionAssociations"] = {"Quantity": 0}
        config["CacheBehaviors"] = {"Quantity": 1, "Items": [api]}
    else:
        config["CacheBehaviors"] = {"Quantity": 0}
    cf.update_distribution(Id=DIST, IfMatch=got["ETag"], DistributionConfig=config)
    assert wait_for(lambda: cf.get_distribution(Id=DIST)["Distribution"]["Status"] ==
                    "Deployed")


def echo(expression: str, *, event: str = "viewer-request") -> str:
    """A function answering with ``expression`` (JavaScript, of ``event``) as JSON."""
    if event == "viewer-request":
        return ("async function handler(event) {\n  return { statusCode: 200, headers: "
                "{ 'content-type': { value: 'application/json' } },\n"
                f"    body: JSON.stringify({expression}) }};\n}}\n")
    return ("async function handler(event) {\n  var r = event.response;\n"
            f"  r.headers['x-echo'] = {{ value: JSON.stringify({expression}) }};\n"
            "  return r;\n}\n")


def test_the_event_is_built_as_cloudfront_builds_it(cf: Any, look: Look) -> None:
    _, arn = create(cf, echo("event"))
    associate(cf, arn)
    import httpx

    port = look.twin.edge.https.port
    import ssl

    ctx = ssl.create_default_context(cafile=look.twin.ca_path)
    with httpx.Client(verify=ctx) as client:
        got = client.get(f"https://127.0.0.1:{port}/a/b.html?q=1&q=2&flag&e=caf%C3%A9",
                         headers=[("Host", HOST), ("X-Multi", "one"), ("X-Multi", "two"),
                                  ("Cookie", "s=1; t=2"), ("Cookie", "s=3")],
                         extensions={"sni_hostname": HOST})
    assert got.status_code == 200, got.text
    assert got.headers["x-cache"] == "FunctionGeneratedResponse from cloudfront"
    event = got.json()
    request = event["request"]
    assert request["method"] == "GET" and request["uri"] == "/a/b.html"
    assert request["querystring"] == {
        "q": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]},
        "flag": {"value": ""}, "e": {"value": "caf%C3%A9"}}
    assert request["headers"]["host"] == {"value": HOST}
    assert request["headers"]["x-multi"] == {
        "value": "one", "multiValue": [{"value": "one"}, {"value": "two"}]}
    assert "cookie" not in request["headers"]
    assert all(name == name.lower() for name in request["headers"])
    assert request["cookies"] == {
        "s": {"value": "1", "multiValue": [{"value": "1"}, {"value": "3"}]},
        "t": {"value": "2"}}
    assert event["viewer"] == {"ip": "127.0.0.1"}
    context = event["context"]
    assert context["distributionId"] == DIST and context["eventType"] == "viewer-request"
    assert context["distributionDomainName"].endswith(".cloudfront.net")
    assert len(context["requestId"]) > 20
    assert event["version"] == "1.0"


def _store(cf: Any, twin: Twin, tmp_path: Path, keys: dict[str, str]) -> tuple[str, str]:
    """(id, ARN) of a new KeyValueStore holding ``keys``."""
    made = cf.create_key_value_store(Name=f"kvs-{next(_names)}")["KeyValueStore"]
    data = kvs_client(twin.wire(RunContext(plan_dir=tmp_path)))
    etag = data.describe_key_value_store(KvsARN=made["ARN"])["ETag"]
    data.update_keys(KvsARN=made["ARN"], IfMatch=etag,
                     Puts=[{"Key": k, "Value": v} for k, v in keys.items()])
    return made["Id"], made["ARN"]


def test_kvs_without_an_id_reads_the_associated_store(cf: Any, look: Look,
                                                      tmp_path: Path) -> None:
    sid, arn = _store(cf, look.twin, tmp_path, {"/old": "/a.html", "cfg": '{"n": 3}'})
    code = """import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  var request = event.request;
  if (request.uri === '/meta') {
    var meta = await kvs.meta();
    var bytes = await cf.kvs('STORE').get('cfg', { format: 'bytes' });
    var cfg = await kvs.get('cfg', { format: 'json' });
    var missing = 'none';
    try { await kvs.get('nope'); } catch (e) { missing = 'rejected'; }
    return { statusCode: 200, body: JSON.stringify({ count: meta.keyCount,
      created: typeof meta.creationDateTime, n: cfg.n, bytes: bytes.length,
      exists: await kvs.exists('cfg'), missing: missing }) };
  }
  if (await kvs.exists(request.uri)) {
    request.uri = await kvs.get(request.uri);
  }
  return request;
}
""".replace("STORE", sid)
    _, fn = create(cf, code, kvs=arn)
    associate(cf, fn)
    assert look.get(HOST, "/old").text == "<p>page a</p>"  # rewritten by the store's key
    assert look.get(HOST, "/").text == "<p>home</p>"  # not in the store: untouched
    assert look.get(HOST, "/meta").json() == {
        "count": 2, "created": "string", "n": 3, "bytes": 8, "exists": True,
        "missing": "rejected"}


def test_a_2_0_request_may_carry_its_query_and_cookies_as_strings(cf: Any,
                                                                  look: Look) -> None:
    _, fn = create(cf, """function handler(event) {
  var request = event.request;
  request.uri = '/a.html';
  request.querystring = 'x=1&y=two';
  request.cookies = 'k=v';
  return request;
}""")
    # the viewer-response function sees the request as it was forwarded
    _, seen = create(cf, echo("[event.request.querystring, event.request.cookies]",
                              event="viewer-response"))
    associate(cf, fn, seen)
    got = look.get(HOST, "/anything")
    assert got.status_code == 200 and got.text == "<p>page a</p>"
    assert json.loads(got.headers["x-echo"]) == [
        {"x": {"value": "1"}, "y": {"value": "two"}}, {"k": {"value": "v"}}]


def test_a_viewer_response_function_takes_effect_per_cache_behaviour(cf: Any,
                                                                     look: Look) -> None:
    _, fn = create(cf, """async function handler(event) {
  var response = event.response;
  response.headers['strict-transport-security'] = { value: 'max-age=63072000' };
  response.headers['x-frame-options'] = { value: 'DENY' };
  response.headers['x-seen-status'] = { value: String(response.statusCode) };
  response.headers['x-many'] = { value: 'a', multiValue: [{ value: 'a' }, { value: 'b' }] };
  response.cookies['session'] = { value: 'one', attributes: 'Secure; Path=/',
    multiValue: [{ value: 'one', attributes: 'Secure; Path=/' }, { value: 'two' }] };
  response.statusDescription = 'Fine';
  return response;
}""")
    associate(cf, None, fn, api_pattern=True)
    got = look.get(HOST, "/a.html")
    assert got.status_code == 200 and got.text == "<p>page a</p>"  # the origin's body
    assert got.headers["strict-transport-security"] == "max-age=63072000"
    assert got.headers["x-frame-options"] == "DENY"
    assert got.headers["x-seen-status"] == "200"
    assert got.headers.get_list("x-many") == ["a", "b"]
    assert got.headers.get_list("set-cookie") == ["session=one; Secure; Path=/",
                                                  "session=two"]
    other = look.get(HOST, "/api/x.html")  # a cache behaviour without the function
    assert other.text == "<p>api x</p>" and "strict-transport-security" not in other.headers


def test_a_generated_response_with_a_base64_body_and_cookies(cf: Any, look: Look) -> None:
    _, fn = create(cf, """function handler(event) {
  return { statusCode: 302, statusDescription: 'Found',
    headers: { location: { value: 'https://elsewhere.example.test/' } },
    cookies: { seen: { value: '1', attributes: 'Max-Age=60' } },
    body: { encoding: 'base64', data: 'bW92ZWQ=' } };
}""")
    associate(cf, fn)
    got = look.get(HOST, "/x")
    assert got.status_code == 302 and got.text == "moved"
    assert got.headers["location"] == "https://elsewhere.example.test/"
    assert got.headers["set-cookie"] == "seen=1; Max-Age=60"


@pytest.mark.parametrize(("request_code", "response_code", "marker"), [
    ("function handler(event) { throw new Error('no'); }", None, "FunctionExecutionError"),
    ("function handler(event) { return 42; }", None, "FunctionValidationError"),
    (None, "function handler(event) { return event.request; }", "FunctionValidationError"),
    ("function handler(event) { while (true) {} }", None, "FunctionThrottledError"),
    ("async function handler(event) { await null; for (;;) {} }", None,
     "FunctionThrottledError"),
])
def test_a_failing_function_is_cloudfronts_503_with_its_marker(
        cf: Any, look: Look, request_code: str | None, response_code: str | None,
        marker: str) -> None:
    arns = [create(cf, code)[1] if code else None for code in (request_code, response_code)]
    associate(cf, *arns)
    got = look.get(HOST, "/a.html")
    assert got.status_code == 503
    assert got.headers["x-cache"] == f"{marker} from cloudfront"
    assert "503 ERROR" in got.text
    associate(cf)  # and the edge serves on afterwards
    assert look.get(HOST, "/a.html").text == "<p>page a</p>"


def test_a_1_0_request_must_carry_its_query_as_an_object(cf: Any, look: Look) -> None:
    code = """function handler(event) {
  event.request.querystring = 'x=1';
  return event.request;
}"""
    _, old = create(cf, code, runtime="cloudfront-js-1.0")
    associate(cf, old)
    got = look.get(HOST, "/a.html")
    assert got.status_code == 503
    assert got.headers["x-cache"] == "FunctionValidationError from cloudfront"
    _, new = create(cf, code)  # the same code on cloudfront-js-2.0
    associate(cf, new)
    assert look.get(HOST, "/a.html").text == "<p>page a</p>"
    associate(cf)


def test_documented_limits_are_refused_at_create_and_update(cf: Any) -> None:
    big = "function handler(event) { return event.request; }\n//" + "x" * 10_300
    with pytest.raises(botocore.exceptions.ClientError) as err:
        create(cf, big)
    assert err.value.response["Error"]["Code"] == "FunctionSizeLimitExceeded"
    name, _ = create(cf, "function handler(event) { return event.request; }", publish=False)
    etag = cf.describe_function(Name=name)["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_function(Name=name, IfMatch=etag, FunctionCode=big.encode(),
                           FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"})
    assert err.value.response["Error"]["Code"] == "FunctionSizeLimitExceeded"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        create(cf, "function handler(event) {")
    assert err.value.response["Error"]["Code"] == "InvalidArgument"


def test_refusals_as_cloudfronts(cf: Any, look: Look, tmp_path: Path) -> None:
    _, unpublished = create(cf, "function handler(e) { return e.request; }", publish=False)
    got = cf.get_distribution_config(Id=DIST)
    config = got["DistributionConfig"]
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": unpublished, "EventType": "viewer-request"}]}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id=DIST, IfMatch=got["ETag"], DistributionConfig=config)
    assert err.value.response["Error"]["Code"] == "InvalidFunctionAssociation"
    _, store = _store(cf, look.twin, tmp_path, {"k": "v"})
    with pytest.raises(botocore.exceptions.ClientError) as err:
        create(cf, "function handler(e) { return e.request; }", runtime="cloudfront-js-1.0",
               kvs=store)
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    _, fn = create(cf, "function handler(e) { return e.request; }")
    got = cf.get_distribution_config(Id=DIST)
    config = got["DistributionConfig"]
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": fn, "EventType": "origin-request"}]}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id=DIST, IfMatch=got["ETag"], DistributionConfig=config)
    assert err.value.response["Error"]["Code"] == "InvalidFunctionAssociation"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.create_function(Name="no spaces allowed", FunctionCode=b"function handler(e){}",
                           FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"})
    assert err.value.response["Error"]["Code"] == "InvalidArgument"


def test_origin_modification_helpers_are_honoured_by_the_edge(cf: Any, look: Look) -> None:
    got = cf.get_distribution_config(Id=DIST)
    config = got["DistributionConfig"]
    origins = config["Origins"]["Items"]
    domain = "other-bucket.s3.eu-west-2.amazonaws.com"
    _, fn = create(cf, """import cf from 'cloudfront';
function handler(event) {
  var h = event.request.headers;
  if (h['x-select']) { cf.selectRequestOriginById('other'); }
  if (h['x-update']) { cf.updateRequestOrigin({ domainName: 'DOMAIN' }); }
  if (h['x-group']) {
    cf.createRequestOriginGroup({ originIds: ['PRIMARY', 'other'],
                                  failoverCriteria: { statusCodes: [403, 404] } });
  }
  return event.request;
}""".replace("DOMAIN", domain).replace("PRIMARY", origins[0]["Id"]))
    other = json.loads(json.dumps(origins[0]))
    other["Id"], other["DomainName"] = "other", domain
    config["Origins"] = {"Quantity": 2, "Items": [origins[0], other]}
    # CachingDisabled: the same path answered from two origins
    config["DefaultCacheBehavior"]["CachePolicyId"] = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": fn, "EventType": "viewer-request"}]}
    cf.update_distribution(Id=DIST, IfMatch=got["ETag"], DistributionConfig=config)
    assert wait_for(lambda: cf.get_distribution(Id=DIST)["Distribution"]["Status"] ==
                    "Deployed")
    import ssl

    import httpx

    def get(path: str, **headers: str) -> str:
        ctx = ssl.create_default_context(cafile=look.twin.ca_path)
        with httpx.Client(verify=ctx) as client:
            return client.get(f"https://127.0.0.1:{look.twin.edge.https.port}{path}",
                              headers={"Host": HOST, **headers},
                              extensions={"sni_hostname": HOST}).text

    assert get("/a.html") == "<p>page a</p>"
    assert get("/a.html", **{"X-Select": "1"}) == "<p>other a</p>"
    assert get("/a.html", **{"X-Update": "1"}) == "<p>other a</p>"
    assert get("/a.html", **{"X-Group": "1"}) == "<p>page a</p>"  # the primary answers
    assert get("/b.html", **{"X-Group": "1"}) == "<p>other b</p>"  # 403: failed over
    assert "AccessDenied" in get("/b.html")


def _test(cf: Any, name: str, event: dict[str, Any], stage: str = "DEVELOPMENT") -> Any:
    etag = cf.describe_function(Name=name, Stage=stage)["ETag"]
    return cf.test_function(Name=name, IfMatch=etag, Stage=stage,
                            EventObject=json.dumps(event).encode())["TestResult"]


CONSOLE_EVENT = {"version": "1.0", "context": {"eventType": "viewer-request"},
                 "viewer": {"ip": "198.51.100.7"},
                 "request": {"method": "GET", "uri": "/x", "querystring": {},
                             "headers": {"host": {"value": HOST}}, "cookies": {}}}


def test_test_function_runs_either_stage_with_cloudfronts_test_result(cf: Any) -> None:
    code = """function handler(event) {
  console.log('VERSION', event.request.uri, { ip: event.viewer.ip });
  event.request.uri = '/VERSION' + event.request.uri;
  return event.request;
}"""
    name, _ = create(cf, code.replace("VERSION", "v1"))
    etag = cf.describe_function(Name=name)["ETag"]
    cf.update_function(Name=name, IfMatch=etag, FunctionCode=code.replace("VERSION", "v2")
                       .encode(), FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"})
    dev = _test(cf, name, CONSOLE_EVENT)
    assert json.loads(dev["FunctionOutput"])["request"]["uri"] == "/v2/x"
    assert dev["FunctionExecutionLogs"] == ['v2 /x {"ip":"198.51.100.7"}']
    assert dev["FunctionSummary"]["Name"] == name
    assert dev["FunctionSummary"]["FunctionMetadata"]["Stage"] == "DEVELOPMENT"
    assert 0 < int(dev["ComputeUtilization"]) <= 100
    assert not dev.get("FunctionErrorMessage")
    live = _test(cf, name, CONSOLE_EVENT, stage="LIVE")
    assert json.loads(live["FunctionOutput"])["request"]["uri"] == "/v1/x"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.test_function(Name=name, IfMatch="WRONG", Stage="LIVE",
                         EventObject=json.dumps(CONSOLE_EVENT).encode())
    assert err.value.response["Error"]["Code"] == "InvalidIfMatchVersion"


def test_test_function_reports_errors_and_invalid_results(cf: Any) -> None:
    name, _ = create(cf, "function handler(e) { console.log('before'); throw new "
                     "RangeError('out of range'); }")
    got = _test(cf, name, CONSOLE_EVENT)
    assert got["FunctionErrorMessage"] == "RangeError: out of range"
    assert got["FunctionExecutionLogs"] == ["before"]
    assert not got.get("FunctionOutput")
    name, _ = create(cf, "function handler(e) { return e.request; }")
    response_event = {**CONSOLE_EVENT, "context": {"eventType": "viewer-response"},
                      "response": {"statusCode": 200, "headers": {}, "cookies": {}}}
    got = _test(cf, name, response_event)
    assert got["FunctionErrorMessage"].startswith("FunctionValidationError")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.test_function(Name=name, IfMatch=cf.describe_function(Name=name)["ETag"],
                         EventObject=b"{not json")
    assert err.value.response["Error"]["Code"] == "InvalidArgument"


def test_crypto_and_querystring_modules_as_documented(cf: Any) -> None:
    import base64
    import hashlib
    import hmac

    name, _ = create(cf, """import crypto from 'crypto';
import querystring from 'querystring';
function handler(event) {
  var text = event.request.uri, out = {};
  ['md5', 'sha1', 'sha256'].forEach(function (a) {
    out[a] = crypto.createHash(a).update(text).digest('hex');
    out[a + '-b64'] = crypto.createHash(a).update(text).digest('base64');
    out[a + '-hmac'] = crypto.createHmac(a, 'secret key').update(text).digest('hex');
  });
  out.parsed = querystring.parse('a=1&b=x%20y&a=2&c');
  out.made = querystring.stringify({ q: ['one two', 'é'], n: 5 });
  console.log(JSON.stringify(out));
  return event.request;
}""")
    for uri in ("/x", "/café/" + "long" * 40):
        event = json.loads(json.dumps(CONSOLE_EVENT))
        event["request"]["uri"] = uri
        out = json.loads(_test(cf, name, event)["FunctionExecutionLogs"][0])
        data = uri.encode()
        for a in ("md5", "sha1", "sha256"):
            assert out[a] == hashlib.new(a, data).hexdigest()
            assert out[f"{a}-b64"] == base64.b64encode(hashlib.new(a, data).digest()).decode()
            assert out[f"{a}-hmac"] == hmac.new(b"secret key", data, a).hexdigest()
        assert out["parsed"] == {"a": ["1", "2"], "b": "x y", "c": ""}
        assert out["made"] == "q=one%20two&q=%C3%A9&n=5"


def test_a_saved_twin_keeps_its_functions_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text("sandbox: 1\n")
    code = """import cf from 'cloudfront';
async function handler(event) {
  event.request.uri = await cf.kvs().get('where');
  return event.request;
}"""
    with Twin.start(load_world(path), state_dir=tmp_path / "state") as twin:
        cf = Look(twin).client("cloudfront")
        _, store = _store(cf, twin, tmp_path, {"where": "/kept.html"})
        name, _ = create(cf, code, kvs=store)
        live = _test(cf, name, CONSOLE_EVENT, stage="LIVE")
    with Twin.start(load_world(path), state_dir=tmp_path / "state") as again:
        cf = Look(again).client("cloudfront")
        got = _test(cf, name, CONSOLE_EVENT, stage="LIVE")
        assert got["FunctionOutput"] == live["FunctionOutput"]
        assert json.loads(got["FunctionOutput"])["request"]["uri"] == "/kept.html"
        assert cf.describe_function(Name=name, Stage="LIVE")["FunctionSummary"][
            "Status"] == "DEPLOYED"


def _jwt(payload: dict[str, Any], key: bytes) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


# A JWT check written for these tests: DECODE turns base64url text into a string
JWT_CHECK = """import crypto from 'crypto';
function handler(event) {
  var q = event.request.querystring.jwt, parts = q ? q.value.split('.') : [];
  var deny = { statusCode: 401, statusDescription: 'Unauthorized' };
  if (parts.length !== 3) { return deny; }
  var sig = crypto.createHmac('sha256', 'k3y').update(parts[0] + '.' + parts[1])
    .digest('base64url');
  if (sig !== parts[2]) { return deny; }
  var claims = JSON.parse(DECODE(parts[1]));
  console.log('user', claims.sub, typeof Buffer, typeof String.bytesFrom,
              typeof crypto.createHash('sha256').update('a').digest());
  console.log(new TypeError('shown as its message'));
  return event.request;
}"""


@pytest.mark.parametrize(("runtime", "decode", "kinds"), [
    ("cloudfront-js-2.0", "Buffer.from(DATA, 'base64url').toString('utf8')",
     "function undefined object"),
    ("cloudfront-js-1.0", "String.bytesFrom(DATA, 'base64url').fromUTF8()",
     "undefined function string")])
def test_a_jwt_check_with_each_runtimes_bytes(cf: Any, runtime: str, decode: str,
                                              kinds: str) -> None:
    code = JWT_CHECK.replace("DECODE(parts[1])", decode.replace("DATA", "parts[1]"))
    name, _ = create(cf, code, runtime=runtime, publish=False)
    event = json.loads(json.dumps(CONSOLE_EVENT))
    event["request"]["querystring"] = {"jwt": {"value": _jwt({"sub": "zoë"}, b"k3y")}}
    got = _test(cf, name, event)
    assert not got.get("FunctionErrorMessage"), got["FunctionErrorMessage"]
    assert json.loads(got["FunctionOutput"])["request"]["uri"] == "/x"
    assert got["FunctionExecutionLogs"] == [f"user zoë {kinds}",
                                            "TypeError: shown as its message"]
    event["request"]["querystring"] = {"jwt": {"value": _jwt({"sub": "x"}, b"wrong")}}
    assert json.loads(_test(cf, name, event)["FunctionOutput"])["response"][
        "statusCode"] == 401


def test_buffer_methods_as_documented(cf: Any) -> None:
    name, _ = create(cf, """function handler(event) {
  var a = Buffer.from('héllo'), b = Buffer.from('68c3a96c6c6f', 'hex');
  console.log(JSON.stringify([a.toString('hex'), a.toString('base64'), b.toString(),
    Buffer.byteLength('héllo'), a.equals(b), Buffer.compare(a, Buffer.from('z')),
    Buffer.isBuffer(a), Buffer.isBuffer('a'), Buffer.alloc(3).toString('hex'),
    Buffer.alloc(4, 'ab').toString(), Buffer.concat([a, Buffer.from('!')]).toString(),
    a.slice(0, 1).toString(), Buffer.from([104, 105]).toString(),
    Buffer.from('aGk=', 'base64').toString('base64url'), a.length]));
  return event.request;
}""", publish=False)
    got = json.loads(_test(cf, name, CONSOLE_EVENT)["FunctionExecutionLogs"][0])
    assert got == ["68c3a96c6c6f", "aMOpbGxv", "héllo", 6, True, -1, True, False, "000000",
                   "abab", "héllo!", "h", "hi", "aGk", 6]


def test_update_function_answers_the_etag_botocore_reads(cf: Any) -> None:
    name, _ = create(cf, "function handler(e) { return e.request; }", publish=False)
    etag = cf.describe_function(Name=name)["ETag"]
    updated = cf.update_function(Name=name, IfMatch=etag, FunctionCode=b"function handler"
                                 b"(e) { e.request.uri = '/u'; return e.request; }",
                                 FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"})
    assert updated["ETag"] and updated["ETag"] != etag
    cf.publish_function(Name=name, IfMatch=updated["ETag"])
    live = _test(cf, name, CONSOLE_EVENT, stage="LIVE")
    assert json.loads(live["FunctionOutput"])["request"]["uri"] == "/u"


def test_kvs_with_no_store_associated_throws_at_cf_kvs(cf: Any) -> None:
    top, _ = create(cf, "import cf from 'cloudfront';\nconst handle = cf.kvs();\n"
                    "async function handler(e) { return e.request; }", publish=False)
    got = _test(cf, top, CONSOLE_EVENT)
    assert got["FunctionErrorMessage"] == "Error: No KeyValueStore is associated with " \
                                          "this function"
    assert got["ComputeUtilization"] == "0"
    inside, _ = create(cf, """import cf from 'cloudfront';
async function handler(e) {
  var handle;
  try { handle = cf.kvs(); } catch (err) { console.log('at kvs(): ' + err.message); }
  return e.request;
}""", publish=False)
    got = _test(cf, inside, CONSOLE_EVENT)
    assert got["FunctionExecutionLogs"] == ["at kvs(): No KeyValueStore is associated with "
                                            "this function"]


def test_function_output_is_normalised_as_cloudfronts(cf: Any) -> None:
    name, _ = create(cf, """function handler(event) {
  var r = event.request;
  delete r.cookies;
  r.extra = 'dropped';
  r.headers['x-a'] = { value: '1', multivalue: [{ value: '2' }] };
  return r;
}""", publish=False)
    out = json.loads(_test(cf, name, CONSOLE_EVENT)["FunctionOutput"])["request"]
    assert out == {"method": "GET", "uri": "/x", "querystring": {}, "cookies": {},
                   "headers": {"host": {"value": HOST}, "x-a": {"value": "1"}}}
    made, _ = create(cf, "function handler(e) { return { statusCode: 302, junk: 1, headers:"
                     " { location: { value: '/y' } } }; }", publish=False)
    out = json.loads(_test(cf, made, CONSOLE_EVENT)["FunctionOutput"])["response"]
    assert out == {"statusCode": 302, "headers": {"location": {"value": "/y"}},
                   "cookies": {}}


def test_compute_utilization_is_a_share_of_the_budget(cf: Any) -> None:
    name, _ = create(cf, "function handler(e) { return e.request; }", publish=False)
    # a trivial function uses a small share (the least of three: a loaded machine may
    # pause one run); CloudFront's examples show single figures for such functions
    shares = [int(_test(cf, name, CONSOLE_EVENT)["ComputeUtilization"]) for _ in range(3)]
    assert 0 <= min(shares) < 100
    heavy, _ = create(cf, "import crypto from 'crypto';\nfunction handler(e) {\n"
                      "  for (var i = 0; i < 2000; i++) { crypto.createHash('sha256')"
                      ".update('x' + i).digest('hex'); }\n  return e.request;\n}",
                      publish=False)
    assert int(_test(cf, heavy, CONSOLE_EVENT)["ComputeUtilization"]) == 100
