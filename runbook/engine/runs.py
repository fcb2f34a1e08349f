"""Starting, resuming and rolling back runs: guards, locks, the journal, the executor.

The CLI calls these; they hold no terminal code. A run's folder in the store holds
``plan.json`` (the resolved plan: what resume and rollback execute) and the events.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets as _secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook.context import Operator
from runbook.durations import format_duration
from runbook.engine.executor import Display, Executor, Outcome, RunOptions
from runbook.engine.identity import Identity
from runbook.engine.journal import Journal, RunState, crash_point, replay
from runbook.engine.outcome import FINISHED, OK, SUCCEEDED, WITH_SKIPS, Answers
from runbook.engine.wiring import ContextProvider, Wired
from runbook.errors import (
    LockHeldError,
    NoSuchRunError,
    RefusedError,
    RunbookError,
    StateError,
    UsageError,
)
from runbook.plan.model import Plan
from runbook.source import Source
from runbook.store import LockInfo, Store, no_run, state_option
from runbook.store.locks import DEFAULT_STALE_AFTER, Heartbeat, LockView, inspect
from runbook.store.locks import process_gone as lock_is_stale


def new_run_id(plan: Plan) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{plan.name}-{plan.environment.name}-{_secrets.token_hex(2)}"


def lock_key(plan_name: str, env: str) -> str:
    return f"{plan_name}@{env}"


def describe_lock(info: LockInfo, store: Store | None = None,
                  stale_after: float = DEFAULT_STALE_AFTER) -> str:
    if store is None:
        return LockView(info, None, None, "its process is gone" if lock_is_stale(info)
                        else None).describe()
    return inspect(store, info, stale_after).describe()


def acquire(store: Store, plan: Plan, run_id: str, ident: Identity,
            takeover_run: str | None = None) -> tuple[LockInfo, LockView | None]:
    """Take the plan's lock: (our lock, the dead one taken over, if any).

    The lock names its run id and pid from the moment it is taken. A lock whose holder is
    provably gone (its process is dead on this host, or its lease ran out: no event and
    no heartbeat for longer than DEFAULT_STALE_AFTER, while a live run beats every minute)
    and whose run never wrote an event was left by a run killed while starting: it
    changed nothing, so the next run takes it over (and journals that) instead of waiting
    for a person to `unlock` a lock nobody can see in `runs`. So is the lock of a gone
    run whose journal says it finished (killed before it unlocked), and a resume or
    rollback takes back the lock of its own run.
    """
    key = lock_key(plan.name, plan.environment.name)
    info = LockInfo(_secrets.token_hex(6), key, run_id, ident.user, ident.host, ident.pid,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))
    holder = store.lock(info)
    if holder is None:
        return info, None
    own = takeover_run and holder.run_id == takeover_run  # resuming a killed run
    view = inspect(store, holder)
    if view.gone and (own or _ended(store, holder.run_id)):
        if store.unlock(key, holder.lock_id) and store.lock(info) is None:
            return info, (None if own else view)
        holder = store.lock_holder(key) or holder
        view = inspect(store, holder)
    raise LockHeldError(
        f"plan {plan.name} on {plan.environment.name} is locked by {view.describe()}. "
        + (f"If you are sure nobody is running it, clear it with `runbook unlock "
           f"{state_option(store)}--lock-id {holder.lock_id}`" if view.stale else
           "Wait for that run to finish, or stop it where it runs (Ctrl-C in its terminal "
           "offers to roll back what it applied; a soak or a hold ends there too); "
           "`runbook locks` shows every lock held. A run "
           "killed before its first event leaves a lock the next run takes over once its "
           f"holder shows no sign of life for {format_duration(DEFAULT_STALE_AFTER)}"))


def taken_over(store: Store, dead: LockView) -> dict[str, Any]:
    """The ``lock.taken_over`` event's fields: whose lock, and why it was free to take."""
    had = "had finished" if store.last_event(dead.info.run_id) else "never wrote an event"
    gone = dead.gone or "its holder is gone"
    if "no sign of life" in gone:
        gone = f"its lease ran out ({gone})"
    i = dead.info
    return {"lock_id": i.lock_id, "key": i.key, "run_id": i.run_id,
            "holder": {"user": i.user, "host": i.host, "pid": i.pid, "since": i.since},
            "reason": f"{gone} and its run {had}"}


def _ended(store: Store, run_id: str) -> bool:
    """The run never wrote an event, or its last one says it finished."""
    last = store.last_event(run_id)
    return last is None or last.get("type") == "run.finished"


def release_dead_lock(store: Store, plan: Plan, run_id: str) -> None:
    """A finished run killed before it unlocked: its lock goes (nothing is running)."""
    holder = store.lock_holder(lock_key(plan.name, plan.environment.name))
    if holder is not None and holder.run_id == run_id and inspect(store, holder).gone:
        store.unlock(holder.key, holder.lock_id)


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
    """The rehearsal run that allows this one, or None when none is needed.

    A rehearsal is a succeeded run of the same plan *definition* (the file and its library
    steps, the same in every environment) on the named environment, in the same store.
    """
    needed = plan.environment.requires_rehearsal
    if not needed:
        return None
    if skip_reason is not None:
        if not skip_reason.strip():
            raise UsageError("--skip-rehearsal needs a reason: it goes in the journal and "
                             "the report")
        return {"skipped": skip_reason.strip(), "required": needed, "definition": definition}
    latest: dict[str, Any] | None = None
    # Run ids carry the plan and environment: read only the journals that can match,
    # newest first.
    for run_id in sorted(store.run_ids(), reverse=True):
        if f"-{plan.name}-{needed}-" not in run_id:
            continue
        try:
            state = replay(store.events(run_id))
        except StateError:
            continue
        s = state.started
        if s.get("plan") != plan.name or s.get("env") != needed:
            continue
        found = {"run_id": run_id, "required": needed, "at": s.get("at"),
                 "outcome": state.outcome,
                 "definition": s.get("definition"), "operator": s.get("operator"),
                 "world": s.get("world")}
        # only "succeeded" rehearses: a run that skipped a step did not prove it
        if state.outcome == SUCCEEDED and s.get("definition") == definition:
            return found
        if latest is None:
            latest = found
    raise RefusedError(
        f"{plan.environment.name} requires a successful rehearsal on {needed} of this same "
        f"plan definition, {definition[:12]}, and the state store {store.url} holds none. "
        + _latest_rehearsal(latest, needed, definition)
        + f" Rehearse this version first (`runbook run {plan.file} --env {needed}`), or give "
        "--skip-rehearsal \"reason\" (the reason is recorded in the journal and the report)")


def _latest_rehearsal(latest: dict[str, Any] | None, needed: str, definition: str) -> str:
    if latest is None:
        return f"No run of this plan on {needed} was found there."
    op = latest.get("operator") or {}
    text = (f"The latest run on {needed} is {latest['run_id']}, started {latest['at']} by "
            f"{op.get('user', '?')}@{op.get('host', '?')}: {latest['outcome']}, of definition "
            f"{str(latest['definition'])[:12]}")
    if latest["definition"] != definition:
        return text + "; the plan (or a library step it uses) has changed since."
    if latest["outcome"] == WITH_SKIPS:
        return text + "; it skipped step(s), so it did not prove the plan."
    return text + "; it did not succeed."


# ---- runs ----------------------------------------------------------------------------------


@dataclass
class Session:
    store: Store
    operator: Operator
    display: Display
    provider: ContextProvider  # where the plan's environment lives (engine/wiring.py)
    listener: Callable[[dict[str, Any]], None] | None = None
    progress: Callable[[str], None] = lambda text: None

    def wire(self, plan: Plan, run_id: str, plan_dir: Path,
             continuing: str | None = None) -> Wired:
        """The run's context, from the provider the caller handed in."""
        return self.provider.wire(plan, run_id, plan_dir, self.operator, self.progress,
                                  continuing=continuing)


@contextmanager
def _holding(store: Store, lock: LockInfo, run_id: str) -> Iterator[None]:
    """Heartbeat while the run goes on; release the lock however it ends. A failing
    release must not hide the error that ended the run."""
    with Heartbeat(store, run_id):
        try:
            yield
        except BaseException:
            with suppress(RunbookError):
                store.unlock(lock.key, lock.lock_id)
            raise
    store.unlock(lock.key, lock.lock_id)


def start(session: Session, plan: Plan, *, definition: str, options: RunOptions,
          confirmed: str, rehearsal: dict[str, Any] | None, plan_dir: Path,
          argv: list[str] | None = None) -> tuple[str, Outcome]:
    ident = Identity.here()
    run_id = new_run_id(plan)
    # the context first: it checks the AWS account (aws.account), and AWS settings that do
    # not work are exit 2, before anything is locked, written or changed
    wired = session.wire(plan, run_id, plan_dir)
    ctx = wired.ctx
    lock, dead = acquire(session.store, plan, run_id, ident)
    crash_point("lock")
    with _holding(session.store, lock, run_id):
        session.store.create_run(run_id)
        session.store.put(run_id, "plan.json", json.dumps(
            {"plan": plan.canonical(), "file": plan.file, "digest": plan.digest,
             "definition": definition, "plan_dir": str(plan_dir)},
            indent=1, sort_keys=True).encode())
        journal = Journal(session.store, run_id, ctx.secrets, session.listener)
        journal.write("run.started", run_id=run_id, plan=plan.name, plan_file=plan.file,
                      env=plan.environment.name, digest=plan.digest, definition=definition,
                      operator=ident.to_json(wired.principal), state=session.store.url,
                      options=options.__dict__, confirmed=confirmed, rehearsal=rehearsal,
                      lock_id=lock.lock_id, argv=argv or [], title=plan.title,
                      stages=[s.name for s in plan.stages],
                      steps=[s.id for s in plan.steps()], world=wired.world,
                      time_scale=ctx.time_scale)
        if dead is not None:
            journal.write("lock.taken_over", **taken_over(session.store, dead))
        executor = Executor(plan, ctx, journal, session.operator, options, session.display,
                            RunState(run_id=run_id))
        outcome = executor.run()
    return run_id, outcome


def load_run(store: Store, run_id: str) -> tuple[Plan, dict[str, Any], list[dict[str, Any]]]:
    raw = store.get(run_id, "plan.json")
    if raw is None:
        raise NoSuchRunError(no_run(run_id, store.url))
    meta = json.loads(raw)
    plan = Plan.model_validate({**meta["plan"], "file": meta["file"],
                                "source": Source(meta["file"])})
    return plan, meta, store.events(run_id)


def check_assumed(plan: Plan, state: RunState, assume: Mapping[str, bool],
                  reason: str | None) -> str:
    """The reason for answers given ahead (``--assume``); UsageError when they do not fit
    this run: only a step interrupted between its intent and its outcome is in question."""
    if not assume:
        if reason is not None:
            raise UsageError("--reason goes with --assume STEP=ran|not-run: it says why you "
                             "know whether an interrupted step ran")
        return ""
    if reason is None or not reason.strip():
        raise UsageError("--assume needs --reason \"what you saw\": it goes in the journal "
                         "and the report, with who gave it")
    flight = state.in_flight
    for step_id in assume:
        if plan.step(step_id) is None:
            from runbook.suggest import did_you_mean

            raise UsageError(f"--assume {step_id}: the plan has no such step"
                             f"{did_you_mean(step_id, [s.id for s in plan.steps()])}")
        if flight is None or flight.step != step_id:
            now = (f"only step {flight.step} was interrupted between its intent and its "
                   "outcome" if flight is not None else
                   "no step was interrupted between its intent and its outcome")
            raise UsageError(f"--assume {step_id}: whether step {step_id} ran is not in "
                             f"question in run {state.run_id}: {now}")
    return reason.strip()


def continue_run(session: Session, run_id: str, *, mode: str,
                 options: RunOptions | None = None, assume: Mapping[str, bool] | None = None,
                 reason: str | None = None) -> Outcome:
    """``mode`` "resume" goes on from where the run stopped; "rollback" undoes it.
    ``assume``: whether interrupted steps ran, said ahead (``--assume``), with ``reason``."""
    plan, meta, events = load_run(session.store, run_id)
    state = replay(events)
    because = check_assumed(plan, state, assume or {}, reason)
    if mode == "resume" and state.finished and state.outcome in FINISHED:
        # nothing to do and nothing to look at: say so, write nothing
        release_dead_lock(session.store, plan, run_id)
        return Outcome(OK, state.outcome, f"run {run_id} already finished "
                                          f"({state.outcome}); nothing to resume",
                       journaled=False)
    undone = [a.step for a in state.applied.values() if a.restored]
    if mode == "resume" and undone:
        # going forward would count a restored step as done: finish the rollback instead
        raise StateError(
            f"run {run_id} was being rolled back: step(s) {', '.join(undone)} are restored "
            f"but not proved, and {len(state.applied)} step(s) are still recorded as "
            f"applied. Look at them, then go on with `runbook rollback "
            f"{state_option(session.store)}{run_id}`")
    if mode == "resume" and state.rolling_back is not None and state.applied:
        # a rollback began: going forward would apply again what it undid
        raise StateError(
            f"run {run_id} was being rolled back ({state.rolling_back}) and stopped with "
            f"step(s) {', '.join(state.applied)} still applied; resume would apply again "
            f"what the rollback undid. Look at them, then go on with `runbook rollback "
            f"{state_option(session.store)}{run_id}`")
    # what it ran against must still be there (a twin), and the AWS settings must work
    wired = session.wire(plan, run_id, Path(meta.get("plan_dir", ".")), continuing=mode)
    ctx = wired.ctx
    ident = Identity.here()
    lock, _ = acquire(session.store, plan, run_id, ident, takeover_run=run_id)
    with _holding(session.store, lock, run_id):
        journal = Journal(session.store, run_id, ctx.secrets, session.listener,
                          seq=state.last_seq)
        started_opts = dict(state.started.get("options") or {})
        opts = options or RunOptions(**{k: v for k, v in started_opts.items()
                                        if k in RunOptions.__dataclass_fields__})
        opts = RunOptions(yes=opts.yes, step_mode=opts.step_mode, start_at=None,
                          on_failure=opts.on_failure)
        why = f"rollback of run {run_id} asked for"
        journal.write("run.resumed", mode=mode, previous=state.outcome,
                      operator=ident.to_json(wired.principal),
                      lock_id=lock.lock_id, **({"why": why} if mode == "rollback" else {}))
        state.finished = None
        executor = Executor(plan, ctx, journal, session.operator, opts, session.display, state,
                            answers=Answers(dict(assume or {}), because, ident.to_json()))
        if mode == "resume":
            return executor.resume()
        return executor.rollback_run(why)


# ---- lock hygiene --------------------------------------------------------------------------


def find_lock(store: Store, lock_id: str, key: str | None = None) -> LockInfo:
    held = [h for h in ([store.lock_holder(key)] if key else store.locks()) if h is not None]
    for info in held:
        if info.lock_id == lock_id:
            return info
    if key and held:
        raise UsageError(f"--lock-id {lock_id} does not match the lock held by "
                         f"{describe_lock(held[0], store)}")
    ids = ", ".join(f"{h.lock_id} ({h.key})" for h in held) or "none"
    listing = f"runbook locks {state_option(store)}".rstrip()
    raise UsageError(f"no lock with id {lock_id} in {store.url}; locks held there: {ids} "
                     f"(`{listing}` lists them)")


def break_lock(store: Store, info: LockInfo, *, reason: str | None, force: bool,
               stale_after: float = DEFAULT_STALE_AFTER) -> tuple[LockView, str]:
    """Release another run's lock and say so in that run's journal. Returns the lock as
    it was and where the breaking was recorded."""
    view = inspect(store, info, stale_after)
    if view.stale is None and not force:
        raise RefusedError(
            f"the lock {info.lock_id} looks alive: {view.describe()}. Breaking it lets a "
            "second run start while that one may still change things. If you know its "
            "process is gone (another machine, a closed laptop), give --force as well")
    if not store.unlock(info.key, info.lock_id):
        raise StateError(f"the lock {info.key} changed while it was being broken; "
                         "`runbook locks` shows it now")
    ident = Identity.here()
    try:
        journal, _ = Journal.reopen(store, info.run_id)
        journal.write("lock.broken", lock_id=info.lock_id, key=info.key,
                      holder={"user": info.user, "host": info.host, "pid": info.pid,
                              "since": info.since},
                      by=ident.to_json(), reason=reason, probably_stale=view.stale)
    except StateError as exc:
        return view, f"not recorded in a journal: {exc}"
    return view, f"recorded in the journal of run {info.run_id}"
