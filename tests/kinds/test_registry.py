"""Kinds register one way: ``@register`` in the modules ``kinds.BUILTIN`` lists, loaded
by the registry. No kinds module registers another's kinds by importing it (a second
path, which would register a kind only when its importer happens to be loaded)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from runbook import kinds

KINDS = Path(kinds.__file__).parent
# A fresh interpreter imports each BUILTIN module alone, the others forgotten, and prints
# the modules of the kinds that one import registered.
ALONE = """
import importlib, json, sys
from runbook import kinds
out = {}
for name in kinds.BUILTIN:
    for loaded in [m for m in sys.modules if m.startswith("runbook.kinds.")
                   and m != "runbook.kinds.base"]:
        del sys.modules[loaded]
    kinds._checks.clear()
    kinds._actions.clear()
    importlib.import_module(f"runbook.kinds.{name}")
    out[name] = sorted({c.__module__ for c in [*kinds._checks.values(),
                                               *kinds._actions.values()]})
print(json.dumps(out))
"""


def _registering() -> set[str]:
    found = set()
    for path in KINDS.rglob("*.py"):
        if re.search(r"^@register\b", path.read_text(), re.M):
            found.add(".".join(path.relative_to(KINDS).with_suffix("").parts))
    return found


def test_every_module_that_registers_is_in_builtin_and_only_those() -> None:
    assert set(kinds.BUILTIN) == _registering()
    assert len(kinds.BUILTIN) == len(set(kinds.BUILTIN))


def test_importing_a_kinds_module_registers_its_own_kinds_and_no_others() -> None:
    import json

    got = subprocess.run([sys.executable, "-c", ALONE], capture_output=True, text=True,
                         check=True)
    registered = json.loads(got.stdout)
    assert registered == {name: [f"runbook.kinds.{name}"] for name in kinds.BUILTIN}


def test_the_registry_holds_every_kind_of_builtin() -> None:
    modules = {c.__module__ for c in [*kinds.checks().values(), *kinds.actions().values()]}
    assert {f"runbook.kinds.{name}" for name in kinds.BUILTIN} <= modules
