"""Benchmarks of runs: rollback latency of the executor, and the sandbox.

    python bench/bench_runs.py            # prints a Markdown table for bench/README.md
    python bench/bench_runs.py --short    # the executor rows only (no sandbox)

1. Executor: a 10-step stage of shell actions (each writes a file; undo and state
   commands); the last step's post check fails once, with no polling. Measured: the time
   from the failing post check's journal event to the last verified rollback, and how
   much of it the proofs took (each restore read back: the step's `state` command re-run
   and compared with the snapshot taken before the change).
2. Sandbox: the twin's start time; the TSS plan on sandbox-stage, end to end; and the
   incident replay whose post check fails on the edge, from failure to verified rollback.
Timings are wall-clock on this machine, best and median of several runs.
"""

from __future__ import annotations

import itertools
import resource
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = 10


def _plan(folder: Path) -> Path:
    steps = []
    for n in range(STEPS):
        check = '"308"' if n == STEPS - 1 else "v2"
        steps.append(textwrap.dedent(f"""\
              - id: s{n}
                pre: [{{shell: {{run: [cat, f{n}.txt], contains: v1}}}}]
                action:
                  shell:
                    run: [sh, -c, "echo v2 > f{n}.txt"]
                    undo: [sh, -c, "echo v1 > f{n}.txt"]
                    state: [cat, f{n}.txt]
                post: [{{shell: {{run: [cat, f{n}.txt], contains: {check}}}}}]
        """))
        (folder / f"f{n}.txt").write_text("v1\n")
    path = folder / "plan.yaml"
    path.write_text("runbook: 1\nname: bench\nstages:\n  - name: ten\n    confirm: false\n"
                    "    steps:\n" + textwrap.indent("".join(steps), "    "))
    return path


def executor_rollback() -> dict[str, float]:
    from runbook.cli.operator import BatchOperator
    from runbook.context import RunContext
    from runbook.engine.executor import Executor, RunOptions
    from runbook.engine.journal import Journal
    from runbook.plan.loader import load
    from runbook.store.local import LocalStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plan = load(_plan(folder)).plan
        stamps: list[tuple[float, dict[str, Any]]] = []
        store = LocalStore(folder / "state")
        store.create_run("r")
        journal = Journal(store, "r", listener=lambda e: stamps.append((time.perf_counter(), e)))
        ctx = RunContext(plan_dir=folder, run_id="r")
        op = BatchOperator(True)
        outcome = Executor(plan, ctx, journal, op, RunOptions(on_failure="rollback")).run()
        assert outcome.exit_code == 1, outcome
        assert all((folder / f"f{n}.txt").read_text() == "v1\n" for n in range(STEPS))
    fail_at = next(t for t, e in stamps if e["type"] == "check" and not e["ok"])
    verified = [e for _, e in stamps if e["type"] == "rollback.verified"]
    assert len(verified) == STEPS and all(e["proof"] for e in verified)
    done_at = [t for t, e in stamps if e["type"] == "rollback.verified"][-1]
    proofs = 0.0
    for (t0, e0), (t1, e1) in itertools.pairwise(stamps):
        if e0["type"] == "rollback.restored" and e1["type"] == "rollback.verified":
            proofs += t1 - t0
    return {"total": done_at - fail_at, "checks": proofs}


def sandbox() -> dict[str, float]:
    from typer.testing import CliRunner

    from runbook.cli.app import app
    from runbook.sandbox import hook
    from runbook.sandbox.twin import Twin
    from runbook.sandbox.world import load_world

    world = (ROOT / "plans" / "sandbox" / "tss-before.yaml").resolve()
    t0 = time.perf_counter()
    twin = Twin.start(load_world(world))
    start = time.perf_counter() - t0
    hook._twins[world] = twin
    out: dict[str, float] = {"start": start, "moto": twin.timings["moto"]}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runner = CliRunner()
            t0 = time.perf_counter()
            r = runner.invoke(app, ["run", str(ROOT / "plans" / "tss-url-migration.yaml"),
                                    "--env", "sandbox-stage", "--yes", "--state-dir", tmp])
            out["tss"] = time.perf_counter() - t0
            assert r.exit_code == 0, r.output[-2000:]
            r = runner.invoke(app, ["run", str(ROOT / "plans" / "sandbox" /
                                               "incident-2-pipeline-deploy.yaml"),
                                    "--env", "sandbox", "--yes", "--state-dir", tmp])
            assert r.exit_code == 1, r.output[-2000:]
            from runbook.store.local import LocalStore

            store = LocalStore(tmp)
            run_id = sorted(store.run_ids())[-1]
            events = store.events(run_id)
            import datetime as dt

            def at(e: dict[str, Any]) -> float:
                return dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp()

            fail = next(e for e in events if e["type"] == "check" and not e["ok"])
            done = next(e for e in events if e["type"] == "rollback.verified")
            out["rollback"] = at(done) - at(fail)
    finally:
        hook._twins.pop(world, None)
        twin.stop()
    return out


def main() -> None:
    runs = [executor_rollback() for _ in range(7)]
    totals = sorted(r["total"] for r in runs)
    engine = [r["total"] - r["checks"] for r in runs]
    print("| measurement | best | median |")
    print("| --- | ---: | ---: |")
    proofs = sorted(r["checks"] for r in runs)
    print(f"| 10-step shell stage: failing post check -> all rolled back and verified | "
          f"{totals[0] * 1000:.0f} ms | {statistics.median(totals) * 1000:.0f} ms |")
    print(f"| ... of which the proofs (each restore read back against its snapshot) | "
          f"{proofs[0] * 1000:.0f} ms | {statistics.median(proofs) * 1000:.0f} ms |")
    print(f"| ... of which the engine (without the proofs' own time) | "
          f"{min(engine) * 1000:.0f} ms | {statistics.median(engine) * 1000:.0f} ms |")
    if "--short" in sys.argv[1:]:
        return
    boxes = [sandbox() for _ in range(3)]
    for key, label in (("start", "sandbox twin start (moto, proxy, DNS, resolver, edge, seeded)"),
                       ("moto", "... of which starting the moto server"),
                       ("tss", "TSS plan on sandbox-stage, end to end (twin time at 0.01)"),
                       ("rollback", "incident replay: failing post check (after its 10s of "
                                    "twin-time polling) -> verified rollback")):
        vals = sorted(b[key] for b in boxes)
        print(f"| {label} | {vals[0]:.2f} s | {statistics.median(vals):.2f} s |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
