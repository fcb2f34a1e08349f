"""Whatever the file holds, the loader answers with a PlanError, never with a crash.

Three sources of input: arbitrary YAML documents (nested mappings, lists and scalars
dumped as YAML), plan texts mutated line by line, and arbitrary bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.errors import PlanError
from runbook.plan.loader import load, validate

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

KEYS = ["runbook", "name", "title", "vars", "environments", "stages", "steps", "checks",
        "id", "action", "pre", "post", "rollback", "use", "with", "within", "every", "soak",
        "confirm", "protected", "requires_rehearsal", "aws", "resolvers", "sandbox", "none",
        "shell", "wait", "manual", "run", "for", "instructions", "undo", "step", "params",
        "default", "prod", "stage", "x"]
TEXTS = st.sampled_from(["${x}", "${steps.a.stdout}", "${steps.self.stdout}", "$${x}",
                         "${env:HOME}", "${environment}", "${run_id}", "${", "${a + b}",
                         "5m", "1h30m", "auto", "go", "a", "", "prod", "true", "x-${x}"])
SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True) | st.text(max_size=12) | TEXTS)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
    max_leaves=30,
)
PLANS = st.fixed_dictionaries(
    {"runbook": st.sampled_from([1, 1, 1, 2, "1", None]), "name": st.sampled_from(["demo", "x"])},
    optional={"vars": st.dictionaries(st.sampled_from(["x", "a", "b"]), VALUES, max_size=3),
              "environments": st.dictionaries(st.sampled_from(["prod", "stage"]), VALUES,
                                              max_size=2),
              "stages": st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5)
                                 | VALUES, max_size=3)},
)

GOOD = """\
runbook: 1
name: demo
vars:
  x: one
  hosts: [a, b]
environments:
  stage: {vars: {x: two}}
  prod: {protected: true, requires_rehearsal: stage}
stages:
  - name: gate
    checks:
      - shell: {run: "echo ${x}", contains: "${x}"}
        within: 1m
  - name: go
    steps:
      - id: a
        action:
          shell: {run: [echo, "${x}"], undo: "true"}
        post:
          - shell: {run: "echo ${steps.a.stdout} ${steps.self.exit_code}"}
        rollback: {none: "because"}
      - use: hello
        with: {who: "${x}"}
    soak: 5m
"""
LIBRARY = """\
runbook: 1
step: hello
params:
  who: {description: whom}
  greeting: {default: hi}
action:
  shell: {run: "echo ${greeting} ${who}", undo: "true"}
post:
  - shell: {run: "echo ${steps.self.stdout}"}
"""


def _dump(data: object) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _only_plan_errors(path: Path) -> None:
    for env in (None, "prod", "stage"):
        try:
            load(path, env=env)
        except PlanError as exc:
            assert exc.problems, "a PlanError must carry at least one problem"
            for p in exc.problems:
                assert p.message and "Traceback" not in p.message
    for p in validate(path):
        assert p.message


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "hello.yaml").write_text(LIBRARY)
    return tmp_path


@SETTINGS
@given(data=VALUES)
def test_arbitrary_yaml_documents(workdir: Path, data: object) -> None:
    path = workdir / "plan.yaml"
    path.write_text(_dump(data))
    _only_plan_errors(path)


@SETTINGS
@given(data=PLANS)
def test_plan_shaped_documents(workdir: Path, data: object) -> None:
    path = workdir / "plan.yaml"
    path.write_text(_dump(data))
    _only_plan_errors(path)


@SETTINGS
@given(ops=st.lists(st.tuples(st.integers(0, 200), st.sampled_from(
    ["delete", "dup", "indent", "dedent", "cut", "replace"]), TEXTS), max_size=4))
def test_mutated_plan_texts(workdir: Path, ops: list[tuple[int, str, str]]) -> None:
    lines = GOOD.splitlines()
    for where, op, text in ops:
        i = where % len(lines)
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        elif op == "cut":
            lines[i] = lines[i][: len(lines[i]) // 2]
        else:
            head = lines[i].split(":")[0]
            lines[i] = f"{head}: {text}" if ":" in lines[i] else text
        if not lines:
            lines = [""]
    path = workdir / "plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    _only_plan_errors(path)


@SETTINGS
@given(blob=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes(workdir: Path, blob: bytes) -> None:
    path = workdir / "plan.yaml"
    path.write_bytes(blob)
    _only_plan_errors(path)


def test_the_seed_plan_is_good(workdir: Path) -> None:
    path = workdir / "plan.yaml"
    path.write_text(GOOD)
    assert load(path, env="stage").plan.name == "demo"
