"""Finding library steps: ``use: NAME`` reads ``steps/NAME.yaml`` from the nearest
``steps/`` folder at or above the plan's folder, then from the library shipped inside
the package (``runbook/_library`` in a wheel; the checkout's ``steps/`` when editable)."""

from __future__ import annotations

from pathlib import Path

SUFFIXES = (".yaml", ".yml")


def shipped_library() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_library", here.parent / "steps"):
        if candidate.is_dir():
            return candidate
    return None


def search_path(plan_dir: Path) -> list[Path]:
    """The folders ``use:`` looks in, nearest first."""
    folders: list[Path] = []
    d = plan_dir.resolve()
    while True:
        if (d / "steps").is_dir():
            folders.append(d / "steps")
        if d.parent == d:
            break
        d = d.parent
    shipped = shipped_library()
    if shipped is not None and shipped.resolve() not in [f.resolve() for f in folders]:
        folders.append(shipped)
    return folders


def find(name: str, plan_dir: Path) -> Path | None:
    for folder in search_path(plan_dir):
        for suffix in SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def available(plan_dir: Path) -> list[str]:
    names: set[str] = set()
    for folder in search_path(plan_dir):
        names.update(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES)
    return sorted(names)
