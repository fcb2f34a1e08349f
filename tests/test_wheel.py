"""The wheel ships the library of steps (steps/ -> runbook/_library), and an installed
runbook finds it there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
         str(ROOT)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (found,) = out.glob("runbook-*.whl")
    return found


def test_the_wheel_holds_the_library(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (ROOT / "steps").glob("*.yaml"))
    for name in shipped:
        assert f"runbook/_library/{name}" in names, name
    assert "runbook/cli/app.py" in names and "runbook/kinds/base.py" in names
    assert not any(n.startswith(("tests/", "steps/")) for n in names)


def test_an_installed_runbook_finds_its_library(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import runbook.plan.library as lib, pathlib, sys\n"
        "found = lib.shipped_library()\n"
        "print(found)\n"
        "names = sorted(p.stem for p in found.glob('*.yaml'))\n"
        "print(','.join(names))\n"
        "plan_dir = pathlib.Path(sys.argv[1])\n"
        "print(all(lib.find(n, plan_dir) == found / f'{n}.yaml' for n in names))\n"
    )
    elsewhere = tmp_path / "elsewhere"  # no steps/ folder at or above it
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", probe, str(elsewhere)], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    where, names, all_found = done.stdout.splitlines()
    assert Path(where) == site / "runbook" / "_library"
    shipped = sorted(p.stem for p in (ROOT / "steps").glob("*.yaml"))
    assert (names.split(",") if names else []) == shipped
    assert all_found == "True"
