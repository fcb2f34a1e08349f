"""Running the real CLI in a subprocess against a folder of files (the shell kind's world)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PLANS = Path(__file__).parent / "plans"
INITIAL = {"version.txt": "v1\n", "alias.txt": "old\n", "redirect.txt": "none\n"}
FINAL = {"version.txt": "v2\n", "alias.txt": "new\n", "redirect.txt": "301\n",
         "marker.txt": "done\n"}


def setup_world(folder: Path, plan: str = "files.yaml") -> Path:
    for name, text in INITIAL.items():
        (folder / name).write_text(text)
    shutil.copy(PLANS / plan, folder / plan)
    return folder / plan


def world_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.txt"))}


def runbook(folder: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("RUNBOOK_CRASH_AFTER", None) if not env or \
        "RUNBOOK_CRASH_AFTER" not in env else None
    return subprocess.run([sys.executable, "-m", "runbook", *args], cwd=folder,
                          env=full_env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def run_ids(folder: Path) -> list[str]:
    runs = folder / ".runbook" / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
