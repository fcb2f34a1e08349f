"""Helpers of .ci/latest (docs/ci.md).

    python .ci/latest_report.py requirements
        every requirement pyproject.toml names (runtime, sandbox and dev), with its extras
        and without its version range: what the newest-releases run installs.
    python .ci/latest_report.py report --freeze F --junit J [--baseline B]
        which installed versions differ from constraints.txt, and which tests changed
        outcome (against the baseline JUnit report, or against "all pass").
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELF = "runbook-cutover"


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    out: list[str] = []
    for spec in specs:
        req, _, marker = spec.partition(";")
        found = re.match(r"\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?", req)
        if found is None or _key(found.group(1)) == SELF:
            continue
        name = found.group(1) + (found.group(2) or "")
        out.append(f"{name}; {marker.strip()}" if marker.strip() else name)
    return sorted(set(out))


def pins(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            out[_key(name)] = version.strip()
    return out


def outcomes(junit: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = {"failure": "failed"}.get(child.tag, child.tag)
        out[name] = state
    return out


def report(freeze: Path, junit: Path, baseline: Path | None) -> None:
    proven = pins((ROOT / "constraints.txt").read_text())
    now = pins(freeze.read_text())
    print("versions that differ from constraints.txt:")
    changed = [(n, proven.get(n), v) for n, v in sorted(now.items()) if proven.get(n) != v]
    for name, old, new in changed:
        print(f"  {name}: {old or '(not in constraints.txt)'} -> {new}")
    for name in sorted(set(proven) - set(now) - {_key(SELF)}):
        print(f"  {name}: {proven[name]} -> (no longer installed)")
    if not changed:
        print("  none")
    got = outcomes(junit)
    before = outcomes(baseline) if baseline else {}
    print("tests whose outcome changed"
          + (f" (against {baseline}):" if baseline else " (CI passes them all on "
             "constraints.txt):"))
    moved = [(t, before.get(t, "passed"), s) for t, s in sorted(got.items())
             if s != before.get(t, "passed") and not (s == "skipped" and t not in before
                                                      and baseline is None)]
    for test, old, new in moved:
        print(f"  {test}: {old} -> {new}")
    if not moved:
        print("  none")
    counts = {s: sum(1 for v in got.values() if v == s) for s in sorted(set(got.values()))}
    print("outcomes with the newest releases: "
          + ", ".join(f"{n} {s}" for s, n in counts.items()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=".ci/latest_report.py")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("requirements")
    rep = sub.add_parser("report")
    rep.add_argument("--freeze", type=Path, required=True)
    rep.add_argument("--junit", type=Path, required=True)
    rep.add_argument("--baseline", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "requirements":
        print("\n".join(requirements()))
    else:
        report(args.freeze, args.junit, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
