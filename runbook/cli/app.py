"""The typer CLI: parse options, call the engine, render, exit with the documented code.

Commands import what they need inside their bodies so that ``runbook --help`` does not
pay for boto3, httpx, dnspython or questionary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from runbook import __version__

app = typer.Typer(
    name="runbook",
    help="Guided, checked, reversible migration runbooks for S3, CloudFront, Route53 and DNS.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion, as typer documents
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# `runbook sandbox ...`: the twin's commands (cli/sandbox.py) and capture (cli/capture.py)
sandbox_app = typer.Typer(help="The local twin of S3, CloudFront and Route53.",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

F = TypeVar("F", bound=Callable[..., Any])

PlanArg = Annotated[Path, typer.Argument(metavar="PLAN", help="the plan file (YAML)",
                                         show_default=False)]


def _complete_env(ctx: typer.Context, args: list[str],
                  incomplete: str) -> list[tuple[str, str]]:
    from runbook.cli.complete import environments  # only while the shell asks

    return environments(ctx, args, incomplete)


def _complete_run(ctx: typer.Context, incomplete: str) -> list[str]:
    from runbook.cli.complete import run_ids

    return run_ids(ctx, incomplete)


EnvOpt = Annotated[str | None, typer.Option("--env", "-e", metavar="NAME",
                                            help="the environment to use",
                                            autocompletion=_complete_env)]
RunArg = Annotated[str, typer.Argument(
    metavar="RUN", help="a run id, a unique start of one, or `last` (see `runbook runs`)",
    autocompletion=_complete_run, show_default=False)]
VarOpt = Annotated[list[str] | None, typer.Option(
    "--var", metavar="NAME=VALUE",
    help="set a variable (wins over the plan's vars); repeatable")]


def _metavar_alone(self: Any, ctx: Any) -> str | None:
    """An argument with a metavar reads as README writes it (``PLAN``), not ``PLAN <path>``:
    typer adds the Python type to arguments even when a metavar is given."""
    return None if self.metavar else typer.core.TyperArgument.display_type(self, ctx)


def _usage_pieces(self: Any, ctx: Any) -> list[str]:
    """``PLAN`` and ``[NAME]`` in the usage line, as click and README write them (typer
    writes ``{PLAN}``): click's own hook for a parameter's part of the usage line."""
    name = str(self.display_name_raw) if self.required else f"[{self.display_name_raw}]"
    return [name + ("..." if self.nargs != 1 else "")]


typer.core.TyperArgument.display_type_rich = _metavar_alone  # type: ignore[method-assign]
typer.core.TyperArgument.get_usage_pieces = _usage_pieces  # type: ignore[method-assign]


def _fail(message: str, code: int = 2) -> None:
    from runbook.cli.render import error_console

    error_console().print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


# told to stop: a supervisor's SIGTERM; SIGHUP when the terminal or SSH session went away
STOPPING = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While a command runs, SIGTERM (or SIGHUP) interrupts it as Ctrl-C does, but asks
    nothing (``errors.Terminated``): a run journals it, leaves things as they are,
    releases its lock and says how to go on, instead of dying with its lock held."""
    from runbook.errors import Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    told: list[bool] = []

    def _stop(signum: int, _frame: Any) -> None:
        # once: a second signal must not break off the first one's journaling and unlock
        if not told:
            told.append(True)
            raise Terminated(signal.Signals(signum).name)

    # a signal the parent set to be ignored (nohup) stays ignored
    mine = [sig for sig in STOPPING if signal.getsignal(sig) is not signal.SIG_IGN]
    before = {sig: signal.signal(sig, _stop) for sig in mine}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def guarded(fn: F) -> F:
    """Turn runbook's errors into a paragraph on stderr and the documented exit code."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from runbook.cli.outlet import kept
        from runbook.errors import PlanError, RunbookError, Terminated

        try:
            with kept(), _sigterm_interrupts():
                return fn(*args, **kwargs)
        except PlanError as exc:
            from runbook.cli.render import print_problems

            print_problems(exc.problems)
            raise typer.Exit(exc.exit_code) from None
        except RunbookError as exc:
            _fail(f"error: {exc}", exc.exit_code)
        except Terminated as exc:
            _fail(exc.word, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        return None

    return wrapper  # type: ignore[return-value]


def parse_vars(items: list[str] | None) -> dict[str, str]:
    from runbook.errors import UsageError

    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {item!r} is not name=value")
        out[name.strip()] = value
    return out


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"runbook {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback,
                                          is_eager=True, help="print the version")] = False,
) -> None:
    """Guided, checked, reversible migration runbooks."""


@app.command()
@guarded
def validate(
    plans: Annotated[list[Path], typer.Argument(metavar="PLAN", help="plan files",
                                                show_default=False)],
    env: Annotated[list[str] | None, typer.Option(
        "--env", "-e", metavar="NAME",
        help="validate for this environment only; repeatable",
        autocompletion=_complete_env)] = None,
    strict: Annotated[bool, typer.Option(help="treat lint warnings as errors")] = False,
    var: VarOpt = None,
) -> None:
    """Check plans: structure, kinds and their parameters, templates, library steps."""
    from runbook.plan.loader import validate as run_validate

    variables = parse_vars(var)
    worst = 0
    for plan in plans:
        problems = run_validate(plan, envs=env, variables=variables)
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity == "warning"]
        if problems:  # rich is imported only when there is something to say
            from runbook.cli.render import print_problems

            print_problems(problems, strict=strict)
        if errors or (strict and warnings):
            worst = 2
        else:
            tail = f" ({len(warnings)} warning{'s' * (len(warnings) != 1)})" if warnings else ""
            typer.echo(f"{plan}: ok{tail}")
    if worst:
        raise typer.Exit(worst)


@app.command()
@guarded
def show(
    plan: PlanArg,
    env: EnvOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                        help="text, markdown or json")] = "text",
    var: VarOpt = None,
) -> None:
    """Print the resolved plan for one environment, and its digest."""
    from runbook.cli.render import show_plan
    from runbook.errors import UsageError
    from runbook.plan.loader import load

    if format not in ("text", "markdown", "json"):
        raise UsageError(f"--format {format!r}: choose text, markdown or json")
    loaded = load(plan, env=env, variables=parse_vars(var))
    show_plan(loaded.plan, format, loaded.warnings)


@app.command()
@guarded
def schema() -> None:
    """Print the JSON Schema of the plan format (for editors)."""
    import json

    from runbook.plan.schema import plan_schema

    typer.echo(json.dumps(plan_schema(), indent=2))


@app.command(name="kinds")
@guarded
def kinds_cmd(
    name: Annotated[str | None, typer.Argument(
        metavar="NAME", help="a kind or library step to describe", show_default=False)] = None,
) -> None:
    """List check and action kinds and library steps, or describe one."""
    from runbook.cli.render import show_kinds

    show_kinds(name, Path.cwd())


def main() -> None:
    """Console entry point."""
    if os.environ.get("RUNBOOK_DEBUG"):
        app()
        return
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # a bug of ours: say so in one paragraph, not a traceback
        sys.stderr.write(
            f"runbook hit an internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in runbook. Run again with RUNBOOK_DEBUG=1 for the traceback.\n")
        sys.exit(3)


def _register_more() -> None:
    """Commands of other modules (the executor, the sandbox) register themselves here."""
    import importlib

    for module in ("runbook.cli.run", "runbook.cli.sandbox", "runbook.cli.capture",
                   "runbook.cli.wizard"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_more()
