"""The layout is the design: each folder of ``runbook/`` is one room, imports run one way
(cli -> engine -> plan and kinds -> the base modules at the top), and no two modules
import each other, directly or round a longer loop. Imports inside functions and under
``TYPE_CHECKING`` count too: a cycle hidden in a function body is still a cycle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "runbook"

# room -> rooms it may import (besides itself and the base modules at the top)
ALLOWED = {
    "base": set(),
    "plan": {"kinds"},  # specs validates each kind's params with the kind's model
    "kinds": set(),
    "store": {"kinds"},  # the S3 store uses the AWS kinds' client and error translation
    "sandbox": {"plan", "kinds"},
    # the engine knows neither AWS nor the sandbox: the CLI hands it a context provider
    # (engine/wiring.py, cli/provider.py), and kinds declare `uses_aws`
    "engine": {"plan", "kinds", "store"},
    "cli": {"engine", "plan", "kinds", "store", "sandbox"},
}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The runbook modules that ``name`` imports, anywhere in its file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: runbook uses absolute imports only"
            base = node.module or ""
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for t in targets:
            # the longest known module that t names (from pkg import mod, or a symbol)
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t != "runbook":
                found.add(t)
    return found


def room(module: str) -> str:
    if module == "runbook.__main__":
        return "cli"  # `python -m runbook` is the CLI's other door
    parts = module.split(".")
    if len(parts) >= 3 or (len(parts) == 2 and (PKG / parts[1]).is_dir()):
        return parts[1]
    return "base"


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


def test_no_module_imports_itself_round_a_loop() -> None:
    # Tarjan's strongly connected components; a component of two or more is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            # a package's __init__ importing its own modules is not a loop back up
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == []


def test_imports_run_one_way_between_rooms() -> None:
    wrong = sorted(
        f"{a} imports {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if room(b) not in ALLOWED[room(a)] | {room(a), "base"}
    )
    assert wrong == []


def test_the_engine_imports_no_aws_kind() -> None:
    """The kinds' registry and base classes, yes; the AWS family, no."""
    wrong = sorted(f"{a} imports {b}" for a, targets in GRAPH.items() if room(a) == "engine"
                   for b in targets if b.startswith("runbook.kinds.aws"))
    assert wrong == []


def test_nothing_below_the_cli_prints() -> None:
    """Terminal output is the CLI's: the engine, kinds, store and sandbox report through
    events, results and errors."""
    wrong = sorted(f"{path.relative_to(ROOT)}:{node.lineno}"
                   for name, path in modules().items() if room(name) != "cli"
                   for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id == "print")
    assert wrong == []


def test_base_modules_import_no_room() -> None:
    base = [m for m in GRAPH if room(m) == "base"]
    assert {"runbook.errors", "runbook.source", "runbook.context"} <= set(base)
    assert sorted(f"{a} imports {b}" for a in base for b in GRAPH[a] if room(b) != "base") == []


@pytest.mark.parametrize("module", sorted(m for m in modules() if not m.endswith("__main__")))
def test_every_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_architecture_page_names_every_room_of_the_tree() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    folders = sorted(
        str(p.relative_to(ROOT)) + "/" for p in PKG.rglob("*")
        if p.is_dir() and (p / "__init__.py").is_file() and p != PKG
    )
    assert [f for f in folders if f not in page] == []
    named = set(re.findall(r"`?(runbook/[a-z_/]+/)`?", page))
    assert sorted(f for f in named if not (ROOT / f).is_dir()) == []


def test_project_files_never_point_outside_the_project() -> None:
    """A clone has no ../shared: what users need from it is written into docs/."""
    done = subprocess.run(["git", "grep", "-n", "-e", "../shared", "-e", "shared/seed", "--",
                           "README.md", "docs", "plans", "runbook", "steps"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.stdout == ""
