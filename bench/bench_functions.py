"""Benchmark of CloudFront Functions at the sandbox edge: one viewer-request function's
run as the edge makes it (event built, V8 run, result read), and 1,000 HTTPS requests
through the edge with and without the function on the behaviour.

    /work/venv/bin/python bench/bench_functions.py [--requests 1000] [--repeat 3] [--write]

``--write`` replaces the "## CloudFront Functions at the edge" section of bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DIST, HOST = "E7BENCHEXAMPLE", "bench.example.test"
WORLD = f"""\
sandbox: 1
timing: {{scale: 0.01, deploy: 1}}
certificates: [{{ref: site, domains: [{HOST}]}}]
buckets:
  - name: bench-bucket
    objects: {{index.html: home, docs/index.html: docs}}
    grant: [{DIST}]
distributions:
  - id: {DIST}
    aliases: [{HOST}]
    origin: {{bucket: bench-bucket}}
    certificate: site
    default_root_object: index.html
"""
# what static sites commonly run: a directory index rewrite and a header from a cookie
CODE = """function handler(event) {
  var request = event.request;
  if (request.uri.endsWith('/')) { request.uri += 'index.html'; }
  else if (request.uri.indexOf('.') < 0) { request.uri += '/index.html'; }
  var lang = request.cookies.lang ? request.cookies.lang.value : 'en';
  request.headers['x-lang'] = { value: lang };
  return request;
}
"""


def associate(cf: Any, arn: str | None) -> None:
    got = cf.get_distribution_config(Id=DIST)
    config = got["DistributionConfig"]
    items = [{"FunctionARN": arn, "EventType": "viewer-request"}] if arn else []
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {
        "Quantity": len(items), **({"Items": items} if items else {})}
    cf.update_distribution(Id=DIST, IfMatch=got["ETag"], DistributionConfig=config)
    while cf.get_distribution(Id=DIST)["Distribution"]["Status"] != "Deployed":
        time.sleep(0.05)


def requests(twin: Any, n: int) -> float:
    import httpx

    ctx = ssl.create_default_context(cafile=twin.ca_path)
    url = f"https://127.0.0.1:{twin.edge.https.port}/docs/index.html"
    with httpx.Client(verify=ctx) as client:
        client.get(url, headers={"Host": HOST}, extensions={"sni_hostname": HOST})
        start = time.perf_counter()
        for _ in range(n):
            got = client.get(url, headers={"Host": HOST, "Cookie": "lang=fr"},
                             extensions={"sni_hostname": HOST})
            assert got.status_code == 200, got.text
        return time.perf_counter() - start


def one_round(n: int) -> dict[str, float]:
    import boto3

    from runbook.sandbox.edgeconfig import behaviour_for
    from runbook.sandbox.httpserver import Request
    from runbook.sandbox.twin import Twin
    from runbook.sandbox.world import load_world

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.yaml"
        path.write_text(WORLD)
        with Twin.start(load_world(path)) as twin:
            cf = boto3.client("cloudfront", endpoint_url=twin.proxy.url, region_name="us-east-1",
                              aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
            made = cf.create_function(Name="bench", FunctionCode=CODE.encode(), FunctionConfig={
                "Comment": "", "Runtime": "cloudfront-js-2.0"})
            cf.publish_function(Name="bench", IfMatch=made["ETag"])
            arn = made["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
            out["1,000 requests without a function (s)"] = requests(twin, n)
            associate(cf, arn)
            out["1,000 requests with the function (s)"] = requests(twin, n)
            dist = twin.edge.find(HOST)
            assert dist is not None
            behaviour = behaviour_for(dist.config, "/docs/")
            req = Request("GET", HOST, "/docs/?a=1", {"Host": HOST, "Cookie": "lang=fr"}, HOST)
            runs = []
            for _ in range(500):
                start = time.perf_counter()
                twin.edge.state.functions.viewer_request(dist, behaviour, req)
                runs.append(time.perf_counter() - start)
            out["one function run at the edge, median (ms)"] = statistics.median(runs) * 1000
            out["one function run at the edge, p95 (ms)"] = sorted(runs)[474] * 1000
    out["with / without"] = (out["1,000 requests with the function (s)"] /
                             out["1,000 requests without a function (s)"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rounds = [one_round(args.requests) for _ in range(args.repeat)]
    rows = ["| what | best | median | goal |", "| --- | ---: | ---: | --- |"]
    goals = {"one function run at the edge, median (ms)": "< 5 ms", "with / without": "<= 2"}
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        rows.append(f"| {key} | {min(values):.2f} | {statistics.median(values):.2f} | "
                    f"{goals.get(key, '')} |")
    table = "\n".join(rows)
    print(table)
    if args.write:
        readme = HERE / "README.md"
        text = readme.read_text()
        section = (
            "## CloudFront Functions at the edge\n\n"
            f"`bench/bench_functions.py --requests {args.requests} --repeat {args.repeat}` "
            f"(run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): a twin of one "
            "distribution whose default behaviour runs a typical viewer-request function "
            "(a directory-index rewrite and a header from a cookie, cloudfront-js-2.0). "
            "\"One function run\" is the edge's whole call: the event built from the "
            "request, the run in V8 (mini-racer), the result checked and read. The "
            "request rows are sequential HTTPS GETs over one keep-alive connection "
            "(httpx), answered from the edge's cache, so the function's share is as large "
            "as it gets. Best and median of the rounds.\n\n" + table + "\n\n"
            f"Load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
            "cores (a shared machine: figures are pessimistic).\n")
        pattern = re.compile(r"## CloudFront Functions at the edge\n.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(section, text) if pattern.search(text) else \
            text.rstrip("\n") + "\n\n" + section
        readme.write_text(text)


if __name__ == "__main__":
    main()
