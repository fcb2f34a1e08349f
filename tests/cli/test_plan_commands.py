"""The plan commands as a person uses them: validate, show, schema, kinds."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from runbook import kinds
from tests.conftest import PLANS, CliResult, run_cli
from tests.plan.test_loader import LINT  # one plan with every lint warning

DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def show(*args: str) -> CliResult:
    return run_cli("show", "good-full.yaml", *args, cwd=PLANS)


# ---- validate -------------------------------------------------------------------------


def test_validate_a_good_plan() -> None:
    result = run_cli("validate", "good-full.yaml", cwd=PLANS)
    assert (result.code, result.stdout, result.stderr) == (0, "good-full.yaml: ok\n", "")


def test_validate_one_environment() -> None:
    result = run_cli("validate", "good-full.yaml", "--env", "prod", cwd=PLANS)
    assert result.code == 0


def test_lint_warns_and_strict_fails(tmp_path: Path) -> None:
    (tmp_path / "lint.yaml").write_text(LINT)
    plain = run_cli("validate", "lint.yaml", cwd=tmp_path)
    assert plain.code == 0
    assert plain.stdout == "lint.yaml: ok (3 warnings)\n"
    lines = plain.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("warning: ") for line in lines)
    assert "environment 'prod' is protected but has no `requires_rehearsal`" in lines[0]
    assert "step 'no-post' changes something (shell) but has no `post` checks" in lines[1]
    assert "step 'no-reason' has `rollback: none` without a reason" in lines[2]
    strict = run_cli("validate", "--strict", "lint.yaml", cwd=tmp_path)
    assert strict.code == 2
    assert strict.stdout == ""
    assert [line.split(":")[0] for line in strict.stderr.splitlines()] == ["error"] * 3


def test_var_option(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("runbook: 1\nname: p\nstages:\n  - name: s\n    checks:\n"
                                     "      - shell: {run: \"echo ${who}\"}\n")
    assert run_cli("validate", "p.yaml", cwd=tmp_path).code == 2
    assert run_cli("validate", "p.yaml", "--var", "who=me", cwd=tmp_path).code == 0
    bad = run_cli("validate", "p.yaml", "--var", "who", cwd=tmp_path)
    assert (bad.code, bad.stderr) == (2, "error: --var 'who' is not name=value\n")


# ---- show -----------------------------------------------------------------------------


def test_show_text() -> None:
    result = show("--env", "prod")
    assert result.code == 0
    out = result.stdout
    assert "Move www.example.org (prod) (good-full) on prod (protected, requires rehearsal " \
        "on stage)" in out
    assert "step write: Write the marker" in out
    assert "step change-2: Say hello to www.example.org (library: hello)" in out
    assert "check: the site answers (within 1m30s, every 10s)" in out
    assert "rollback: none (waiting changes nothing)" in out
    assert "$${" not in out
    assert re.search(r"^digest: [0-9a-f]{64}$", out, re.M)


def test_show_masks_secrets_in_every_format() -> None:
    for fmt in ("text", "markdown", "json"):
        out = show("--env", "stage", "--format", fmt).stdout
        assert "DEPLOY_TOKEN" not in out, fmt
    data = json.loads(show("--env", "stage", "-f", "json").stdout)
    step = data["stages"][1]["steps"][0]
    assert step["action"]["params"]["env"] == {"TOKEN": "***"}


def test_show_markdown() -> None:
    result = show("--env", "stage", "--format", "markdown")
    out = result.stdout
    assert out.startswith("# Move stage.example.org (stage)\n")
    assert "## Stage 2: change - Change stage.example.org" in out
    assert "> **Gate:** Change stage.example.org now?" in out
    assert "### Step `write`: Write the marker" in out
    assert "- [ ] the site answers (within 1m30s, every 10s)" in out
    assert "Soak: re-run the checks for 10m." in out
    assert DIGEST.search(out)


def test_show_json_and_its_digest() -> None:
    data = json.loads(show("--env", "stage", "-f", "json").stdout)
    assert data["name"] == "good-full"
    assert data["environment"]["name"] == "stage"
    assert data["vars"]["hosts"] == ["a.example.org", "b.example.org"]
    assert data["stages"][0]["checks"][0]["params"]["contains"] == "${not a template}"
    text = show("--env", "stage").stdout
    assert f"digest: {data['digest']}" in text
    assert data["digest"] != json.loads(show("--env", "prod", "-f", "json").stdout)["digest"]


def test_digest_ignores_comments_but_not_values(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "hello.yaml").write_text((PLANS / "steps" / "hello.yaml").read_text())
    original = (PLANS / "good-full.yaml").read_text()
    digest = DIGEST.search(show("--env", "stage").stdout)
    assert digest
    (tmp_path / "a.yaml").write_text("# new comment\n" + original.replace(
        "  retries: 3", "  retries:     3   # tries"))
    (tmp_path / "b.yaml").write_text(original.replace("retries: 3", "retries: 5"))
    a = run_cli("show", "a.yaml", "--env", "stage", cwd=tmp_path).stdout
    b = run_cli("show", "b.yaml", "--env", "stage", cwd=tmp_path).stdout
    assert f"digest: {digest[0]}" in a
    assert f"digest: {digest[0]}" not in b


def test_show_needs_an_environment_and_a_format() -> None:
    result = show()
    assert result.code == 2
    assert "this plan has environments (stage, prod): choose one with --env" in result.stderr
    result = show("--env", "stage", "--format", "yaml")
    assert (result.code, result.stderr) == (
        2, "error: --format 'yaml': choose text, markdown or json\n")


def test_show_a_bad_plan() -> None:
    result = run_cli("show", "bad-unknown-variable.yaml", cwd=PLANS)
    assert result.code == 2 and result.stdout == ""
    assert "unknown variable ${sitee}" in result.stderr


# ---- schema ---------------------------------------------------------------------------


def test_schema_is_json_and_names_every_kind() -> None:
    result = run_cli("schema")
    assert result.code == 0
    schema = json.loads(result.stdout)
    defs = schema["$defs"]
    for name in kinds.checks():
        assert f"check:{name}" in defs
    for name in kinds.actions():
        assert f"action:{name}" in defs
    assert {"PlanDoc", "StageDoc", "StepDoc", "EnvironmentDoc"} & set(defs) >= \
        {"StageDoc", "StepDoc", "EnvironmentDoc"}


def test_schema_accepts_good_plans_and_rejects_bad_ones() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    schema = json.loads(run_cli("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    yaml = YAML(typ="safe")
    good = yaml.load((PLANS / "good-full.yaml").read_text())
    assert [e.message for e in validator.iter_errors(good)] == []
    for name in ("bad-unknown-top-level-key", "bad-unknown-check-kind", "bad-duration-within",
                 "bad-two-kinds-in-one-check", "bad-unknown-action-param",
                 "bad-plan-name-not-slug", "bad-unsupported-version"):
        bad = yaml.load((PLANS / f"{name}.yaml").read_text())
        assert list(validator.iter_errors(bad)), name


def test_schema_by_hand() -> None:
    """What an editor relies on, without a JSON Schema library."""
    schema = json.loads(run_cli("schema").stdout)
    assert schema["required"] == ["runbook", "name", "stages"]
    assert schema["additionalProperties"] is False
    wait = schema["$defs"]["action:wait"]
    assert wait["required"] == ["wait"] and wait["additionalProperties"] is False
    assert "for" in wait["properties"]["wait"]["properties"]
    step = schema["$defs"]["StepDoc"]["properties"]
    assert step["pre"]["items"] == {"$ref": "#/$defs/Check"}


# ---- kinds ----------------------------------------------------------------------------


def test_kinds_lists_every_kind_and_library_step() -> None:
    result = run_cli("kinds", cwd=PLANS)
    assert result.code == 0
    for name in [*kinds.checks(), *kinds.actions()]:
        assert re.search(rf"^{re.escape(name)}\s", result.stdout, re.M), name
    assert "library steps: " in result.stdout and "hello" in result.stdout


def test_kinds_describes_one_kind() -> None:
    out = run_cli("kinds", "shell").stdout
    assert "shell (check): run a command; pass on its exit code and output" in out
    assert "shell (action):" in out
    assert re.search(r"^timeout\s+duration\s+5m\s+kill the command after this long", out, re.M)
    assert re.search(r"^run\s+str \| list\[str\]\s+required", out, re.M)
    assert "outputs: stdout (what the command printed (stripped)), exit_code" in out
    wait = run_cli("kinds", "wait").stdout
    assert re.search(r"^for\s+duration\s+required\s+how long to wait", wait, re.M)
    assert "rollback: nothing to restore (waiting changes nothing)" in wait


def test_kinds_names_types_as_plans_write_them(cli: Callable[..., CliResult]) -> None:
    out = cli("kinds", "http.get").stdout
    # An optional duration reads as one, not as typing's Optional[Annotated[float, ...]].
    assert re.search(r"^timeout\s+duration \| None\s+null\s+give up on a request", out, re.M)
    assert "Annotated" not in out and "BeforeValidator" not in out
    assert re.search(r"^status\s+int \| list\[int\] \| str\s+200", out, re.M)
    dns = cli("kinds", "dns.record").stdout
    assert re.search(r'^resolvers\s+"system" \| "authoritative" \| list\[str\]\s', dns, re.M)
    assert re.search(r"^ttl_max\s+duration \| None\s", dns, re.M)


def test_kinds_describes_a_library_step() -> None:
    out = run_cli("kinds", "hello", cwd=PLANS).stdout
    assert "hello (library step, steps/hello.yaml): Say ${greeting} to ${who}" in out
    assert re.search(r"^who\s+required\s+whom to greet", out, re.M)
    assert re.search(r"^greeting\s+'hello'", out, re.M)


def test_kinds_unknown_name() -> None:
    result = run_cli("kinds", "wiat")
    assert result.code == 2
    assert result.stderr == ("error: no kind or library step 'wiat' (did you mean 'wait'?); "
                             "`runbook kinds` lists them\n")
