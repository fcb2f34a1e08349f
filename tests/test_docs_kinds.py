"""docs/kinds.md lists exactly the kinds `runbook kinds` knows."""

from __future__ import annotations

import re
from pathlib import Path

from runbook import kinds

DOC = Path(__file__).resolve().parents[1] / "docs" / "kinds.md"


def test_kinds_table_matches_the_registry(cli):
    rows = set(re.findall(r"^\| `([a-z0-9_.]+)` \| (check|action) \|", DOC.read_text(), re.M))
    # only runbook's own: tests register fake kinds of their own in the same process
    registered = {(n, "check") for n, c in kinds.checks().items()
                  if c.__module__.startswith("runbook.")} | \
        {(n, "action") for n, c in kinds.actions().items() if c.__module__.startswith("runbook.")}
    assert rows == registered
    listing = cli("kinds").stdout
    for name, _ in rows:
        assert name in listing
