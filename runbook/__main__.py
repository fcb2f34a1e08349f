from __future__ import annotations

from runbook.cli.app import main

main()
