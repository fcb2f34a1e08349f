"""runbook: a guided migration runbook executor.

A reviewed YAML plan of ordered steps (pre checks, one action, post checks, a rollback)
walked stage by stage, with every change proved and journaled.
"""

from __future__ import annotations

__version__ = "0.1.0"
FORMAT_VERSION = 1
