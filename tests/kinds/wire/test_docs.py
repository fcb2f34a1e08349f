"""docs/kinds-wire.md documents every parameter of every wire kind, under its heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook.kinds import check

DOC = Path(__file__).resolve().parents[3] / "docs" / "kinds-wire.md"
KINDS = ["dns.record", "http.get", "http.redirect", "http.redirects", "http.replay",
         "tls.certificate"]


def sections() -> dict[str, str]:
    parts = re.split(r"^## ", DOC.read_text(), flags=re.MULTILINE)
    return {p.split("\n", 1)[0].strip(): p for p in parts[1:]}


@pytest.mark.parametrize("kind", KINDS)
def test_every_parameter_is_documented(kind: str) -> None:
    cls = check(kind)
    assert cls is not None
    text = sections()[kind]
    missing = [field.alias or name for name, field in cls.Params.model_fields.items()
               if f"`{field.alias or name}`" not in text]
    assert not missing, f"docs/kinds-wire.md, section {kind}, does not mention {missing}"
