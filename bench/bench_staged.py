"""Benchmarks of a staged change (``cloudfront.staged_update``) in the sandbox.

    python bench/bench_staged.py [--runs 3]      # prints a Markdown table for bench/README.md

1. End to end: a small world's distribution changed through a staging copy (header
   phase, 5%, 15%, promotion, clean-up), `runbook run` in its own process against a twin
   served by this one; wall time of the whole process.
2. Pull-back from a weighted phase: the 15% phase's check fails (it asks for text the
   staging configuration does not serve), then the step is restored in this process.
   Measured: from the failure to the policy disabled (every request the primary's again:
   the pull-back proper), and to the end of the clean-up (the policy detached and
   deleted, the staging copy disabled and deleted), which waits for deployments: twin
   time, scaled by the world's `timing.scale`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORLD = """\
sandbox: 1
timing: {scale: 0.01, deploy: 60, invalidation: 60}
certificates:
  - {ref: site, domains: [www.example.org]}
buckets:
  - name: site
    cache_control: no-cache
    objects:
      v1/index.html: "<title>Site</title> version one"
      v2/index.html: "<title>Site</title> version two"
    grant: [E1SITE]
distributions:
  - id: E1SITE
    aliases: [www.example.org]
    origin: {bucket: site, path: /v1}
    certificate: site
zones:
  - name: example.org
    records:
      - {name: www.example.org, type: A, alias: E1SITE}
"""

PLAN = """\
runbook: 1
name: bench-staged
environments:
  sandbox: {sandbox: {serve: "URL"}}
stages:
  - name: s
    steps:
      - id: switch
        action:
          cloudfront.staged_update:
            id: E1SITE
            origin: {path: /v2}
            grant_staging: true
            traffic:
              - header: true
                checks: [{http.get: {url: "https://www.example.org/", contains: version two}}]
              - weight: 5%
                checks: [{http.get: {url: "https://www.example.org/", contains: version two}}]
              - weight: 15%
                checks: [{http.get: {url: "https://www.example.org/", contains: LAST}}]
"""


def _twin(folder: Path) -> Any:
    from runbook.sandbox.twin import Twin
    from runbook.sandbox.world import load_world

    (folder / "world.yaml").write_text(WORLD)
    return Twin.start(load_world(folder / "world.yaml"))


def end_to_end() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        twin = _twin(folder)
        try:
            plan = folder / "plan.yaml"
            plan.write_text(PLAN.replace("URL", twin.proxy.url)
                            .replace("LAST", "version two"))
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "runbook", "run", str(plan), "--env",
                                   "sandbox", "--yes", "--state-dir", str(folder / "s")],
                                  capture_output=True, text=True, timeout=600)
            took = time.perf_counter() - t0
            assert done.returncode == 0, done.stdout + done.stderr
            return took
        finally:
            twin.stop()


def pull_back() -> tuple[float, float]:
    from ruamel.yaml import YAML

    from runbook.context import RunContext
    from runbook.errors import KindError
    from runbook.kinds import action
    from runbook.kinds.aws import cfdeploy

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        twin = _twin(folder)
        try:
            doc = YAML(typ="safe").load(PLAN.replace("LAST", "version three"))
            params = doc["stages"][0]["steps"][0]["action"]["cloudfront.staged_update"]
            cls: Any = action("cloudfront.staged_update")
            act = cls(cls.Params.model_validate(params))

            class Yes:
                interactive = False

                def confirm(self, question: str, *, default: bool = False) -> bool:
                    return True
            ctx = twin.wire(RunContext(operator=Yes(), run_id="bench"))  # type: ignore[arg-type]
            snapshot = act.snapshot(ctx)
            try:
                act.apply(ctx, snapshot)
                raise AssertionError("the 15% phase was to fail")
            except KindError:
                pass
            marks: dict[str, float] = {}
            disable = cfdeploy.disable_policy

            def timed(*a: Any) -> bool:
                out = disable(*a)
                marks["disabled"] = time.perf_counter()
                return out
            cfdeploy.disable_policy = timed  # type: ignore[assignment]
            t0 = time.perf_counter()
            act.restore(ctx, snapshot, {})
            t1 = time.perf_counter()
            cfdeploy.disable_policy = disable  # type: ignore[assignment]
            assert act.restored(ctx, snapshot, {}) is None
            return marks["disabled"] - t0, t1 - t0
        finally:
            twin.stop()


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    whole = [end_to_end() for _ in range(runs)]
    backs = [pull_back() for _ in range(runs)]
    print(f"| what | best (s) | median (s) | goal |\n| --- | ---: | ---: | --- |\n"
          f"| staged change end to end (header, 5%, 15%, promotion, clean-up), `runbook run` "
          f"process | {min(whole):.2f} | {statistics.median(whole):.2f} | <= 15 s |\n"
          f"| pull-back from the 15% phase: policy disabled | {min(b[0] for b in backs):.3f} "
          f"| {statistics.median(b[0] for b in backs):.3f} | <= 1 s |\n"
          f"| pull-back and clean-up (detach, delete policy, delete staging; deploy waits) | "
          f"{min(b[1] for b in backs):.2f} | {statistics.median(b[1] for b in backs):.2f} | |")


if __name__ == "__main__":
    main()
