from __future__ import annotations

from runbook.cli import main

main()
