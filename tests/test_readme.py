"""The README works from a clone exactly as written: its links and example paths exist
in the repository (nothing outside it), its examples print what it shows, the install
instructions name our distribution, and CI runs the README's test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
RUNBOOK = Path(sys.executable).parent / "runbook"


def _block_after(marker: str) -> str:
    """The first fenced block after ``<!-- example: MARKER -->``."""
    text = README.read_text().split(f"<!-- example: {marker} -->", 1)[1]
    return re.search(r"```[a-z]*\n(.*?)```", text, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_stay_inside_the_repository(doc: Path) -> None:
    text = doc.read_text()
    assert "../shared" not in text and "PLAN-FORMAT.md" not in text
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        where = (doc.parent / target).resolve()
        assert where.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert where.exists(), f"{doc.name} links to {target}, which does not exist"


def test_every_plan_an_example_names_exists() -> None:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README.read_text(), re.S)
    named = {m for b in blocks for m in re.findall(r"(?:\$ )?runbook \w+ (\S+\.yaml)", b)}
    assert "tests/plans/bad-several-mistakes.yaml" in named
    assert {n for n in named if not (ROOT / n).is_file() and n != "files.yaml"} == set()


def test_the_validate_example_prints_what_the_readme_shows() -> None:
    command, *shown = _block_after("validate").strip().splitlines()
    args = command.removeprefix("$ runbook ").split()
    done = subprocess.run([str(RUNBOOK), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "300"}, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == shown


@pytest.mark.slow
def test_the_run_example_runs_as_written(tmp_path: Path) -> None:
    script = _block_after("files")
    assert "tests/engine/plans/files.yaml" in script
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1", "TMPDIR": str(tmp_path),
           "PATH": f"{RUNBOOK.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RUNBOOK_STATE", None)
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    shown = README.read_text().split("<!-- example: files -->", 1)[1]
    for line in ("FAIL post: `cat redirect.txt` exits 0 and prints '308' - output does not "
                 "contain '308'", "step redirect rolled back and verified",
                 "rolled_back: 1 post check(s) of step redirect failed; 4 step(s) rolled "
                 "back and verified (exit 1)"):
        assert line in shown and line in done.stdout, line
    assert "journal: .runbook/runs/" in done.stdout


def test_install_instructions_name_our_distribution() -> None:
    for doc in DOCS:
        text = doc.read_text()
        assert not re.search(r"pip install [\"']?runbook(\[|[\"'\s]|$)", text, re.M), doc.name
    assert "pip install 'runbook-cutover[sandbox]'" in README.read_text()


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    quick = README.read_text().split("## Quick start", 1)[1]
    commands = re.search(r"```sh\n(.*?)```", quick, re.S).group(1).strip().splitlines()  # type: ignore[union-attr]
    test_command = commands[-1]
    assert test_command == "python -m pytest -n auto"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == test_command
