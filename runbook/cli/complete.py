"""Shell completion of values: the environments of the plan on the command line, and the
run ids of the state in use. Commands and options complete by themselves (typer).

Installed the way typer documents: ``runbook --install-completion`` (bash, zsh, fish,
PowerShell). These functions run only while the shell asks for completions, so they may
import the plan reader and the store; they never raise: a plan that cannot be read, or
a store that cannot be reached, completes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _plan_paths(ctx: typer.Context, args: list[str]) -> list[Path]:
    """The plan(s) given earlier on the command line (`run PLAN`, `validate PLAN...`).

    While completing ``--env <TAB>`` click stops parsing at the option that lacks its
    value, so the plan is often not in ``ctx.params``: the words typed so far say it."""
    found: list[Path] = []
    for key in ("plan", "plans"):
        value = ctx.params.get(key)
        if isinstance(value, list | tuple):
            found += [Path(v) for v in value]
        elif value is not None:
            found.append(Path(value))
    if not found:
        words = args or _typed_words()
        found = [Path(a) for a in words
                 if a.endswith((".yaml", ".yml")) and not a.startswith("-")]
    return [p for p in found if p.is_file()]


def _typed_words() -> list[str]:
    """The command line being completed, as the shell hands it over: COMP_WORDS (bash) or
    _TYPER_COMPLETE_ARGS (zsh, fish, PowerShell)."""
    import os
    import shlex

    line = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    try:
        return shlex.split(line)
    except ValueError:  # an open quote in the word being typed
        return line.split()


def environments(ctx: typer.Context, args: list[str],
                 incomplete: str) -> list[tuple[str, str]]:
    """The environments of the plan given before ``--env``, with a word on each."""
    out: dict[str, str] = {}
    for path in _plan_paths(ctx, args):
        try:
            from runbook.plan.yamlio import load_file

            data: Any = load_file(path).data
        except Exception:  # an unreadable plan completes nothing, it never breaks the shell
            continue
        envs = data.get("environments") if isinstance(data, dict) else None
        if not isinstance(envs, dict):
            out.setdefault("default", "the plan has no environments")
            continue
        for name, spec in envs.items():
            spec = spec if isinstance(spec, dict) else {}
            words = [w for w, on in (("protected", spec.get("protected") is True),
                                     (f"sandbox {spec.get('sandbox')}", bool(spec.get("sandbox"))),
                                     (f"after {spec.get('requires_rehearsal')}",
                                      bool(spec.get("requires_rehearsal")))) if on]
            out.setdefault(str(name), ", ".join(words) or "environment")
    return [(name, help) for name, help in out.items() if name.startswith(incomplete)]


def run_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Run ids of the state given with ``--state`` (else $RUNBOOK_STATE, else .runbook),
    newest first."""
    try:
        from runbook.store import open_store

        store = open_store(ctx.params.get("state_dir"))
        ids = sorted(store.run_ids(), reverse=True)
    except Exception:  # no state, or unreachable: nothing to offer
        return []
    return [i for i in ids if i.startswith(incomplete)]
