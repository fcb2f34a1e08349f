"""CLI commands of the executor: plan, run, runs, resume, rollback, report, locks, unlock.

Every command that reads or writes run state takes ``--state LOCATION``: a folder or
``s3://bucket/prefix`` (``--state-dir`` is the older name of the same option). Without
it: the plan's ``state:`` (commands given a plan), then $RUNBOOK_STATE, then ``.runbook``.

Imported by cli/app.py at start-up: only typer and the standard library at the top.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runbook.cli.app import EnvOpt, PlanArg, RunArg, VarOpt, app, guarded, parse_vars

if TYPE_CHECKING:
    from runbook.engine.runs import Session
    from runbook.store import Store

StateOpt = Annotated[str | None, typer.Option(
    "--state", "--state-dir", metavar="LOCATION", help="where runs and locks are kept: a folder or "
    "s3://bucket/prefix (default: the plan's `state:`, else $RUNBOOK_STATE, else .runbook)")]

StaleOpt = Annotated[str, typer.Option(
    metavar="DURATION",
    help="a lock whose run has shown no sign of life this long is probably stale")]


def _store(state: str | None, plan: Any = None, plan_path: Path | None = None) -> Store:
    from runbook.cli.render import error_console
    from runbook.store import open_store

    plan_state = getattr(plan, "state", None)
    plan_dir = plan_path.resolve().parent if plan_path is not None else None
    if state and plan_state and state != plan_state:
        error_console().print(
            f"warning: the plan keeps its state in {plan_state}; using {state} as --state "
            "says. Locks and rehearsals there are not seen by this run.", markup=False,
            highlight=False, soft_wrap=True)
    return open_store(state, plan_state=plan_state, plan_dir=plan_dir)


def _stale_after(text: str) -> float:
    from runbook.durations import parse_duration
    from runbook.errors import UsageError

    try:
        return parse_duration(text, maximum=None)  # not a plan's: longer than a week is fine
    except ValueError as exc:
        raise UsageError(f"--stale-after: {exc}") from None


def _session(state_dir: str | None, *, yes: bool, interactive: bool, plan: Any = None,
             plan_path: Path | None = None) -> Session:
    from runbook.cli.live import LiveView
    from runbook.cli.operator import BatchOperator, TerminalOperator
    from runbook.cli.provider import CliProvider
    from runbook.cli.render import stdout_console
    from runbook.engine.runs import Session

    view = LiveView(stdout_console())
    operator: Any = TerminalOperator() if interactive else BatchOperator(yes)
    return Session(store=_store(state_dir, plan, plan_path), operator=operator, display=view,
                   provider=CliProvider(), listener=view.event, progress=view.progress)


def _interactive() -> bool:
    from runbook.cli.operator import has_terminal

    return has_terminal() and not os.environ.get("RUNBOOK_NO_TTY")


@app.command("plan")
@guarded
def plan_cmd(plan: PlanArg, env: EnvOpt = None, var: VarOpt = None,
             format: Annotated[str, typer.Option(
                 "--format", "-f", metavar="FORMAT",
                 help="text, markdown (for a review) or json")] = "text",
             ) -> None:
    """Dry run: run the read-only checks, show each action's diff; change nothing."""
    from runbook.cli import planview
    from runbook.cli.operator import BatchOperator
    from runbook.cli.provider import CliProvider
    from runbook.engine.dryrun import dry_run
    from runbook.errors import UsageError
    from runbook.plan.loader import load

    if format not in planview.FORMATS:
        raise UsageError(f"--format {format!r}: choose text, markdown or json")
    loaded = load(plan, env=env, variables=parse_vars(var), require_env_vars=True)
    p = loaded.plan
    nobody = BatchOperator(False)
    ctx = CliProvider().wire(p, "dry-run", plan.resolve().parent, nobody, lambda _: None).ctx
    result = dry_run(p, ctx, nobody)
    planview.show(format, p, result, loaded.warnings, ctx.secrets)
    if not result.could_start:
        raise typer.Exit(1)


@app.command("run")
@guarded
def run_cmd(
    plan: PlanArg,
    env: EnvOpt = None,
    var: VarOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="answer gates yes (for CI)")] = False,
    digest: Annotated[str | None, typer.Option(
        metavar="DIGEST",
        help="refuse unless the resolved plan has this digest (from `runbook plan`)")] = None,
    step: Annotated[bool, typer.Option("--step", help="confirm before every step")] = False,
    start_at: Annotated[str | None, typer.Option(
        metavar="STEP", help="skip the steps before this one (recorded as skipped)")] = None,
    on_failure: Annotated[str | None, typer.Option(
        metavar="ask|rollback|stop",
        help="ask, rollback or stop (default: ask with a terminal, rollback with --yes)")] = None,
    confirm_env: Annotated[str | None, typer.Option(
        metavar="NAME",
        help="name of a protected environment, to run it without typing it")] = None,
    skip_rehearsal: Annotated[str | None, typer.Option(
        metavar="REASON",
        help="run without the required rehearsal; the reason is recorded in the journal "
        "and shown at the top of the report")] = None,
    state_dir: StateOpt = None,
) -> None:
    """The guided run: stage by stage, every change proved, undone when a check fails."""
    from runbook.cli.render import print_problems
    from runbook.engine.executor import RunOptions
    from runbook.engine.runs import check_digest, check_protected, check_rehearsal, start
    from runbook.errors import UsageError
    from runbook.plan.loader import load

    interactive = _interactive()
    if not interactive and not yes:
        raise UsageError("no terminal to ask at the gates, and no --yes: nothing was run. "
                         "Run it in a terminal, or give --yes to answer the gates yes")
    mode = on_failure or ("ask" if interactive and not yes else "rollback")
    if mode not in ("ask", "rollback", "stop"):
        raise UsageError(f"--on-failure {mode!r}: choose ask, rollback or stop")
    if mode == "ask" and not interactive:
        raise UsageError("--on-failure ask needs a terminal; use rollback or stop")
    loaded = load(plan, env=env, variables=parse_vars(var), require_env_vars=True)
    p = loaded.plan
    if start_at is not None and p.step(start_at) is None:
        from runbook.suggest import did_you_mean

        raise UsageError(f"--start-at {start_at}: the plan has no such step"
                         f"{did_you_mean(start_at, [s.id for s in p.steps()])}")
    if loaded.warnings:
        print_problems(loaded.warnings)
    session = _session(state_dir, yes=yes, interactive=interactive, plan=p, plan_path=plan)
    check_digest(p, digest)
    definition = loaded.definition
    rehearsal = check_rehearsal(p, session.store, definition, skip_rehearsal)
    confirmed = check_protected(p, session.operator, confirm_env)
    if interactive and yes:
        session.operator.assume_yes = True  # type: ignore[attr-defined]
    options = RunOptions(yes=yes, step_mode=step, start_at=start_at,
                         on_failure=mode)  # type: ignore[arg-type]
    run_id, outcome = start(session, p, definition=definition, options=options,
                            confirmed=confirmed, rehearsal=rehearsal,
                            plan_dir=plan.resolve().parent, argv=sys.argv[1:])
    typer.echo(f"journal: {session.store.url}/runs/{run_id}")
    raise typer.Exit(outcome.exit_code)


def _assumed(items: list[str] | None) -> dict[str, bool]:
    """``--assume STEP=ran|not-run``, repeatable: step id -> it ran."""
    from runbook.errors import UsageError

    out: dict[str, bool] = {}
    for item in items or []:
        step, sep, value = item.partition("=")
        if not sep or not step.strip() or value.strip() not in ("ran", "not-run"):
            raise UsageError(f"--assume {item!r}: write STEP=ran or STEP=not-run")
        out[step.strip()] = value.strip() == "ran"
    return out


def _continue(run_id: str, mode: str, state_dir: str | None, yes: bool,
              on_failure: str | None, assume: list[str] | None = None,
              reason: str | None = None) -> None:
    from runbook.engine.executor import RunOptions
    from runbook.engine.runs import continue_run
    from runbook.errors import UsageError

    interactive = _interactive()
    if not interactive and not yes:
        raise UsageError(f"no terminal to ask, and no --yes: the {mode} did not start")
    fmode = on_failure or ("ask" if interactive and not yes else "rollback")
    if fmode not in ("ask", "rollback", "stop"):
        raise UsageError(f"--on-failure {fmode!r}: choose ask, rollback or stop")
    assumed = _assumed(assume)
    session = _session(state_dir, yes=yes, interactive=interactive)
    from runbook.cli.ids import resolve_run

    run_id = resolve_run(session.store, run_id)
    options = RunOptions(yes=yes, on_failure=fmode)  # type: ignore[arg-type]
    outcome = continue_run(session, run_id, mode=mode, options=options, assume=assumed,
                           reason=reason)
    if not outcome.journaled:
        typer.echo(outcome.message)
    raise typer.Exit(outcome.exit_code)


YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="answer gates yes (for CI)")]
FailOpt = Annotated[str | None, typer.Option(metavar="ask|rollback|stop",
                                            help="what to do when a check fails")]
AssumeOpt = Annotated[list[str] | None, typer.Option(
    "--assume", metavar="STEP=ran|not-run",
    help="whether a step killed between its intent and its outcome ran, when its kind keeps "
    "no snapshot to tell (what a terminal asks as \"Did it run?\"); repeatable; needs "
    "--reason")]
ReasonOpt = Annotated[str | None, typer.Option(
    metavar="TEXT", help="what you saw that answers --assume (goes in the journal and the "
    "report, with who gave it)")]


@app.command()
@guarded
def resume(run_id: RunArg,
           yes: YesOpt = False, on_failure: FailOpt = None, assume: AssumeOpt = None,
           reason: ReasonOpt = None, state_dir: StateOpt = None) -> None:
    """Go on with a run that stopped or was killed, from its journal alone."""
    _continue(run_id, "resume", state_dir, yes, on_failure, assume, reason)


@app.command()
@guarded
def rollback(run_id: RunArg,
             yes: YesOpt = False, assume: AssumeOpt = None, reason: ReasonOpt = None,
             state_dir: StateOpt = None) -> None:
    """Undo every step a run applied, newest first, each proved against its snapshot."""
    _continue(run_id, "rollback", state_dir, yes, "stop", assume, reason)


def _format(value: str, allowed: tuple[str, ...]) -> str:
    from runbook.errors import UsageError

    if value not in allowed:
        raise UsageError(f"--format {value!r}: choose {', '.join(allowed[:-1])} or "
                         f"{allowed[-1]}")
    return value


@app.command()
@guarded
def runs(run: Annotated[str | None, typer.Argument(
             metavar="RUN", help="only this run: an id, a unique start of one, or `last`",
             show_default=False)] = None,
         env: EnvOpt = None, state_dir: StateOpt = None,
         format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                             help="text or json")] = "text") -> None:
    """List runs: when, who (local user and AWS principal), plan, environment, how long,
    outcome."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from runbook.cli.ids import resolve_run
    from runbook.cli.render import print_columns, stdout_console
    from runbook.cli.report import duration, seconds
    from runbook.engine.identity import short_principal
    from runbook.engine.interrupt import live_at_end, live_json, still_live
    from runbook.engine.journal import RunState, replay
    from runbook.errors import StateError
    from runbook.store import state_option

    _format(format, ("text", "json"))
    store = _store(state_dir)
    ids = [resolve_run(store, run)] if run else list(store.run_ids())

    def read(run_id: str) -> tuple[str, RunState | None, list[dict[str, Any]]]:
        try:
            events = store.events(run_id)
        except StateError:
            if run:
                raise
            return run_id, None, []
        return run_id, replay(events), events

    # Journals on S3 are many small objects: read several runs at once.
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(read, ids))
    listed = []
    for run_id, state, events in found:
        if state is None or not events:
            continue
        if env and state.started.get("env") != env:
            continue
        listed.append((run_id, state, events))
    listed.sort(key=lambda r: str(r[1].started.get("at", "")))  # in the order they started
    if format == "json":
        typer.echo(json.dumps([{
            "run_id": run_id, "started": state.started.get("at"),
            "operator": state.started.get("operator", {}), "plan": state.started.get("plan"),
            "env": state.started.get("env"), "digest": state.started.get("digest"),
            "seconds": seconds(events), "outcome": state.outcome,
            "exit_code": (state.finished or {}).get("exit_code"),
            "live": live_json(live_at_end(state))}
            for run_id, state, events in listed], indent=1, sort_keys=True))
        return
    con = stdout_console()
    if not listed:
        con.print(f"no runs in {store.url}" + (f" for {env}" if env else ""), markup=False)
        return
    rows, left = [], []
    for run_id, state, events in listed:
        s = state.started
        op = s.get("operator", {})
        live = live_at_end(state)
        if live:  # named under the table, with the two commands that end it
            left.append(f"run {run_id}: " + still_live(live, state_option(store) + run_id))
        rows.append([run_id, str(s.get("at", ""))[:19].replace("T", " "),
                     f"{op.get('user')}@{op.get('host')}", short_principal(op.get("aws")),
                     str(s.get("plan")), str(s.get("env")), duration(events),
                     state.outcome + (" (still live: see below)" if live else "")])
    print_columns(con, ["run", "started (UTC)", "operator", "AWS principal", "plan", "env",
                        "took", "outcome"], rows)
    for line in left:
        con.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
@guarded
def report(run_id: RunArg,
           format: Annotated[str, typer.Option(
               "--format", "-f", metavar="FORMAT",
               help="text, markdown, json, or csv (the failing redirects of its redirect "
               "maps); default: text on a terminal, else markdown")] = "",
           state_dir: StateOpt = None) -> None:
    """The run as a post-incident timeline: every event, change, check and decision."""
    from runbook.cli.ids import resolve_run
    from runbook.cli.report import as_csv, as_json, as_text, markdown

    fmt = _format(format or ("text" if sys.stdout.isatty() else "markdown"),
                  ("text", "markdown", "json", "csv"))
    store = _store(state_dir)
    run_id = resolve_run(store, run_id)
    events = store.events(run_id)
    if not events:
        from runbook.errors import StateError

        raise StateError(f"run {run_id} in {store.url} has no journal events: it stopped "
                         "before it started, and there is nothing to report")
    if fmt == "text":
        as_text(run_id, events)
        return
    if fmt == "csv":
        sys.stdout.write(as_csv(events))
        return
    sys.stdout.write(markdown(run_id, events) if fmt == "markdown"
                     else as_json(run_id, events) + "\n")


@app.command()
@guarded
def locks(lock: Annotated[str | None, typer.Argument(
              metavar="LOCK", help="only this lock: an id, a unique start of one, or `last`",
              show_default=False)] = None,
          state_dir: StateOpt = None, stale_after: StaleOpt = "15m",
          format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                              help="text or json")] = "text") -> None:
    """List held locks: plan and environment, holder, age, run, and which look stale."""
    import json

    from runbook.cli.ids import resolve_lock
    from runbook.cli.render import print_columns, stdout_console
    from runbook.store.locks import ago, inspect, lock_json

    _format(format, ("text", "json"))
    limit = _stale_after(stale_after)
    store = _store(state_dir)
    held = store.locks()
    if lock:
        from runbook.engine.runs import find_lock

        held = [find_lock(store, resolve_lock(store, lock, held))]
    views = [inspect(store, info, limit) for info in held]
    if format == "json":
        typer.echo(json.dumps([lock_json(v) for v in views], indent=1, sort_keys=True))
        return
    con = stdout_console()
    if not views:
        con.print(f"no locks held in {store.url}", markup=False)
        return
    print_columns(con, ["lock id", "plan@env", "holder", "since (UTC)", "age",
                        "last sign of life", "run", "state"],
                  [[v.info.lock_id, v.info.key,
                    f"{v.info.user}@{v.info.host} pid {v.info.pid}",
                    v.info.since[:19].replace("T", " "), ago(v.age), ago(v.quiet),
                    v.info.run_id, f"probably stale: {v.stale}" if v.stale else "alive"]
                   for v in views])
    if any(v.stale for v in views):
        from runbook.store import state_option

        con.print(f"clear a stale lock with `runbook unlock {state_option(store)}--lock-id "
                  "ID` (add --reason \"...\"; it goes in the run's journal)", markup=False)


@app.command()
@guarded
def unlock(
    plan: Annotated[Path | None, typer.Argument(
        metavar="PLAN",
        help="the plan (optional: the lock id alone finds the lock)", show_default=False)] = None,
    env: EnvOpt = None,
    lock_id: Annotated[str, typer.Option(
        metavar="ID", help="the lock id `runbook locks` shows (a unique start of it, or "
        "`last`)")] = "",
    reason: Annotated[str | None, typer.Option(
        metavar="TEXT", help="why the lock is broken (goes in the run's journal)")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="break a lock that does not look stale")] = False,
    stale_after: StaleOpt = "15m",
    state_dir: StateOpt = None,
) -> None:
    """Break a stale lock by its id, and record who broke it in the run's journal."""
    from runbook.engine.runs import break_lock, describe_lock, find_lock, lock_key
    from runbook.errors import UsageError
    from runbook.plan.loader import load

    key = None
    if plan is not None:
        p = load(plan, env=env).plan
        store = _store(state_dir, p, plan)
        key = lock_key(p.name, p.environment.name)
        holder = store.lock_holder(key)
        if holder is None:
            raise UsageError(f"plan {p.name} on {p.environment.name} is not locked")
        if not lock_id:
            raise UsageError(f"give --lock-id {holder.lock_id} to clear the lock held by "
                             f"{describe_lock(holder, store)}")
    else:
        store = _store(state_dir)
        if not lock_id:
            raise UsageError("give --lock-id ID: `runbook locks` lists the locks and ids")
    from runbook.cli.ids import resolve_lock

    info = find_lock(store, resolve_lock(store, lock_id), key)
    view, recorded = break_lock(store, info, reason=reason, force=force,
                                stale_after=_stale_after(stale_after))
    typer.echo(f"unlocked {info.key} (was {view.describe()}); {recorded}")

