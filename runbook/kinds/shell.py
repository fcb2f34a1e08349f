"""``shell``: run a command as a check or as an action.

A command is an argv list, or a string split like a shell would (``shlex``) and run
*without* a shell unless ``shell: true``. It runs in the plan's folder.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from runbook.context import RunContext
from runbook.durations import Duration
from runbook.errors import KindError, Terminated
from runbook.kinds import register
from runbook.kinds.base import Action, Change, Check, CheckResult, Diff, Outputs, Params, Snapshot

Command = str | list[str]


class _Common(Params):
    run: Command = Field(description="argv list, or a string split like a shell (no shell)")
    shell: bool = Field(False, description="run the string through /bin/sh")
    cwd: str | None = Field(None, description="working folder, relative to the plan's folder")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")
    timeout: Duration = Field(300.0, description="kill the command after this long")


class ShellCheckParams(_Common):
    exit_code: int = Field(0, description="the exit code that passes")
    contains: str | None = Field(None, description="text stdout must contain")
    absent: str | None = Field(None, description="text stdout must not contain")


class ShellActionParams(_Common):
    exit_code: int = Field(0, description="the exit code that means success")
    undo: Command | None = Field(None, description="command that restores the state (rollback)")
    state: Command | None = Field(
        None,
        description="read-only command whose output describes what the action changes: "
        "recorded as the snapshot, shown in the diff, compared for drift",
    )


def _argv(cmd: Command, shell: bool) -> list[str] | str:
    if shell:
        return cmd if isinstance(cmd, str) else shlex.join(cmd)
    if isinstance(cmd, str):
        return shlex.split(cmd)
    return list(cmd)


def _text(cmd: Command) -> str:
    return cmd if isinstance(cmd, str) else shlex.join(cmd)


def _endpoints(ctx: RunContext) -> dict[str, str]:
    """Where the environment's AWS and DNS are, for scripts: an environment with its own
    AWS endpoint (the sandbox twin, moto, LocalStack) must not have its scripts reach the
    real AWS. The sandbox also says where its DNS server, edge and CA are."""
    out: dict[str, str] = {}
    aws, net = ctx.aws, ctx.network
    if not aws.endpoint_url:
        return out
    out["AWS_ENDPOINT_URL"] = aws.endpoint_url
    if aws.region:
        out["AWS_DEFAULT_REGION"] = out["AWS_REGION"] = aws.region
    if aws.access_key_id and aws.secret_access_key:
        out["AWS_ACCESS_KEY_ID"] = aws.access_key_id
        out["AWS_SECRET_ACCESS_KEY"] = aws.secret_access_key
    if net.resolvers:
        out["RUNBOOK_RESOLVER"] = net.resolvers[0]
    if net.ca_bundle:
        out["RUNBOOK_CA_BUNDLE"] = net.ca_bundle
    for port, to in net.port_map.items():
        out[f"RUNBOOK_PORT_{port}"] = str(to)
    return out


def run_command(
    ctx: RunContext, cmd: Command, p: _Common
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; a command that cannot start or times out is a KindError."""
    cwd = ctx.plan_dir / p.cwd if p.cwd else ctx.plan_dir
    env = {**os.environ, **_endpoints(ctx), **p.env, "RUNBOOK_RUN_ID": ctx.run_id,
           "RUNBOOK_ENVIRONMENT": ctx.environment}
    try:
        # its own process group, so that stopping it stops what it started too (the
        # children of `sh -c`); no terminal input: a command that asks gets end-of-file
        # at once, not a prompt nobody sees (its output is captured)
        proc = subprocess.Popen(
            _argv(cmd, p.shell), shell=p.shell, cwd=cwd, env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            process_group=0)
    except FileNotFoundError as exc:
        raise KindError(f"cannot run {_text(cmd)!r}: {exc.strerror}: {exc.filename}") from exc
    except PermissionError as exc:
        raise KindError(f"cannot run {_text(cmd)!r}: permission denied") from exc
    except NotADirectoryError as exc:
        raise KindError(f"cannot run {_text(cmd)!r}: {cwd} is not a folder") from exc
    try:
        out, err = proc.communicate(timeout=p.timeout)
    except subprocess.TimeoutExpired as exc:
        _stop(proc, signal.SIGKILL)
        raise KindError(f"{_text(cmd)!r} did not finish within {p.timeout:g}s") from exc
    except BaseException as exc:
        # Ctrl-C or SIGTERM: the command's group is told the same, and killed if it has
        # not ended after GRACE: nothing it started goes on changing things once the run
        # says it stopped
        _stop(proc, signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT, GRACE)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


GRACE = 5.0  # seconds an interrupted command has to stop before it is killed


def _stop(proc: subprocess.Popen[str], sig: int, grace: float = 0.0) -> None:
    """Send ``sig`` to ``proc``'s process group; SIGKILL the group if ``proc`` has not
    ended within ``grace`` seconds. Never raises: it runs while an error goes up."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    if grace:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
    with contextlib.suppress(Exception):
        proc.communicate(timeout=grace or 1.0)


def _tail(text: str, limit: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


@register
class ShellCheck(Check[ShellCheckParams]):
    kind = "shell"
    Params = ShellCheckParams
    summary = "run a command; pass on its exit code and output"

    def describe(self) -> str:
        p = self.params
        text = f"`{_text(p.run)}` exits {p.exit_code}"
        if p.contains:
            text += f" and prints {p.contains!r}"
        if p.absent:
            text += f" and does not print {p.absent!r}"
        return text

    def run(self, ctx: RunContext) -> CheckResult:
        p = self.params
        done = run_command(ctx, p.run, p)
        seen: dict[str, Any] = {"exit_code": done.returncode, "stdout": _tail(done.stdout),
                                "stderr": _tail(done.stderr)}
        if done.returncode != p.exit_code:
            why = f"exited {done.returncode}, expected {p.exit_code}"
            if done.stderr.strip():
                why += f": {_tail(done.stderr, 200)}"
            return CheckResult.failed(why, **seen)
        if p.contains is not None and p.contains not in done.stdout:
            return CheckResult.failed(f"output does not contain {p.contains!r}", **seen)
        if p.absent is not None and p.absent in done.stdout:
            return CheckResult.failed(f"output contains {p.absent!r}", **seen)
        return CheckResult.passed(f"exited {done.returncode}" +
                                  (f", found {p.contains!r}" if p.contains else ""), **seen)


@register
class ShellAction(Action[ShellActionParams]):
    kind = "shell"
    Params = ShellActionParams
    summary = "run a command that changes something; `undo` restores, `state` shows it"
    outputs: ClassVar[dict[str, str]] = {
        "stdout": "what the command printed (stripped)",
        "exit_code": "the command's exit code",
    }

    @classmethod
    def auto_rollback_gap(cls, params: Mapping[str, Any]) -> str | None:
        if params.get("undo") is None:
            return "the shell action has no `undo` command, so nothing would be restored"
        return None

    def describe(self) -> str:
        return f"run `{_text(self.params.run)}`"

    def _state(self, ctx: RunContext) -> str | None:
        p = self.params
        if p.state is None:
            return None
        done = run_command(ctx, p.state, p)
        if done.returncode != 0:
            raise KindError(f"the state command `{_text(p.state)}` exited {done.returncode}: "
                            f"{_tail(done.stderr, 200)}")
        return done.stdout

    def snapshot(self, ctx: RunContext) -> Snapshot:
        return {"state": self._state(ctx)}

    def provable(self) -> bool:
        # Without `state` the snapshot is empty: nothing proves an undo or tells whether
        # an interrupted command ran.
        return self.params.state is not None

    def diff(self, ctx: RunContext, snapshot: Snapshot) -> Diff:
        changes = [Change("command", None, _text(self.params.run))]
        if self.params.state is not None:
            changes.append(Change("state", (snapshot.get("state") or "").strip(),
                                  "(what the command leaves)"))
            return Diff(tuple(changes), f"`{_text(self.params.state)}` shows the state")
        return Diff(tuple(changes), "runs a command: give it `state` to show what it changes")

    def apply(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        p = self.params
        done = run_command(ctx, p.run, p)
        if done.returncode != p.exit_code:
            raise KindError(f"`{_text(p.run)}` exited {done.returncode}, expected "
                            f"{p.exit_code}: {_tail(done.stderr or done.stdout, 300)}")
        return {"stdout": done.stdout.strip(), "exit_code": done.returncode,
                "state_after": self._state(ctx)}

    def recover(self, ctx: RunContext, snapshot: Snapshot) -> Outputs:
        # What the command printed is lost with the process that ran it; the state it
        # left is not, and the drift guard compares with it.
        return {"state_after": self._state(ctx)} if self.params.state is not None else {}

    def restore(self, ctx: RunContext, snapshot: Snapshot, applied: Outputs) -> None:
        p = self.params
        if p.undo is None:
            raise KindError(f"`{_text(p.run)}` has no `undo` command: there is nothing "
                            "runbook can run to restore it; give the step a rollback")
        done = run_command(ctx, p.undo, p)
        if done.returncode != 0:
            raise KindError(f"the undo command `{_text(p.undo)}` exited {done.returncode}: "
                            f"{_tail(done.stderr or done.stdout, 300)}")

    def drifted(self, ctx: RunContext, applied: Outputs) -> str | None:
        if self.params.state is None:
            return None
        now = self._state(ctx)
        if "state_after" not in applied:
            return None  # outputs recovered after a crash: the state left is unknown
        then = applied.get("state_after")
        if now != then:
            return f"`{_text(self.params.state)}` now prints {_tail(now or '', 80)!r}, " \
                   f"not {_tail(then or '', 80)!r} as this run left it"
        return None
