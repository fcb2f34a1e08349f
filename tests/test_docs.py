"""docs/plan-format.md stays in sync with the models: every key of every *Doc model is
in the table of its section (marked `<!-- model: NAME -->`)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from runbook.plan import model

DOC = Path(__file__).resolve().parent.parent / "docs" / "plan-format.md"
DOC_MODELS = {name: cls for name, cls in inspect.getmembers(model, inspect.isclass)
              if name.endswith("Doc") and not name.startswith("_")
              and issubclass(cls, BaseModel)}


def sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"<!-- model: (\w+) -->", text)
    # [before, name1, body1, name2, body2, ...]; a body ends at the next heading of its level
    return {parts[i]: re.split(r"\n#{1,3} ", parts[i + 1])[0]
            for i in range(1, len(parts), 2)}


def test_every_doc_model_has_a_section() -> None:
    assert len(DOC_MODELS) >= 6
    assert set(DOC_MODELS) == set(sections())


@pytest.mark.parametrize("name", sorted(DOC_MODELS))
def test_every_key_is_in_its_table(name: str) -> None:
    body = sections()[name]
    rows = set(re.findall(r"^\| `([^`]+)` \|", body, re.M))
    keys = {f.alias or key for key, f in DOC_MODELS[name].model_fields.items()}
    assert keys - rows == set(), f"keys of {name} missing from docs/plan-format.md"
    assert rows - keys == set(), f"docs/plan-format.md documents keys {name} does not have"


def test_the_vscode_snippet_is_there() -> None:
    text = DOC.read_text()
    assert "runbook schema > runbook.plan.schema.json" in text
    assert '"yaml.schemas"' in text
