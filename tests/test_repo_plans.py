"""Every plan in plans/ and every library step in steps/ of the repository validates.

New files are picked up as they land. A file that fails because it needs a kind that
is not registered yet says so in one line, so the gap is plain to see.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook.errors import PlanError, Problem
from runbook.plan.loader import check_library_step, validate
from runbook.plan.yamlio import load_file

ROOT = Path(__file__).resolve().parent.parent
MISSING_KIND = re.compile(r"unknown (check|action) kind '([^']+)'")


def _yaml_files(folder: str) -> list[Path]:
    base = ROOT / folder
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _is_plan(path: Path) -> bool:
    """Plans say `runbook:` or have stages; other YAML in plans/ (sandbox worlds) is not."""
    try:
        data = load_file(path).data
    except PlanError:
        return True  # unreadable: let validate say why
    return isinstance(data, dict) and ("runbook" in data or "stages" in data)


def _explain(path: Path, problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "error"]
    missing = sorted({m.group(2) for p in errors if (m := MISSING_KIND.search(p.message))})
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    head = f"{name} has {len(errors)} problem(s)"
    if missing:
        head += f"; it needs kinds that are not registered yet: {', '.join(missing)}"
    return head + "\n" + "\n".join(f"  {p}" for p in errors)


PLANS = [p for p in _yaml_files("plans") if _is_plan(p)]
STEPS = [p for p in _yaml_files("steps") if p.parent == ROOT / "steps"]


@pytest.mark.parametrize("path", PLANS, ids=lambda p: str(p.relative_to(ROOT)))
def test_plan_validates(path: Path) -> None:
    problems = validate(path)
    assert not [p for p in problems if p.severity == "error"], _explain(path, problems)


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_library_step_validates(path: Path) -> None:
    problems = check_library_step(path)
    assert not [p for p in problems if p.severity == "error"], _explain(path, problems)


def test_the_folders_are_scanned() -> None:
    """Runs even while plans/ is empty, so the parametrised tests above are not silently
    absent: it proves the scan itself works and that library steps are named after files."""
    for path in STEPS:
        data = load_file(path, what="library step").data
        assert isinstance(data, dict) and data.get("step") == path.stem, path
    assert all(_is_plan(p) for p in PLANS)


def test_a_missing_kind_is_named(tmp_path: Path) -> None:
    step = tmp_path / "steps" / "future.yaml"
    step.parent.mkdir()
    step.write_text("runbook: 1\nstep: future\naction:\n  acme.teleport: {to: mars}\n")
    message = _explain(ROOT / "steps" / "future.yaml", check_library_step(step))
    assert "needs kinds that are not registered yet: acme.teleport" in message


CONTRACT = ROOT.parent / "shared" / "design" / "PLAN-FORMAT.md"


@pytest.mark.skipif(not CONTRACT.is_file(), reason="shared/design/PLAN-FORMAT.md is not beside "
                    "this checkout")
def test_the_contracts_complete_example_validates(tmp_path: Path) -> None:
    """The full plan of PLAN-FORMAT.md, with the shipped library (its `use: route53-alias`)."""
    example = re.findall(r"```yaml\n(.*?)```", CONTRACT.read_text(), re.S)[0]
    plan = tmp_path / "example.yaml"
    plan.write_text(example)
    problems = validate(plan)
    assert not [p for p in problems if p.severity == "error"], _explain(plan, problems)
