"""Loading good plans: what the resolved Plan holds for each environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import PlanError
from runbook.plan.loader import check_library_step, load, validate
from runbook.plan.template import resolve_runtime
from tests.conftest import PLANS

FULL = PLANS / "good-full.yaml"

HEAD = "runbook: 1\nname: t\n"


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def errors(path: Path, **kw: object) -> list[str]:
    return [str(p) for p in validate(path, **kw) if p.severity == "error"]  # type: ignore[arg-type]


# ---- variables and templates --------------------------------------------------------------


def test_variables_merge_plan_then_environment() -> None:
    stage = load(FULL, env="stage").plan
    prod = load(FULL, env="prod").plan
    assert stage.vars["site"] == "stage.example.org"  # environment wins over plan vars
    assert prod.vars["site"] == "www.example.org"
    assert stage.vars["url"] == "https://stage.example.org/"  # vars use vars, late bound
    assert stage.environment.vars == {"site": "stage.example.org"}


def test_command_line_variable_wins() -> None:
    plan = load(FULL, env="stage", variables={"site": "override.test"}).plan
    assert plan.vars["site"] == "override.test"
    assert plan.vars["url"] == "https://override.test/"
    assert plan.stages[1].title == "Change override.test"


def test_whole_value_reference_keeps_its_type() -> None:
    step = load(FULL, env="stage").plan.step("write")
    assert step is not None
    assert step.action.params["run"] == ["a.example.org", "b.example.org"]


def test_environment_builtin() -> None:
    assert load(FULL, env="prod").plan.title == "Move www.example.org (prod)"
    assert load(FULL, env="stage").plan.title == "Move stage.example.org (stage)"


def test_escape_stays_escaped_until_run_time() -> None:
    check = load(FULL, env="stage").plan.stages[0].checks[0]
    assert check.params["contains"] == "$${not a template}"
    ran = resolve_runtime(check.params, outputs={}, run_id="r1")
    assert ran["contains"] == "${not a template}"


def test_deferred_references_stay_as_text() -> None:
    step = load(FULL, env="stage").plan.step("write")
    assert step is not None
    assert step.action.params["env"] == {"TOKEN": "${env:DEPLOY_TOKEN}"}
    assert load(FULL, env="stage").plan.stages[2].checks[0].params["run"] == \
        "echo ${steps.write.stdout}"


def test_a_variable_cycle_is_reported_once_per_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "vars:\n  a: ${b}\n  b: ${c}\n  c: ${a}\nstages:\n"
                 "  - name: s\n    checks:\n      - shell: {run: \"${a}\"}\n")
    found = errors(path)
    assert len(found) == 1
    assert "the variables refer to each other in a circle: a -> b -> c -> a" in found[0]


def test_var_option_supplies_a_variable_the_plan_only_uses(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    checks:\n"
                 "      - shell: {run: \"echo ${who}\"}\n")
    assert errors(path) != []
    assert errors(path, variables={"who": "me"}) == []
    assert load(path, variables={"who": "me"}).plan.vars["who"] == "me"


def test_var_option_naming_nothing_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "vars: {version: v1}\nstages:\n  - name: s\n    checks:\n"
                 "      - shell: {run: \"echo ${version}\"}\n")
    found = errors(path, variables={"verison": "v2"})
    assert len(found) == 1
    assert found[0].startswith("--var verison: the plan has no variable 'verison' (did you "
                               "mean 'version'?) and uses none by that name — ")
    assert found[0].endswith("plan.yaml, line 3, column 7")


# ---- environments -------------------------------------------------------------------------


def test_environment_settings() -> None:
    env = load(FULL, env="prod").plan.environment
    assert env.protected and env.requires_rehearsal == "stage"
    assert env.aws.profile == "prod-admin" and env.aws.region == "eu-west-2"
    assert env.resolvers == ("192.0.2.53",)
    assert load(FULL, env="prod").plan.environments == ("stage", "prod")


def test_a_plan_with_environments_needs_one_chosen() -> None:
    with pytest.raises(PlanError) as err:
        load(FULL)
    assert "this plan has environments (stage, prod): choose one with --env" in str(err.value)


def test_a_plan_without_environments_runs_on_default(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    checks:\n"
                 "      - shell: {run: \"echo ${environment}\"}\n")
    plan = load(path).plan
    assert plan.environment.name == "default"
    assert plan.stages[0].checks[0].params["run"] == "echo default"


# ---- library steps ----------------------------------------------------------------------


def test_library_step_with_defaults_and_self_outputs() -> None:
    step = load(FULL, env="stage").plan.step("change-2")
    assert step is not None
    assert step.library == "hello"
    assert step.title == "Say hello to stage.example.org"
    assert step.action.params["run"] == "echo hello stage.example.org"  # default greeting
    assert step.post[0].params["run"] == "echo ${steps.change-2.stdout}"  # steps.self
    assert step.post[0].source.file.endswith("steps/hello.yaml")


def test_self_outputs_in_a_plan_step() -> None:
    step = load(FULL, env="stage").plan.step("write")
    assert step is not None
    assert step.post[0].params["run"] == \
        "test ${steps.write.exit_code} = ${steps.write.exit_code}"


def test_nearest_steps_folder_wins(tmp_path: Path) -> None:
    write(tmp_path, "runbook: 1\nstep: hi\naction: {wait: {for: 1s}}\n", "steps/hi.yaml")
    write(tmp_path, "runbook: 1\nstep: hi\naction: {wait: {for: 9s}}\n", "team/steps/hi.yaml")
    plan = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n      - use: hi\n",
                 "team/plans/p.yaml")
    top = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n      - use: hi\n",
                "p.yaml")
    assert load(plan).plan.steps()[0].action.params == {"for": "9s"}
    assert load(top).plan.steps()[0].action.params == {"for": "1s"}


def test_library_step_sees_only_its_parameters(tmp_path: Path) -> None:
    write(tmp_path, "runbook: 1\nstep: hi\nparams: {who: {}}\naction:\n"
          "  manual: {instructions: \"greet ${who} in ${zone} on ${environment}\"}\n",
          "steps/hi.yaml")
    path = write(tmp_path, HEAD + "vars: {zone: z}\nstages:\n  - name: s\n    steps:\n"
                 "      - use: hi\n        with: {who: me}\n")
    found = [str(p) for p in validate(path) if p.severity == "error"]
    assert len(found) == 1
    assert "unknown parameter ${zone}" in found[0]
    assert found[0].endswith("steps/hi.yaml, line 5, column 26")


def test_library_step_used_twice_reports_its_mistake_once(tmp_path: Path) -> None:
    write(tmp_path, "runbook: 1\nstep: hi\naction: {wait: {for: never}}\n", "steps/hi.yaml")
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n      - use: hi\n"
                 "      - use: hi\n")
    assert len(errors(path)) == 1


def test_library_step_named_unlike_its_file(tmp_path: Path) -> None:
    step = write(tmp_path, "runbook: 1\nstep: hello\naction: {wait: {for: 1s}}\n",
                 "steps/hi.yaml")
    found = [str(p) for p in check_library_step(step)]
    assert found == ["the library step in " + found[0].split("the library step in ")[1]]
    assert "calls itself 'hello'; plans find it by its file name, so write `step: hi`" \
        in found[0]


def test_check_library_step_alone(tmp_path: Path) -> None:
    step = write(tmp_path, "runbook: 1\nstep: hi\nparams:\n  name: {}\n  t: {default: 5}\n"
                 "action:\n  shell: {run: \"echo ${name} ${nam}\", timeout: \"${t}\"}\n",
                 "steps/hi.yaml")
    found = [str(p) for p in check_library_step(step) if p.severity == "error"]
    assert len(found) == 1 and "unknown parameter ${nam} (did you mean 'name'?)" in found[0]
    assert found[0].endswith("hi.yaml, line 7, column 16")


# ---- step outputs ---------------------------------------------------------------------------


STEPS = HEAD + """\
stages:
  - name: a
    steps:
      - id: one
        action: {shell: {run: date, undo: "true"}}
        post: [{shell: {run: "echo ${steps.one.stdout}"}}]
        rollback:
          - shell: {run: "echo ${steps.self.exit_code}"}
  - name: b
    checks:
      - shell: {run: "echo ${steps.one.stdout}"}
    steps:
      - id: two
        pre: [{shell: {run: "echo ${steps.one.exit_code}"}}]
        action: {shell: {run: "echo ${steps.one.stdout}", undo: "true"}}
        post: [{shell: {run: "true"}}]
"""


def test_outputs_of_earlier_steps_and_own_outputs_after_the_action(tmp_path: Path) -> None:
    path = write(tmp_path, STEPS)
    assert errors(path) == []
    plan = load(path).plan
    one = plan.step("one")
    assert one is not None
    assert one.rollback.mode == "actions"
    assert one.rollback.actions[0].params["run"] == "echo ${steps.one.exit_code}"


def test_a_stage_gate_cannot_use_self(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    checks:\n"
                 "      - shell: {run: \"echo ${steps.self.stdout}\"}\n")
    assert "a stage's checks belong to no step" in errors(path)[0]


def test_own_output_by_id_in_the_action(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n      - id: one\n"
                 "        action: {shell: {run: \"echo ${steps.one.stdout}\"}}\n")
    assert "${steps.one.stdout} in `action` names an output of this very step" in \
        errors(path)[0]


def test_reference_to_a_step_whose_action_is_broken(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n      - id: one\n"
                 "        action: {shel: {run: date}}\n      - id: two\n"
                 "        action: {shell: {run: \"echo ${steps.one.anything}\"}}\n")
    found = errors(path)
    assert len(found) == 1 and "unknown action kind 'shel'" in found[0]


def test_the_id_self_is_reserved(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n      - id: self\n"
                 "        action: {wait: {for: 1s}}\n")
    assert "the step id 'self' is reserved" in errors(path)[0]


def test_derived_step_ids(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n"
                 "      - action: {wait: {for: 1s}}\n      - action: {wait: {for: 2s}}\n")
    assert [s.id for s in load(path).plan.steps()] == ["s-1", "s-2"]


# ---- lint ---------------------------------------------------------------------------------


LINT = """\
runbook: 1
name: lint
environments:
  prod: {protected: true}
stages:
  - name: s
    steps:
      - id: no-post
        action: {shell: {run: date, undo: "true"}}
      - id: no-reason
        action: {shell: {run: date}}
        post: [{shell: {run: "true"}}]
        rollback: {none: }
"""


def test_lint_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, LINT)
    found = validate(path)
    assert [p.severity for p in found] == ["warning"] * 3
    text = [str(p) for p in found]
    assert "environment 'prod' is protected but has no `requires_rehearsal`" in text[0]
    assert text[0].endswith("plan.yaml, line 4, column 10")
    assert "step 'no-post' changes something (shell) but has no `post` checks" in text[1]
    assert text[1].endswith("line 8, column 9")
    assert "step 'no-reason' has `rollback: none` without a reason" in text[2]
    assert text[2].endswith("line 13, column 19")
    loaded = load(path, env="prod")
    assert len(loaded.warnings) == 3
    with pytest.raises(PlanError) as err:
        load(path, env="prod", strict=True)
    assert len(err.value.problems) == 3


def test_wait_needs_no_post_check(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "stages:\n  - name: s\n    steps:\n"
                 "      - action: {wait: {for: 1s}}\n")
    assert validate(path) == []


# ---- digest ----------------------------------------------------------------------------


def test_digest_ignores_comments_and_formatting(tmp_path: Path) -> None:
    base = load(FULL, env="stage").plan.digest
    text = FULL.read_text()
    reformatted = text.replace("# A plan", "# Another comment\n# A plan").replace(
        "vars:\n  zone: example.org", "vars:   # with a comment\n  zone:    'example.org'")
    path = write(tmp_path, reformatted)
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "hello.yaml").write_text((PLANS / "steps" / "hello.yaml").read_text())
    assert load(path, env="stage").plan.digest == base
    changed = write(tmp_path, text.replace("retries: 3", "retries: 4"))
    assert load(changed, env="stage").plan.digest != base
    assert load(FULL, env="prod").plan.digest != base  # another environment, another plan
