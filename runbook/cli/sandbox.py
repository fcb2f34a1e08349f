"""CLI commands of the sandbox: ``runbook demo`` and ``runbook sandbox serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runbook.cli.app import app, guarded, sandbox_app

DEMO_PLAN = "tss-url-migration.yaml"


def shipped_plans() -> Path:
    """The example plans: inside the wheel (runbook/_plans) or the checkout's plans/."""
    here = Path(__file__).resolve().parent.parent  # the runbook package
    for candidate in (here / "_plans", here.parent / "plans"):
        if (candidate / DEMO_PLAN).is_file():
            return candidate
    from runbook.errors import UsageError

    raise UsageError("the example plans are not installed with this copy of runbook "
                     f"(looked in {here / '_plans'} and {here.parent / 'plans'})")


@sandbox_app.command("serve")
@guarded
def serve(
    world: Annotated[Path, typer.Argument(help="a sandbox world file (YAML)")],
    state: Annotated[Path | None, typer.Option(
        "--state", help="a folder the twin saves its AWS state to after every change and "
                        "continues from when started again (default: forget it on stop)")
    ] = None,
    port: Annotated[int, typer.Option(
        help="the port of its AWS API (0: any free one); plans name it in "
             "`sandbox: {serve: http://127.0.0.1:PORT}`")] = 0,
) -> None:
    """Run a twin in the foreground and print how to point plans, the AWS CLI, dig and curl
    at it. Runs against it (`sandbox: {serve: URL}`) can be resumed and rolled back."""
    import signal
    import threading

    from runbook.cli.render import stdout_console
    from runbook.sandbox.state import saved
    from runbook.sandbox.twin import Twin
    from runbook.sandbox.world import load_world

    loaded = load_world(world)
    again = state is not None and saved(state)
    twin = Twin.start(loaded, state_dir=state, port=port)
    con = stdout_console()
    how = f"continued from {state}" if again else f"seeded from {world}"

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill` stops it as Ctrl-C does: state saved, files kept

    # Ctrl-C or kill stop it cleanly from the moment it says so, not only once it waits
    signal.signal(signal.SIGTERM, _stop)
    try:
        con.print(f"sandbox twin {how} is up in {twin.timings['total']:.1f}s "
                  "(Ctrl-C stops it)\n", markup=False)
        if state is not None:
            con.print(f"its state is saved in {state} after every change\n", markup=False)
        con.print(twin.instructions(), markup=False, highlight=False)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        twin.stop()
        con.print("\nsandbox stopped" + (f" (state saved in {state})" if state else ""),
                  markup=False)


@app.command()
@guarded
def demo(
    yes: Annotated[bool, typer.Option("--yes", "-y",
                                      help="answer the gates yes (the default without a "
                                           "terminal)")] = False,
    state_dir: Annotated[str | None, typer.Option(
        "--state", "--state-dir",
        help="where the demo's runs are kept (default: where `runbook runs` looks: "
             "$RUNBOOK_STATE, else .runbook)")] = None,
) -> None:
    """Rehearse the TIS Self-Service migration on a local twin, then show its report.

    Starts a twin from plans/sandbox/tss-before.yaml (no AWS account needed), runs
    plans/tss-url-migration.yaml on its stage environment, then on its prod-like
    environment (protected, and it requires that rehearsal), and prints the prod run's
    timeline. Its runs stay where `runbook runs` and `runbook report` find them.
    """
    from runbook.cli.render import stdout_console
    from runbook.cli.run import _interactive, run_cmd
    from runbook.store import open_store, state_option

    plan = shipped_plans() / DEMO_PLAN
    store = open_store(state_dir)
    state = store.url
    terminal = _interactive()
    answer_yes = yes or not terminal
    con = stdout_console()
    con.print(f"[bold]runbook demo[/]: {plan.name} against a local twin (runs kept in "
              f"{state})")
    for env in ("sandbox-stage", "sandbox"):
        # The prod-like environment is protected: in a terminal the operator types its
        # name; without one the demo types it and says so (a real run needs the option).
        confirm = env if env == "sandbox" and not terminal else None
        con.print(f"\n[bold]>>> runbook run {plan.name} --env {env}"
                  f"{' --yes' if answer_yes else ''}"
                  f"{f' --confirm-env {confirm}' if confirm else ''}[/]")
        if confirm:
            con.print(f"{env} is protected: in a terminal you would type its name to start. "
                      f"There is no terminal, so the demo confirms it with --confirm-env "
                      f"{env} for you.", markup=False)
        try:
            run_cmd(plan=plan, env=env, var=None, yes=answer_yes, digest=None, step=False,
                    start_at=None, on_failure=None, confirm_env=confirm, skip_rehearsal=None,
                    state_dir=state)
        except typer.Exit as done:
            if done.exit_code != 0:
                con.print(f"\nthe {env} run did not succeed (exit {done.exit_code}); "
                          "its report:", markup=False)
                _report(state)
                raise typer.Exit(done.exit_code) from None
    con.print("\n[bold]>>> runbook report[/] (the prod-like run)\n")
    _report(state)
    where = state_option(store).strip()
    con.print(f"\nThe demo's runs are kept in {state}: `runbook runs{' ' + where if where else ''}`"
              f" lists them, and `runbook report{' ' + where if where else ''} RUN` prints one.",
              markup=False, highlight=False, soft_wrap=True)


def _report(state: str) -> None:
    """The timeline of the newest run in ``state``."""
    import sys

    from runbook.cli.report import as_text, markdown
    from runbook.store import open_store

    store = open_store(state)
    run_id = sorted(store.run_ids())[-1]
    if sys.stdout.isatty():  # readable lines on a terminal, as `runbook report` prints
        as_text(run_id, store.events(run_id))
    else:
        sys.stdout.write(markdown(run_id, store.events(run_id)))
