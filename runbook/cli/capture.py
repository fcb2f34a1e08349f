"""``runbook sandbox capture`` and ``runbook sandbox diff``: a copy of a live environment
as a world file, and how two such copies differ where the plan cares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runbook.cli.app import EnvOpt, PlanArg, VarOpt, guarded, parse_vars, sandbox_app


@sandbox_app.command("capture")
@guarded
def capture_cmd(
    plan: PlanArg,
    env: EnvOpt = None,
    var: VarOpt = None,
    out: Annotated[Path, typer.Option("--output", "-o", help="the world file to write",
                                      show_default=False)] = Path("world.yaml"),
    force: Annotated[bool, typer.Option(help="replace the world file if it exists")] = False,
    body_cap: Annotated[int, typer.Option(
        help="copy whole only text objects of at most this many bytes")] = 64 * 1024,
    logs: Annotated[float, typer.Option(
        "--logs", min=0, max=168, help="copy the last HOURS of each distribution's access "
        "logs as its traffic (0: none)", metavar="HOURS")] = 0.0,
    logs_cap: Annotated[int, typer.Option(
        min=1, max=100_000, help="most distinct URLs copied per distribution")] = 1000,
) -> None:
    """Copy what the plan names in an environment (read-only) into a sandbox world file.

    Reads, with the environment's credentials, every distribution, bucket, hosted zone
    and certificate the plan's checks and actions name (Describe/Get/List/Head calls
    only: nothing in AWS changes), and writes a world file that keeps their real ids, so
    that an environment with `sandbox: <that file>` rehearses the plan against a copy.
    """
    from runbook.cli.provider import context_for
    from runbook.cli.render import stdout_console
    from runbook.errors import UsageError
    from runbook.plan.loader import load
    from runbook.sandbox.capture import capture, describe
    from runbook.sandbox.world import dump_world

    if out.exists() and not force:
        raise UsageError(f"{out} exists; nothing was captured. Give --force to replace it, "
                         "or another --output")
    p = load(plan, env=env, variables=parse_vars(var)).plan
    if p.environment.sandbox:
        raise UsageError(f"environment {p.environment.name} is a sandbox "
                         f"({p.environment.sandbox}): capture reads a real environment")
    ctx = context_for(p, "capture", None, lambda _: None, plan.resolve().parent)
    captured = capture(p, ctx, body_cap=body_cap, logs_hours=logs, logs_cap=logs_cap)
    dump_world(captured.world, out, header=(
        f"Captured from environment {p.environment.name} of plan {p.name} by "
        "`runbook sandbox capture`.\nObjects in `listing` without a body in `objects` are "
        "served by the twin with a synthesised body\nof the same size and type."))
    con = stdout_console()
    con.print(f"captured {p.environment.name} into {out}", markup=False)
    for line in describe(captured):
        con.print(f"  {line}", markup=False, highlight=False)


@sandbox_app.command("diff")
@guarded
def diff_cmd(
    world_a: Annotated[Path, typer.Argument(help="a world file (e.g. captured from stage)",
                                            show_default=False)],
    world_b: Annotated[Path, typer.Argument(help="another (e.g. captured from prod)",
                                            show_default=False)],
) -> None:
    """How two worlds differ where the plan cares (exit 1 when they differ).

    Resources are paired by the role the plan gives them when both worlds were captured
    from the same plan (the stage bucket with the prod bucket), otherwise by name.
    """
    from runbook.cli.render import stdout_console
    from runbook.sandbox.world import load_world
    from runbook.sandbox.worlddiff import differences

    a, b = load_world(world_a), load_world(world_b)
    names = tuple(w.captured.env if w.captured else str(path)
                  for w, path in ((a, world_a), (b, world_b)))
    if names[0] == names[1]:
        names = (str(world_a), str(world_b))
    found = differences(a, b, names=(names[0], names[1]))
    con = stdout_console()
    for w, path in ((a, world_a), (b, world_b)):
        origin = f"captured from {w.captured.env} at {w.captured.at}" if w.captured else \
            "written by hand"
        con.print(f"{path}: {origin}", markup=False, highlight=False)
    if not found:
        con.print("no differences that matter to the plan", markup=False)
        return
    con.print(f"{len(found)} difference(s):", markup=False)
    for line in found:
        con.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)
