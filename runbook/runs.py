"""Starting, resuming and rolling back runs: guards, locks, the journal, the executor.

The CLI calls these; they hold no terminal code. A run's folder in the store holds
``plan.json`` (the resolved plan: what resume and rollback execute) and the events.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets as _secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook.context import AwsSettings, NetworkSettings, Operator, RunContext
from runbook.errors import LockHeldError, RefusedError, StateError
from runbook.executor import Display, Executor, NullDisplay, Outcome, RunOptions
from runbook.journal import Journal, RunState, replay
from runbook.model import Plan
from runbook.store import LockInfo, Store


@dataclass(frozen=True)
class Identity:
    user: str
    host: str
    pid: int

    @classmethod
    def here(cls) -> Identity:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = os.environ.get("USER", "unknown")
        return cls(user, socket.gethostname(), os.getpid())


def new_run_id(plan: Plan) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{plan.name}-{plan.environment.name}-{_secrets.token_hex(2)}"


def lock_key(plan_name: str, env: str) -> str:
    return f"{plan_name}@{env}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_is_stale(info: LockInfo) -> bool:
    return info.host == socket.gethostname() and info.pid > 0 and not pid_alive(info.pid)


def describe_lock(info: LockInfo) -> str:
    text = (f"run {info.run_id} by {info.user} on {info.host} (pid {info.pid}) since "
            f"{info.since}, lock id {info.lock_id}")
    if lock_is_stale(info):
        text += "; its process is gone, so the lock is probably stale"
    return text


def acquire(store: Store, plan: Plan, run_id: str, ident: Identity,
            takeover_run: str | None = None) -> LockInfo:
    key = lock_key(plan.name, plan.environment.name)
    info = LockInfo(_secrets.token_hex(6), key, run_id, ident.user, ident.host, ident.pid,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    holder = store.lock(info)
    if holder is None:
        return info
    if takeover_run and holder.run_id == takeover_run and lock_is_stale(holder):
        # resuming a run that was killed: its own lock, left behind by its dead process
        store.unlock(key, holder.lock_id)
        if store.lock(info) is None:
            return info
    stale = lock_is_stale(holder)
    raise LockHeldError(
        f"plan {plan.name} on {plan.environment.name} is locked by {describe_lock(holder)}. "
        + (f"If you are sure nobody is running it, clear it with `runbook unlock "
           f"{plan.file} --env {plan.environment.name} --lock-id {holder.lock_id}`"
           if stale else "Wait for that run to finish"))


def context_for(plan: Plan, run_id: str, operator: Operator | None,
                progress: Callable[[str], None], plan_dir: Path) -> RunContext:
    env = plan.environment
    return RunContext(
        environment=env.name, run_id=run_id, plan_dir=plan_dir,
        aws=AwsSettings(profile=env.aws.profile, region=env.aws.region,
                        endpoint_url=env.aws.endpoint_url),
        network=NetworkSettings(resolvers=env.resolvers), operator=operator, progress=progress,
    )


# ---- guards --------------------------------------------------------------------------------


def check_digest(plan: Plan, digest: str | None) -> None:
    if digest and not plan.digest.startswith(digest.lower()):
        raise RefusedError(
            f"the plan's digest is {plan.digest}, not {digest}: the plan (or a variable, or "
            "a library step it uses) changed since it was reviewed. Review it again with "
            f"`runbook plan {plan.file} --env {plan.environment.name}`")


def check_protected(plan: Plan, operator: Operator, confirm_env: str | None) -> str:
    """How the protected environment was confirmed; RefusedError if it was not."""
    env = plan.environment.name
    if not plan.environment.protected:
        return "not protected"
    if confirm_env is not None:
        if confirm_env != env:
            raise RefusedError(f"--confirm-env {confirm_env} does not name this run's "
                               f"environment {env}")
        return "--confirm-env"
    if operator.interactive:
        if operator.type_to_confirm(f"{env} is protected. Type its name to start:", env):
            return "typed"
        raise RefusedError(f"the environment name was not typed as {env!r}; nothing was run")
    raise RefusedError(f"{env} is a protected environment: --yes alone is not enough; add "
                       f"--confirm-env {env} to run it without a terminal")


def check_rehearsal(plan: Plan, store: Store, definition: str,
                    skip_reason: str | None) -> dict[str, Any] | None:
    """The rehearsal run that allows this one, or None when none is needed/skipped."""
    needed = plan.environment.requires_rehearsal
    if not needed:
        return None
    if skip_reason is not None:
        return {"skipped": skip_reason}
    latest: dict[str, Any] | None = None
    for run_id in store.run_ids():
        try:
            state = replay(store.events(run_id))
        except StateError:
            continue
        s = state.started
        if s.get("plan") != plan.name or s.get("env") != needed:
            continue
        if state.outcome == "succeeded" and s.get("definition") == definition:
            return {"run_id": run_id, "at": s.get("at")}
        if latest is None or str(s.get("at")) > str(latest.get("at")):
            latest = {"run_id": run_id, "at": s.get("at"), "outcome": state.outcome,
                      "definition": s.get("definition")}
    found = (f"the latest rehearsal on {needed} is {latest['run_id']} ({latest['outcome']}, "
             f"plan definition {str(latest['definition'])[:12]})" if latest
             else f"no run of this plan on {needed} was found in the state store")
    raise RefusedError(
        f"{plan.environment.name} requires a successful rehearsal on {needed} of this same "
        f"plan (definition {definition[:12]}); {found}. Run it on {needed} first, or give "
        "--skip-rehearsal \"reason\" (recorded in the journal and report)")


# ---- runs ----------------------------------------------------------------------------------


@dataclass
class Session:
    store: Store
    operator: Operator
    display: Display
    listener: Callable[[dict[str, Any]], None] | None = None
    progress: Callable[[str], None] = lambda text: None
    # Rewires a run's context before it starts (the sandbox points AWS, DNS, HTTP and the
    # CA at its twin here); None: the environment's own settings.
    prepare: Callable[[Plan, RunContext], RunContext] | None = None

    def context(self, plan: Plan, run_id: str, plan_dir: Path) -> RunContext:
        ctx = context_for(plan, run_id, self.operator, self.progress, plan_dir)
        return self.prepare(plan, ctx) if self.prepare is not None else ctx


def start(session: Session, plan: Plan, *, definition: str, options: RunOptions,
          confirmed: str, rehearsal: dict[str, Any] | None, plan_dir: Path,
          argv: list[str] | None = None) -> tuple[str, Outcome]:
    ident = Identity.here()
    run_id = new_run_id(plan)
    lock = acquire(session.store, plan, run_id, ident)
    try:
        session.store.create_run(run_id)
        session.store.put(run_id, "plan.json", json.dumps(
            {"plan": plan.canonical(), "file": plan.file, "digest": plan.digest,
             "definition": definition, "plan_dir": str(plan_dir)},
            indent=1, sort_keys=True).encode())
        ctx = session.context(plan, run_id, plan_dir)
        journal = Journal(session.store, run_id, ctx.secrets, session.listener)
        journal.write("run.started", run_id=run_id, plan=plan.name, plan_file=plan.file,
                      env=plan.environment.name, digest=plan.digest, definition=definition,
                      operator={"user": ident.user, "host": ident.host, "pid": ident.pid},
                      options=options.__dict__, confirmed=confirmed, rehearsal=rehearsal,
                      lock_id=lock.lock_id, argv=argv or [], title=plan.title,
                      stages=[s.name for s in plan.stages],
                      steps=[s.id for s in plan.steps()])
        executor = Executor(plan, ctx, journal, session.operator, options, session.display,
                            RunState(run_id=run_id))
        outcome = executor.run()
    finally:
        session.store.unlock(lock.key, lock.lock_id)
    return run_id, outcome


def load_run(store: Store, run_id: str) -> tuple[Plan, dict[str, Any], list[dict[str, Any]]]:
    raw = store.get(run_id, "plan.json")
    if raw is None:
        raise StateError(f"no run {run_id!r} in {store.url}; `runbook runs` lists the runs")
    meta = json.loads(raw)
    plan = Plan.model_validate({**meta["plan"], "file": meta["file"],
                                "source": _journal_source(meta["file"])})
    return plan, meta, store.events(run_id)


def _journal_source(file: str) -> Any:
    from runbook.source import Source

    return Source(file)


def continue_run(session: Session, run_id: str, *, mode: str,
                 options: RunOptions | None = None) -> Outcome:
    """``mode`` "resume" goes on from where the run stopped; "rollback" undoes it."""
    plan, meta, events = load_run(session.store, run_id)
    state = replay(events)
    ident = Identity.here()
    lock = acquire(session.store, plan, run_id, ident, takeover_run=run_id)
    try:
        ctx = session.context(plan, run_id, Path(meta.get("plan_dir", ".")))
        journal = Journal(session.store, run_id, ctx.secrets, session.listener,
                          seq=state.last_seq)
        started_opts = dict(state.started.get("options") or {})
        opts = options or RunOptions(**{k: v for k, v in started_opts.items()
                                        if k in RunOptions.__dataclass_fields__})
        opts = RunOptions(yes=opts.yes, step_mode=opts.step_mode, start_at=None,
                          on_failure=opts.on_failure)
        if state.finished and mode == "resume" and state.outcome in ("succeeded", "rolled_back"):
            raise StateError(f"run {run_id} already ended ({state.outcome}); nothing to resume")
        journal.write("run.resumed", mode=mode, previous=state.outcome,
                      operator={"user": ident.user, "host": ident.host, "pid": ident.pid},
                      lock_id=lock.lock_id)
        state.finished = None
        executor = Executor(plan, ctx, journal, session.operator, opts, session.display, state)
        if mode == "resume":
            return executor.resume()
        if not state.applied:
            return executor._finish(Outcome(1, "rolled_back", "nothing was applied; nothing to "
                                            "roll back"))
        return executor._finish(executor.rollback(f"rollback of run {run_id} asked for"))
    finally:
        session.store.unlock(lock.key, lock.lock_id)


