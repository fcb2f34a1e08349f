"""Shell completion, installed the way typer documents (`runbook --install-completion`):
commands, options, the environments of the plan on the command line, and run ids. Driven
through the installed `runbook` command with the variables the shell sets, and once in a
real bash in a pseudo-terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = Path(sys.executable).parent / "runbook"  # the console script: its name is the key
TSS = "plans/tss-url-migration.yaml"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("_RUNBOOK", "COMP_", "RUNBOOK_STATE"))}
    return {**env, **extra}


def complete_bash(line: str, cwd: Path = ROOT, **extra: str) -> list[str]:
    """What bash's completion function gets for the last word of ``line``."""
    words = line.split(" ")
    done = subprocess.run([str(RUNBOOK)], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env=_env(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1),
                                   _RUNBOOK_COMPLETE="complete_bash", **extra), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.split()


def test_commands_and_options_complete() -> None:
    assert complete_bash("runbook re") == ["resume", "report"]
    assert set(complete_bash("runbook ru")) == {"run", "runs"}
    assert complete_bash("runbook run --on-f") == ["--on-failure"]
    assert complete_bash("runbook plan --fo") == ["--format"]


def test_env_completes_from_the_plan_given() -> None:
    assert complete_bash(f"runbook run {TSS} --env ") == [
        "stage", "prod", "sandbox-stage", "sandbox"]
    assert complete_bash(f"runbook plan {TSS} --env sa") == ["sandbox-stage", "sandbox"]
    assert complete_bash(f"runbook validate {TSS} plans/sandbox/incident-1-hand-made-bucket"
                         ".yaml -e pr") == ["prod"]


def test_env_completion_in_zsh_says_what_each_environment_is() -> None:
    done = subprocess.run([str(RUNBOOK)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=_env(_RUNBOOK_COMPLETE="complete_zsh",
                                   _TYPER_COMPLETE_ARGS=f"runbook show {TSS} --env p"),
                          check=False)
    assert done.returncode == 0, done.stderr
    assert '"prod":"protected, after stage"' in done.stdout


def test_env_of_a_missing_or_broken_plan_completes_nothing(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("runbook: 1\nenvironments: [\n")
    assert complete_bash("runbook run broken.yaml --env ", cwd=tmp_path) == []
    assert complete_bash("runbook run nowhere.yaml --env ", cwd=tmp_path) == []


def test_run_ids_complete_from_the_state_in_use(tmp_path: Path) -> None:
    shutil.copy(ROOT / "tests" / "engine" / "plans" / "files.yaml", tmp_path / "files.yaml")
    (tmp_path / "marker.txt").unlink(missing_ok=True)
    for name, text in (("version.txt", "v1\n"), ("alias.txt", "old\n"),
                       ("redirect.txt", "none\n")):
        (tmp_path / name).write_text(text)
    ran = subprocess.run([str(RUNBOOK), "run", "files.yaml", "--yes"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=_env(), check=False)
    journal = next(line for line in ran.stdout.splitlines() if line.startswith("journal: "))
    run_id = journal.rsplit("/", 1)[1]
    assert complete_bash("runbook report ", cwd=tmp_path) == [run_id]
    assert complete_bash("runbook resume 2", cwd=tmp_path) == [run_id]
    assert complete_bash("runbook rollback x", cwd=tmp_path) == []
    # elsewhere, the same run is found through --state or RUNBOOK_STATE
    state = str(tmp_path / ".runbook")
    assert complete_bash(f"runbook report --state {state} ") == [run_id]
    assert complete_bash("runbook report ", RUNBOOK_STATE=state) == [run_id]
    assert complete_bash("runbook report ", cwd=tmp_path / ".runbook") == []


@pytest.mark.slow
def test_installed_completion_in_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on this machine")
    home = tmp_path / "home"
    home.mkdir()
    env = _env(HOME=str(home), SHELL=bash, TERM="dumb", PS1="$ ",
               PATH=f"{RUNBOOK.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([str(RUNBOOK), "--install-completion", "bash"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "bash completion installed" in done.stdout
    bashrc = (home / ".bashrc").read_text()
    assert ".bash_completions/runbook.sh" in bashrc
    rc = tmp_path / "rc"  # the installed .bashrc, and a prompt to wait for
    rc.write_text(f"source {home / '.bashrc'}\nPS1='ready> '\n")
    child = pexpect.spawn(bash, ["--noprofile", "--rcfile", str(rc), "-i"],
                          cwd=str(ROOT), env=env, encoding="utf-8", timeout=120,
                          dimensions=(40, 200))
    child.expect("ready> ")
    child.send(f"runbook run {TSS} --env sandbox-")
    child.send("\t")
    child.expect("sandbox-stage ")  # the one match is filled in
    child.send("--on-f\t")
    child.expect("--on-failure ")
    child.sendcontrol("u")  # clear the line and run nothing: no signal to race with
    child.send("\r")
    child.expect("ready> ")
    child.send(f"runbook show {TSS} --env \t\t")
    for name in ("prod", "sandbox-stage", "stage"):
        child.expect(name)
    child.sendcontrol("u")  # clear the line and run nothing: no signal to race with
    child.send("\r")
    child.expect("ready> ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
