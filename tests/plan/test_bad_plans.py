"""Broken plans, one file per mistake (tests/plans/bad-*.yaml), as a person meets them.

Each is run through ``runbook validate`` and must exit 2, print no traceback, and say
what is wrong and where: every problem line ends with ``FILE, line N, column M``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PLANS, CliResult, run_cli


# fixture -> (words the message must contain, line, column); the only error of the file.
def _library_line(step: str, text: str) -> int:
    """The line of a library step that holds ``text``: the library may move, the plan's
    own lines are what these cases pin."""
    lines = (Path(__file__).resolve().parents[2] / "steps" / f"{step}.yaml").read_text()
    return next(n for n, line in enumerate(lines.splitlines(), 1) if text in line)


_CONNECT_TO = _library_line("old-domain-redirect", "connect_to: ${connect_to}")
_SECOND_WEIGHT = _library_line("cloudfront-staged-switch-origin", "weight: ${second_weight}")

CASES: dict[str, tuple[list[str], int, int]] = {
    "bad-yaml-syntax": (["YAML syntax error", "flow mapping that starts at line 6"], 7, 1),
    "bad-flow-style-unquoted-template": (
        ["YAML syntax error", 'quote values that use ${...}, like {bucket: "${bucket}"}'], 8, 23),
    "bad-tab-indent": (["a tab character where YAML expects spaces"], 6, 1),
    "bad-duplicate-key": (["the key 'title' appears twice", "first at line 3"], 8, 1),
    "bad-two-documents": (["more than one YAML document"], 7, 1),
    "bad-wrong-type-protected": (
        ["`protected` in environment 'prod' should be true or false, not 'maybe'"], 5, 16),
    # YAML 1.2 reads `yes` as text; taking it for true here but not there would leave
    # prod unprotected
    "bad-protected-yes": (["`protected` in environment 'prod' should be true or false, "
                           "not 'yes'"], 6, 16),
    "bad-wrong-type-stages": (["`stages` in the plan should be a list, not a mapping"], 4, 3),
    "bad-wrong-param-type": (["shell parameter 'exit_code': should be a whole number",
                              "not 'zero'"], 6, 41),
    "bad-unknown-top-level-key": (["unknown key 'varz' in the plan", "did you mean 'vars'?"],
                                  3, 1),
    "bad-unknown-stage-key": (["unknown key 'check' in stage 1", "did you mean 'checks'?"],
                              5, 5),
    "bad-unknown-step-key": (["unknown key 'posts' in step 1 of stage 1",
                              "did you mean 'post'?"], 9, 9),
    "bad-unknown-environment-key": (["unknown key 'protect' in environment 'prod'",
                                     "did you mean 'protected'?"], 5, 5),
    "bad-unknown-aws-key": (["unknown key 'regoin' in the aws settings of environment 'prod'",
                             "did you mean 'region'?"], 5, 23),
    "bad-unknown-check-param": (["shell has no parameter 'contain'",
                                 "did you mean 'contains'?"], 8, 11),
    "bad-unknown-action-param": (["wait has no parameter 'because'", "it takes: for, reason"],
                                 10, 13),
    "bad-unknown-check-kind": (["unknown check kind 'shel'", "did you mean 'shell'?"], 6, 9),
    "bad-unknown-action-kind": (["unknown action kind 'waiting'", "did you mean 'wait'?"],
                                8, 11),
    "bad-check-kind-as-action": (["'http.get' is a check kind, not an action"], 8, 11),
    "bad-action-kind-as-check": (["'wait' is an action kind, not a check"], 6, 9),
    "bad-two-kinds-in-one-check": (["one check names 2 kinds (shell, http.get)"], 7, 9),
    "bad-check-not-a-mapping": (["a check must be a mapping", "'shell true'"], 6, 9),
    "bad-step-not-a-mapping": (["a step is a mapping", "not 'wait 5s'"], 6, 9),
    "bad-missing-kind-param": (["shell needs the parameter 'run'"], 6, 9),
    "bad-missing-version": (["the plan does not say its format version",
                             "add `runbook: 1`"], 1, 1),
    "bad-unsupported-version": (["format version 2 is not supported"], 1, 10),
    "bad-missing-name": (["the plan needs the key 'name'"], 1, 1),
    "bad-no-stages": (["the plan has no stages"], 3, 9),
    "bad-plan-name-not-slug": (["the plan name 'My Plan' must be a slug"], 2, 7),
    "bad-stage-name-not-slug": (["the stage name 'Go Live' must be a slug"], 4, 11),
    "bad-duplicate-stage-name": (["two stages are named 'go' (the first at line 4)"], 7, 11),
    "bad-duplicate-step-id": (["two steps have the id 'one' (the first at line 6)"], 8, 13),
    "bad-unknown-variable": (["unknown variable ${sitee}", "did you mean 'site'?"], 8, 22),
    # defined in one environment only: said once, naming both, not taken for a typo
    "bad-variable-in-some-environments": (
        ["variable ${site_distribution} is defined only in environment sandbox, not in prod",
         "or define it once in the plan's `vars`"], 11, 22),
    # what is accepted, in the plan's words, not pydantic's pattern
    "bad-status-not-a-code": (["http.get parameter 'status': should be a whole number or a "
                               "list or a class of statuses written like 2xx or 3xx",
                               "not '200 OK'"], 6, 57),
    "bad-variable-cycle": (["refer to each other in a circle: a -> b -> a"], 5, 6),
    "bad-unclosed-template": (["a `${` that is never closed"], 8, 22),
    "bad-template-expression": (["${port + 1} is not a reference", "no expressions"], 8, 22),
    "bad-list-variable-inside-text": (["${hosts} is a list", "not inside text"], 8, 22),
    "bad-unknown-step-output": (["${steps.one.stdot}: step 'one' (shell) has no output 'stdot'",
                                 "did you mean 'stdout'?"], 13, 24),
    "bad-later-step-output": (["${steps.two.stdout} refers to step 'two', which runs later "
                               "(line 11)"], 8, 24),
    "bad-unknown-step-in-reference": (["refers to a step 'won' that the plan does not have",
                                       "did you mean 'one'?"], 10, 26),
    "bad-self-reference-before-action": (["${steps.self.stdout} in `pre` names an output of "
                                          "this very step", "use it in `post` or `rollback`"],
                                         8, 26),
    "bad-unknown-environment": (["requires_rehearsal names 'staging', which is not an "
                                 "environment", "did you mean 'stage'?"], 6, 25),
    "bad-use-missing-library-step": (["no library step 'helo'", "did you mean 'hello'?"],
                                     6, 14),
    "bad-with-missing-param": (["library step 'hello' (steps/hello.yaml) needs the parameter "
                                "'who' (whom to greet)"], 6, 14),
    "bad-with-unknown-param": (["library step 'hello' (steps/hello.yaml) has no parameter "
                                "'whom'", "did you mean 'who'?"], 9, 11),
    "bad-use-and-action": (["either `use` or `action`, not both"], 8, 9),
    "bad-with-without-use": (["`with` goes with `use:`"], 8, 9),
    "bad-step-without-action": (["step 'one' has no `action`"], 6, 9),
    "bad-duration-within": (["`within`: '5 minutes' is not a duration"], 7, 17),
    "bad-duration-soak": (["`soak`: 'forever' is not a duration"], 5, 11),
    "bad-duration-param": (["wait parameter 'for': '1x' is not a duration"], 8, 23),
    "bad-duration-infinite": (["`within`: an infinite number is too long for a duration; "
                               "at most a week (7d)"], 7, 17),
    "bad-duration-too-long": (["`soak`: '8d' is too long for a duration; at most a week"],
                              5, 11),
    "bad-with-wrong-type": (["route53.record parameter 'zone': should be text, not 1",
                             "(`with: {zone: ...}` reaches library step 'route53-alias' at ",
                             "route53-alias.yaml, line 28, column 11)"], 7, 22),
    # the plan's mistakes in a library step are said at the plan's lines: the `with:`
    # value, and the variable that carried it; the library's line is the context
    "bad-with-variable-wrong-type": (
        ["route53.record parameter 'zone': should be text, not 1",
         "(`with: {zone: ...}` reaches library step 'route53-alias' at ",
         "route53-alias.yaml, line 28, column 11; its value comes from variable "
         "${zone_name}, set at bad-with-variable-wrong-type.yaml, line 4, column 14)"], 9, 22),
    "bad-with-self-output": (
        ["${steps.self.website_domain} in `pre` names an output of this very step",
         "(`with: {connect_to: ...}` reaches library step 'old-domain-redirect' at ",
         f"old-domain-redirect.yaml, line {_CONNECT_TO}, column 19)"], 12, 23),
    # a value the phase's own rule refuses (not its type) is the plan's too
    "bad-with-weight-over-15": (
        ["cloudfront.staged_update parameter 'traffic.2.weight': weight 20%: CloudFront "
         "sends at most 15% of requests to a staging distribution",
         "(`with: {second_weight: ...}` reaches library step 'cloudfront-staged-switch-origin'",
         f"cloudfront-staged-switch-origin.yaml, line {_SECOND_WEIGHT}, column 17)"], 14, 26),
    "bad-nesting-too-deep": (["the YAML is nested too deeply: more than 64 levels here",
                              "is this the right file?"], 4, 72),
    "bad-control-character": (["the file holds a character YAML does not allow (U+001A, "
                               "shown as ^Z): control characters are not allowed",
                               "delete it"], 3, 21),
    "bad-rollback-word": (["rollback 'manual' is not understood"], 9, 19),
    "bad-empty-stage": (["stage 'nothing' has neither checks nor steps"], 7, 5),
    "bad-not-a-mapping": (["a plan is a YAML mapping", "this file holds a list"], 1, 1),
    "bad-empty-file": (["the plan file is empty"], 1, 1),
    "bad-library-step-as-plan": (["this is a library step, not a plan", "`use: hello`"], 2, 7),
    # a prefix entry's `*` is only the last segment of the old URL's path
    "bad-redirect-star-not-last": (
        ["https://old.example.org/docs/*/page", "may only be the whole last segment"], 11, 15),
    # the redirect's target is the name the redirect distribution is then made to answer
    "bad-redirect-loop": (
        ["step 'redirect-bucket' redirects every request to old.example.org, and step "
         "'move-old-name' moves the alias old.example.org to distribution E2REDIRECT, which "
         "serves that redirect", "(a redirect loop)"], 8, 9),
}

PROBLEM = re.compile(r"^(error|warning): (.*) — (.+), line (\d+), column (\d+)$")


def problems(result: CliResult) -> list[tuple[str, str, str, int, int]]:
    """(severity, message, file, line, column) of every problem line on stderr."""
    out = []
    for line in result.stderr.splitlines():
        m = PROBLEM.match(line)
        assert m, f"not a problem line: {line!r}"
        out.append((m[1], m[2], m[3], int(m[4]), int(m[5])))
    return out


def validate(name: str, *extra: str) -> CliResult:
    return run_cli("validate", f"{name}.yaml", *extra, cwd=PLANS)


def test_every_fixture_is_covered() -> None:
    on_disk = {p.stem for p in PLANS.glob("bad-*.yaml")}
    assert len(CASES) >= 30
    assert on_disk - set(CASES) - {"bad-several-mistakes", "bad-library-step-broken"} == set()
    assert set(CASES) <= on_disk


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_plan(name: str) -> None:
    words, line, column = CASES[name]
    result = validate(name)
    assert result.code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [p for p in problems(result) if p[0] == "error"]
    assert len(errors) == 1, result.stderr
    _, message, file, got_line, got_column = errors[0]
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"
    assert (file, got_line, got_column) == (f"{name}.yaml", line, column)


def test_several_mistakes_are_reported_at_once() -> None:
    result = validate("bad-several-mistakes")
    assert result.code == 2
    found = [(p[3], p[4], p[1]) for p in problems(result)]
    assert [(line, col) for line, col, _ in found] == [
        (3, 1), (7, 9), (8, 22), (9, 17), (10, 11), (14, 19)]
    assert "unknown key 'colour'" in found[0][2]
    assert "unknown check kind 'shel'" in found[1][2]
    assert "unknown variable ${nope}" in found[2][2]
    assert "`within`: 'soon' is not a duration" in found[3][2]
    assert "two stages are named 'go'" in found[4][2]
    assert "rollback 'whenever' is not understood" in found[5][2]


def test_a_broken_library_step_is_reported_in_its_own_file() -> None:
    result = validate("bad-library-step-broken")
    assert result.code == 2
    found = problems(result)
    assert found[0][0] == "error"
    assert "unknown key 'postt' in the library step (did you mean 'post'?)" in found[0][1]
    assert found[0][2:] == ("steps/broken.yaml", 6, 1)


def test_unknown_environment_on_the_command_line() -> None:
    result = validate("bad-unknown-environment", "--env", "prd")
    assert result.code == 2
    assert "unknown environment 'prd' (did you mean 'prod'?); the plan has: stage, prod" \
        in result.stderr
    assert "bad-unknown-environment.yaml, line 4, column 3" in result.stderr


def test_var_option_with_a_misspelt_name() -> None:
    result = run_cli("validate", "good-full.yaml", "--var", "retires=4", cwd=PLANS)
    assert result.code == 2
    assert result.stderr == (
        "error: --var retires: the plan has no variable 'retires' (did you mean 'retries'?) "
        "and uses none by that name — good-full.yaml, line 9, column 3\n")


def test_env_option_without_environments(tmp_path: Path) -> None:
    plan = tmp_path / "p.yaml"
    plan.write_text("runbook: 1\nname: p\nstages:\n  - name: s\n    checks:\n"
                    "      - shell: {run: 'true'}\n")
    result = run_cli("validate", "p.yaml", "--env", "prod", cwd=tmp_path)
    assert result.code == 2
    assert "the plan has no environments, so --env prod names nothing" in result.stderr


# ---- files that are not plans at all: generated, not committed --------------------------


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_bytes(b"runbook: 1\nname: \x00\x01\x02\xff\xfe")
    result = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: plan.yaml is a binary file (it holds a NUL byte), not a YAML plan; is this "
        "the right file? — plan.yaml, line 2, column 7")


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_bytes(b"runbook: 1\nname: caf\xe9\n")
    result = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert result.code == 2
    assert "plan.yaml is not UTF-8 text (byte 0xe9 at offset 20); save the file as UTF-8 " \
        "— plan.yaml, line 2, column 10" in result.stderr


def test_directory_given_as_plan(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    result = run_cli("validate", "plans", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.strip() == ("error: plans is a folder, not a plan file; give the "
                                     "path of a .yaml file inside it")


def test_missing_file(tmp_path: Path) -> None:
    result = run_cli("validate", "nope.yaml", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.strip() == "error: the plan file nope.yaml does not exist"


def test_ten_megabyte_plan(tmp_path: Path) -> None:
    body = "runbook: 1\nname: big\nvars:\n" + "".join(
        f"  v{i}: {'x' * 90}\n" for i in range(110_000))
    (tmp_path / "big.yaml").write_text(body)
    assert (tmp_path / "big.yaml").stat().st_size > 10_000_000
    result = run_cli("validate", "big.yaml", cwd=tmp_path)
    assert result.code == 2
    assert "the plan file big.yaml is 10.6 MiB; a plan is at most 2 MiB; is this the right " \
        "file? — big.yaml" in result.stderr


def test_every_file_is_reported_when_several_are_given() -> None:
    result = run_cli("validate", "bad-unknown-variable.yaml", "bad-missing-version.yaml",
                     cwd=PLANS)
    assert result.code == 2
    assert "bad-unknown-variable.yaml, line 8" in result.stderr
    assert "bad-missing-version.yaml, line 1" in result.stderr


# ---- through a real process: no traceback, exit 2 ---------------------------------------


@pytest.mark.parametrize("args", [
    ["bad-yaml-syntax.yaml"], ["bad-several-mistakes.yaml"], ["no-such-file.yaml"], ["."],
    ["bad-empty-file.yaml"], ["bad-with-missing-param.yaml"],
])
def test_real_process(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "runbook", "validate", *args], cwd=PLANS,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("error: ")
    assert done.stdout == ""


def test_real_process_binary(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_bytes(bytes(range(256)) * 40)
    done = subprocess.run([sys.executable, "-m", "runbook", "validate", "x.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "x.yaml is a binary file" in done.stderr
