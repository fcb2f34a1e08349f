"""Reading YAML with positions: every node knows its file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import PlanError
from runbook.plan.yamlio import load_file, parse
from runbook.source import Source

TEXT = """\
runbook: 1
name: demo   # a comment
stages:
  - name: go
    checks:
      - shell: {run: "true", exit_code: 0}
when: 2024-01-02
1: one
"""


def test_data_is_plain() -> None:
    doc = parse(TEXT, "p.yaml")
    assert doc.data["stages"][0]["checks"][0] == {"shell": {"run": "true", "exit_code": 0}}
    assert doc.data["when"] == "2024-01-02"  # dates stay text
    assert doc.data["1"] == "one"  # keys are text
    assert type(doc.data) is dict and type(doc.data["stages"]) is list


def test_positions_of_values_and_keys() -> None:
    doc = parse(TEXT, "p.yaml")
    assert doc.at(("name",)) == Source("p.yaml", 2, 7)
    assert doc.key_at(("name",)) == Source("p.yaml", 2, 1)
    assert doc.at(("stages", 0)) == Source("p.yaml", 4, 5)
    assert doc.at(("stages", 0, "checks", 0, "shell", "exit_code")) == Source("p.yaml", 6, 41)
    assert doc.key_at(("stages", 0, "checks", 0, "shell", "exit_code")) == \
        Source("p.yaml", 6, 30)
    # a path that does not exist falls back to its nearest ancestor
    assert doc.at(("stages", 0, "nope", 3)) == Source("p.yaml", 4, 5)
    assert str(doc.at(("name",))) == "p.yaml, line 2, column 7"


@pytest.mark.parametrize(("text", "message", "line", "column"), [
    ("a: [1, 2\n", "YAML syntax error", 2, 1),
    ("a: 1\n\tb: 2\n", "a tab character where YAML expects spaces", 2, 1),
    ("a: 1\na: 2\n", "the key 'a' appears twice in one mapping (first at line 1)", 2, 1),
    ("a: 1\n---\nb: 2\n", "more than one YAML document", 2, 1),
    ("a: *nope\n", "YAML syntax error", 1, 4),
    ("", "the plan file is empty", 1, 1),
    ("# only\n\n# comments\n", "the plan file is empty", 1, 1),
])
def test_errors(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(PlanError) as err:
        parse(text, "p.yaml")
    (problem,) = err.value.problems
    assert message in problem.message
    assert (problem.source.line, problem.source.column) == (line, column)  # type: ignore[union-attr]


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(PlanError) as err:
        parse("\n".join(lines) + "\n", "p.yaml")
    assert "expands to more than" in str(err.value)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(PlanError) as err:
        parse("a: " + "[" * 200 + "]" * 200 + "\n", "p.yaml")
    assert "nested too deeply" in str(err.value)


def test_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xef\xbb\xbfrunbook: 1\n")
    assert load_file(path).data == {"runbook": 1}
