"""Speed and memory of http.replay (issue 22): parsing CloudFront access logs, and asking
many distinct URLs of a server 20 ms away.

    python bench/bench_replay.py parse [--lines 1000000]
    python bench/bench_replay.py replay [--urls 100000] [--concurrency 200] [--uvloop]

``parse`` writes a gzip log of ``--lines`` lines (100,000 distinct URLs, the documented
legacy fields) and tallies it as http.replay does, in a child process of its own: lines a
second, and the child's peak RSS beside that of a child that only imports the modules.
``replay`` starts nginx on loopback answering every path with 200 after 20 ms (the echo
module's ``echo_sleep``), asks ``--urls`` distinct URLs through the replay's own engine
(replayrun._ask_all over the wire client) at ``--concurrency``, and compares the rate
with the ceiling concurrency / 20 ms; wrk runs against the same server for comparison.
``--uvloop`` runs the same client on uvloop's event loop (when installed). Print the
machine's load (uptime) beside every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DELAY = 0.020
ECHO = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def make_log(path: Path, lines: int, distinct: int = 100_000) -> None:
    from runbook.sandbox.edgelog import HEADER

    rng = random.Random(7)
    stamp = time.strftime("%Y-%m-%d\t%H:%M:%S", time.gmtime(time.time() - 600))
    rest = ("\tLHR62-C1\t512\t192.0.2.1\tGET\td1.cloudfront.net\t{path}\t200\t-\t"
            "Mozilla/5.0%20(X11)\t{query}\t-\tHit\tid{n}==\twww.example.org\thttps\t100\t"
            "0.002\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t443\t0.001\t"
            "Hit\ttext/html\t512\t-\t-\n")
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        out.write(HEADER)
        for n in range(lines):
            page = int(rng.paretovariate(1.1)) % distinct if n % 2 else rng.randrange(distinct)
            out.write(stamp + rest.format(path=f"/docs/page/{page}",
                                          query="-" if page % 3 else f"v={page % 7}", n=n))


def child_parse(path: str) -> None:
    from runbook.kinds.wire.accesslog import Filter, Tally, tally_log, text_lines

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    cpu = time.process_time()
    tally = Tally()
    with open(path, "rb") as raw:
        tally_log(text_lines(raw, path), path, Filter(host="www.example.org",
                                                     since="2000-01-01 00:00:00"), tally)
    took = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{tally.lines} {tally.matched} {len(tally.counts)} {took:.3f} {before / 1024:.1f} "
          f"{peak / 1024:.1f} {cpu:.3f}")


def bench_parse(lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "E1BENCH.2026-12-07-04.abcd.gz"
        made = time.perf_counter()
        make_log(log, lines)
        print(f"wrote {lines:,} lines ({log.stat().st_size / 1e6:.1f} MB gzip) in "
              f"{time.perf_counter() - made:.1f}s")
        for _ in range(3):
            out = subprocess.run([sys.executable, __file__, "child-parse", str(log)],
                                 capture_output=True, text=True, check=True).stdout.split()
            n, _matched, distinct, took, before, peak, cpu = out
            print(f"parsed {int(n):,} lines ({int(distinct):,} distinct URLs) in {took}s "
                  f"wall, {cpu}s CPU: {int(n) / float(took):,.0f} lines/s wall, "
                  f"{int(n) / float(cpu):,.0f} lines/s of CPU; peak RSS {peak} MB "
                  f"(after imports {before} MB); load {load()}")


def nginx(folder: Path, port: int) -> subprocess.Popen[bytes]:
    conf = folder / "nginx.conf"
    (folder / "tmp").mkdir(exist_ok=True)
    conf.write_text(f"""
load_module {ECHO};
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
    server {{
        listen 127.0.0.1:{port};
        location / {{ echo_sleep {DELAY}; echo "ok"; }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"])
    time.sleep(0.5)
    return proc


def child_replay(port: str, urls: str, concurrency: str, use_uvloop: str) -> None:
    from runbook.context import RunContext
    from runbook.kinds.wire.client import run
    from runbook.kinds.wire.common import client_for
    from runbook.kinds.wire.replayopts import ReplayParams
    from runbook.kinds.wire.replayrun import _ask_all

    if use_uvloop == "1":
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    n, c = int(urls), int(concurrency)
    p = ReplayParams.model_validate({"csv": "x.csv", "concurrency": c, "hops": 0})
    items = [(f"http://127.0.0.1:{port}/docs/page/{i}", 1) for i in range(n)]
    ctx = RunContext()
    start = time.perf_counter()
    cpu = time.process_time()
    results = run(_ask_all(ctx, client_for(ctx, p, [items[0][0]]), items, p))
    took = time.perf_counter() - start
    cpu = time.process_time() - cpu
    bad = sum(1 for r in results if not r.ok)
    print(f"{n} {took:.3f} {bad} {cpu:.3f}")


def bench_replay(urls: int, concurrency: int, with_uvloop: bool) -> None:
    port = 18000 + os.getpid() % 1000
    ceiling = concurrency / DELAY
    with tempfile.TemporaryDirectory() as tmp:
        server = nginx(Path(tmp), port)
        try:
            modes = ["0", "1"] if with_uvloop else ["0"]
            for mode in modes:
                got = subprocess.run([sys.executable, __file__, "child-replay", str(port),
                                      str(urls), str(concurrency), mode],
                                     capture_output=True, text=True)
                if got.returncode:
                    print(f"the client failed (uvloop={mode}): {got.stderr[-800:]}")
                    continue
                out = got.stdout.split()
                n, took, bad, cpu = int(out[0]), float(out[1]), int(out[2]), float(out[3])
                rate = n / took
                print(f"runbook replay{' (uvloop)' if mode == '1' else ''}: {n:,} URLs at "
                      f"C={concurrency} in {took:.1f}s: {rate:,.0f} req/s = "
                      f"{rate / ceiling:.0%} of the ceiling {ceiling:,.0f}; {bad} failed; "
                      f"{cpu / n * 1e6:.0f} us of CPU a URL (one free core: "
                      f"{n / cpu:,.0f} URLs/s); load {load()}")
            wrk = shutil.which("wrk")
            if wrk:
                got = subprocess.run([wrk, "-t2", f"-c{concurrency}", "-d5s",
                                      f"http://127.0.0.1:{port}/docs/page/1"],
                                     capture_output=True, text=True).stdout
                line = next((x for x in got.splitlines() if "Requests/sec" in x), "")
                rate = float(line.split()[-1]) if line else 0.0
                print(f"wrk -t2 -c{concurrency} -d5s: {rate:,.0f} req/s = "
                      f"{rate / ceiling:.0%} of the ceiling; load {load()}")
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child-parse":
        child_parse(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "child-replay":
        child_replay(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["parse", "replay"])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--urls", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args()
    if args.what == "parse":
        bench_parse(args.lines)
    else:
        bench_replay(args.urls, args.concurrency, args.uvloop)


if __name__ == "__main__":
    main()
