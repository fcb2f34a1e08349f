"""`runbook schema` and the loader agree: checked with a standard JSON Schema validator
(the `jsonschema` package) on every plan in plans/, the good fixtures, and templates in
every place the loader resolves them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runbook.plan.loader import validate
from runbook.plan.yamlio import load_file
from tests.conftest import CliResult
from tests.test_repo_plans import PLANS, ROOT

GOOD = sorted((ROOT / "tests" / "plans").glob("good-*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    from tests.conftest import run_cli

    r = run_cli("schema")
    assert r.code == 0, r.stderr
    schema = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(validator: Any, path: Path) -> list[str]:
    data = load_file(path).data
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)]


def _loader_errors(path: Path) -> list[str]:
    return [str(p) for p in validate(path) if p.severity == "error"]


@pytest.mark.parametrize("path", PLANS + GOOD, ids=lambda p: str(p.relative_to(ROOT)))
def test_schema_and_loader_accept_the_projects_plans(validator: Any, path: Path) -> None:
    assert _loader_errors(path) == []
    assert _schema_errors(validator, path) == []


def test_there_are_plans_to_check() -> None:
    assert ROOT / "plans" / "tss-url-migration.yaml" in PLANS  # its `soak: ${soak}`
    assert GOOD


TEMPLATED = """\
runbook: 1
name: templated
vars: {code: 0, wait: 5s, ask: "Go on?", argv: [cat, x], codes: [200, 301], flag: false,
       one: 200, headers: {X-A: b}}
stages:
  - name: one
    confirm: ${ask}
    soak: ${wait}
    checks:
      - shell: {run: "${argv}", exit_code: "${code}", shell: "${flag}", timeout: "${wait}",
                env: "${headers}"}
        within: ${wait}
        every: ${wait}
      - http.get: {url: "https://example.test/", status: "${codes}", tls: {verify: "${flag}"}}
      - http.get: {url: "https://example.test/", status: ["${one}", 301]}
    steps:
      - id: s
        action:
          shell: {run: [echo, a], exit_code: "${code}", timeout: "${wait}"}
        post:
          - shell: {run: [echo, a], exit_code: "${code}"}
"""


def test_both_accept_templates_for_durations_numbers_booleans_lists(
        validator: Any, tmp_path: Path) -> None:
    plan = tmp_path / "templated.yaml"
    plan.write_text(TEMPLATED)
    assert _loader_errors(plan) == []
    assert _schema_errors(validator, plan) == []


@pytest.mark.parametrize("change, where", [
    # a step's `confirm` is read as written: true or false
    (("        action:", "        confirm: ${flag}\n        action:"), "confirm"),
    # a number that is text, not one template
    (('exit_code: "${code}", timeout', 'exit_code: "x${code}", timeout'), "exit_code"),
    (("soak: ${wait}", "soak: later"), "soak"),
])
def test_both_refuse_what_the_other_refuses(validator: Any, tmp_path: Path,
                                            change: tuple[str, str], where: str) -> None:
    plan = tmp_path / "wrong.yaml"
    plan.write_text(TEMPLATED.replace(*change, 1))
    assert any(where in e for e in _loader_errors(plan))
    assert any(where in e for e in _schema_errors(validator, plan))


def test_the_cli_prints_the_schema(cli: Callable[..., CliResult]) -> None:
    r = cli("schema")
    assert r.code == 0
    schema = json.loads(r.stdout)
    soak = schema["$defs"]["StageDoc"]["properties"]["soak"]
    assert {"type": "string", "pattern": r"^\$\{[^{}]+\}$",
            "description": "a reference, resolved when the plan is loaded or run"} in soak["anyOf"]
