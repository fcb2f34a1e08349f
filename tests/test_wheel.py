"""The wheel is named runbook-cutover (the name `runbook` on the package index belongs to
someone else), installs the `runbook` command, ships the library of steps (steps/ ->
runbook/_library), and an installed runbook finds it there."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
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
    (found,) = out.glob("*.whl")
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


def test_the_wheel_is_named_runbook_cutover(wheel: Path) -> None:
    assert wheel.name.startswith("runbook_cutover-"), wheel.name
    archive = zipfile.ZipFile(wheel)
    (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    headers = archive.read(meta).decode().split("\n\n", 1)[0].splitlines()
    assert "Name: runbook-cutover" in headers
    requires = [h.removeprefix("Requires-Dist: ") for h in headers
                if h.startswith("Requires-Dist: ")]
    # The dev extra's self-reference (runbook-cutover[sandbox]) is inlined by the build: a
    # stale `runbook[sandbox]` would instead pull the stranger's package from the index.
    assert not [r for r in requires if r.startswith("runbook")], requires
    assert "moto[server]<5.3,>=5.2.5; extra == 'dev'" in requires, requires
    assert "moto[server]<5.3,>=5.2.5; extra == 'sandbox'" in requires, requires


def test_installing_the_wheel_gives_the_runbook_command(wheel: Path, tmp_path: Path) -> None:
    """Install it into a fresh venv (its dependencies come from the test's own
    site-packages, so nothing is fetched) and run the command it installs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    py = venv / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install",
                           "--quiet", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    command = venv / "bin" / "runbook"
    assert command.is_file()
    deps = sysconfig.get_paths()["purelib"]  # PYTHONPATH: .pth files there are not read
    env = {**os.environ, "PYTHONPATH": deps}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version = subprocess.run([str(command), "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "runbook 0.1.0"
    where = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m, runbook; "
         "print(m.version('runbook-cutover')); print(runbook.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert where.returncode == 0, where.stderr
    dist_version, module = where.stdout.splitlines()
    assert dist_version == "0.1.0"
    assert Path(module).is_relative_to(venv)  # the wheel's copy, not this checkout
    listed = subprocess.run([str(command), "kinds"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert "cloudfront-add-alias" in listed.stdout  # a library step, found in the wheel
