"""Benchmark of prefix entries in cloudfront.redirects: the twin's ComputeUtilization
(TestFunction on the LIVE function, the handler's time in V8 as a share of 1 ms) for a
request the map answers exactly, one under a prefix, and a 30-segment path under a
catch-all, with the KeyValueStore reads each costs (counted by a copy of the function,
unpublished, that logs each ``kvs.get``: TestFunction returns its log lines).

    /work/venv/bin/python bench/bench_redirect_prefixes.py [--runs 20] [--write]

``--write`` replaces the "## Redirect map prefixes" section of bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORLD = HERE.parent / "plans" / "sandbox" / "docs-before.yaml"
OLD, NEW = "https://docs.example.test", "https://help.example.test"
DEEP = "/" + "/".join(f"d{i}" for i in range(30))


def event(uri: str) -> bytes:
    return json.dumps({"version": "1.0", "context": {"eventType": "viewer-request"},
                       "viewer": {"ip": "198.51.100.7"},
                       "request": {"method": "GET", "uri": uri, "querystring": {},
                                   "headers": {"host": {"value": "docs.example.test"}},
                                   "cookies": {}}}).encode()


def shares(cf: Any, name: str, uri: str, runs: int) -> tuple[int, int, float, str]:
    etag = cf.describe_function(Name=name, Stage="LIVE")["ETag"]
    got, out = [], ""
    for _ in range(runs):
        result = cf.test_function(Name=name, IfMatch=etag, Stage="LIVE",
                                  EventObject=event(uri))["TestResult"]
        got.append(int(result["ComputeUtilization"]))
        out = result["FunctionOutput"]
    return reads(cf, name, uri), min(got), statistics.median(got), out


def reads(cf: Any, name: str, uri: str) -> int:
    """The KeyValueStore reads of one request: a copy of the LIVE code that logs each."""
    live = cf.get_function(Name=name, Stage="LIVE")
    code = live["FunctionCode"].read().decode()
    counting = code.replace("    return await kvs.get(", "    console.log('kvs read');\n"
                            "    return await kvs.get(")
    assert counting != code, "the template's read is not where the bench looks for it"
    config = cf.describe_function(Name=name, Stage="LIVE")["FunctionSummary"][
        "FunctionConfig"]
    with contextlib.suppress(cf.exceptions.NoSuchFunctionExists):
        cf.delete_function(Name="count-reads", IfMatch=cf.describe_function(
            Name="count-reads")["ETag"])
    etag = cf.create_function(Name="count-reads", FunctionConfig=config,
                              FunctionCode=counting.encode())["ETag"]
    result = cf.test_function(Name="count-reads", IfMatch=etag, Stage="DEVELOPMENT",
                              EventObject=event(uri))["TestResult"]
    return sum(1 for line in result["FunctionExecutionLogs"] if "kvs read" in line)


def measure(runs: int) -> list[tuple[str, int, int, float]]:
    from runbook.context import RunContext
    from runbook.kinds.aws.redirects import Redirects
    from runbook.sandbox.twin import Twin
    from runbook.sandbox.world import load_world

    exact = {f"{OLD}/old/p{i}": f"{NEW}/new/p{i}" for i in range(1, 201)}
    mixed = {**exact, f"{OLD}/*": f"{NEW}/*", f"{OLD}/docs/*": f"{NEW}/help/*",
             f"{OLD}/docs/a/*": f"{NEW}/special"}
    rows: list[tuple[str, int, int, float]] = []
    with Twin.start(load_world(WORLD)) as twin:
        ctx = twin.wire(RunContext(plan_dir=HERE))
        cf = ctx.client("cloudfront")
        name = "runbook-redirects-E4DOCSEXAMPLE"

        def use(pairs: dict[str, str]) -> None:
            step = Redirects(Redirects.Params(id="E4DOCSEXAMPLE", map=pairs))
            step.apply(ctx, step.snapshot(ctx))

        use({**exact, f"{OLD}/*": f"{NEW}/*"})  # the TSS plan's shape: one catch-all
        for label, uri, want in [
            ("catch-all only: exact hit", "/old/p5", "/new/p5"),
            ("catch-all only: 30-segment path", DEEP, DEEP)]:
            count, low, mid, out = shares(cf, name, uri, runs)
            assert want in out, out
            rows.append((label, count, low, mid))
        use(mixed)  # prefixes at depths 2, 1 and 0
        for label, uri, want in [
            ("depths 2,1,0: exact hit", "/old/p5", "/new/p5"),
            ("depths 2,1,0: /docs/a/b/c (depth 2 hit)", "/docs/a/b/c", "/special"),
            ("depths 2,1,0: /docs/x/y (depth 1 hit)", "/docs/x/y", "/help/x/y"),
            ("depths 2,1,0: 30-segment path (depth 0 hit)", DEEP, DEEP),
            ("depths 2,1,0: /old/none (only /* covers it)", "/old/none", "/old/none")]:
            count, low, mid, out = shares(cf, name, uri, runs)
            assert want in out, out
            rows.append((label, count, low, mid))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rows = measure(args.runs)
    table = "\n".join(["| request | KeyValueStore reads | ComputeUtilization best | median |",
                       "| --- | ---: | ---: | ---: |"] +
                      [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:g} |" for r in rows])
    print(table)
    if args.write:
        readme = HERE / "README.md"
        text = readme.read_text()
        section = (f"## Redirect map prefixes\n\n`bench/bench_redirect_prefixes.py --runs "
                   f"{args.runs}`: TestFunction on the twin's LIVE redirect function (a "
                   "map of 200 exact entries plus prefixes), each request asked "
                   f"{args.runs} times. ComputeUtilization is the twin's (the handler's "
                   "time in V8 as a share of 1 ms, 1 to 100): indicative, not "
                   "CloudFront's figure. The reads are the function's KeyValueStore "
                   "`get`s, counted by an unpublished copy that logs each: the exact path, "
                   "its trailing-slash variant, the depths key, then one per depth that "
                   "holds a prefix, longest first, until one answers; they do not grow "
                   "with the path's depth.\n\n" + table + "\n\n"
                   "A ComputeUtilization of 1 is the twin's floor: in its V8 the reads of "
                   "a 30-segment path under a catch-all cost no more than an exact hit. "
                   f"Load average during the run: {os.getloadavg()[0]:.1f} on "
                   f"{os.cpu_count()} cores (a shared machine).\n")
        pattern = re.compile(r"## Redirect map prefixes\n.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(section, text) if pattern.search(text) else \
            text.rstrip("\n") + "\n\n" + section
        readme.write_text(text)


if __name__ == "__main__":
    main()
