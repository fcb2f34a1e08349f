"""Holes found by fuzzing (issue 11), each driven through the CLI: durations that are not
finite or too long, nesting deep enough to crash a parser, files that never end, control
characters, and a wrong `with:` value reported where the plan's author wrote it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import PLANS, run_cli

HEAD = "runbook: 1\nname: demo\n"


def _plan(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    (tmp_path / name).write_text(HEAD + body)
    return tmp_path


# ---- durations: finite and at most a week, wherever a plan gives one ----------------------

PLACES = {
    "within": ("stages:\n  - name: go\n    checks:\n      - shell: {run: 'true'}\n"
               "        within: VALUE\n", 7, 17, "`within`"),
    "every": ("stages:\n  - name: go\n    checks:\n      - shell: {run: 'true'}\n"
              "        every: VALUE\n", 7, 16, "`every`"),
    "soak": ("stages:\n  - name: go\n    soak: VALUE\n    checks:\n"
             "      - shell: {run: 'true'}\n", 5, 11, "`soak`"),
    "param": ("stages:\n  - name: go\n    steps:\n      - id: pause\n        action:\n"
              "          wait: {for: VALUE}\n        rollback: {none: nothing}\n", 8, 23,
              "wait parameter 'for'"),
}
VALUES = {"1e999": "an infinite number is too long for a duration; at most a week (7d)",
          ".inf": "an infinite number is too long for a duration",
          "8d": "'8d' is too long for a duration; at most a week (7d)",
          "604801": "604801 is too long for a duration",
          "1" + "0" * 400: "is too long for a duration",
          ".nan": "nan is not a duration"}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("value", sorted(VALUES))
def test_durations_are_finite_and_at_most_a_week(tmp_path: Path, place: str,
                                                 value: str) -> None:
    body, line, column, label = PLACES[place]
    folder = _plan(tmp_path, body.replace("VALUE", value))
    for command in (["validate", "p.yaml"], ["show", "p.yaml"]):
        # `show` (and `run`) once died here with "internal error: OverflowError" (exit 3)
        result = run_cli(*command, cwd=folder)
        assert result.code == 2, result.stderr
        assert result.stderr.startswith(f"error: {label}: "), result.stderr
        assert VALUES[value] in result.stderr
        assert result.stderr.rstrip().endswith(f"p.yaml, line {line}, column {column}")


def test_a_week_is_the_longest_duration(tmp_path: Path) -> None:
    body = PLACES["soak"][0].replace("VALUE", "6d23h59m60s")
    assert run_cli("validate", "p.yaml", cwd=_plan(tmp_path, body)).code == 0


# ---- nesting: refused before the parser recurses ------------------------------------------


@pytest.mark.parametrize(("opening", "column"), [("[", 72), ("{a: ", 261), ("- ", 127)])
@pytest.mark.parametrize("depth", [20_000, 30_000, 200_000])
def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path, opening: str, column: int,
                                              depth: int) -> None:
    """In a real process: 30 000 nested `[` once killed it with a segfault (exit 139)."""
    text = HEAD + ("stages: " + opening * depth if opening != "- "
                   else "stages:\n" + opening * depth + "x")
    (tmp_path / "deep.yaml").write_text(text + "\n")
    done = subprocess.run([sys.executable, "-m", "runbook", "validate", "deep.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    line = 3 if opening != "- " else 4
    assert done.stderr == ("error: the YAML is nested too deeply: more than 64 levels here "
                           "(a plan needs a few); is this the right file? — deep.yaml, line "
                           f"{line}, column {column}\n")


def test_nesting_a_plan_can_use_still_reads(tmp_path: Path) -> None:
    # many flow collections and long lines (the cheap bound is exceeded), shallow nesting
    body = ("vars:\n" + "".join(f"  v{i}: [{'[a], ' * 100}[b]]\n" for i in range(20))
            + "stages:\n  - name: go\n    checks:\n      - shell: {run: 'true'}\n")
    assert run_cli("validate", "p.yaml", cwd=_plan(tmp_path, body)).code == 0


# ---- files that never end ------------------------------------------------------------------


def test_dev_zero_is_read_no_further_than_the_cap(tmp_path: Path) -> None:
    result = run_cli("validate", "/dev/zero", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr == ("error: the plan file /dev/zero holds more than 2 MiB; a plan "
                             "is at most 2 MiB; is this the right file? — /dev/zero\n")


def _fifo(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "plan.yaml"
    os.mkfifo(path)

    def feed() -> None:
        try:
            with path.open("wb") as f:
                f.write(payload)
        except BrokenPipeError:  # the reader stopped at the cap: that is the point
            pass

    threading.Thread(target=feed, daemon=True).start()
    return path


def test_a_pipe_that_holds_a_plan_reads(tmp_path: Path) -> None:
    _fifo(tmp_path, (HEAD + "stages:\n  - name: go\n    checks:\n"
                     "      - shell: {run: 'true'}\n").encode())
    result = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert (result.code, result.stdout) == (0, "plan.yaml: ok\n"), result.stderr


def test_a_pipe_that_holds_too_much_is_cut_at_the_cap(tmp_path: Path) -> None:
    _fifo(tmp_path, b"# " + b"x" * (3 * 1024 * 1024))
    result = run_cli("validate", "plan.yaml", cwd=tmp_path)
    assert result.code == 2
    assert "the plan file plan.yaml holds more than 2 MiB" in result.stderr


# ---- control characters: named, with their line and column ---------------------------------


@pytest.mark.parametrize(("char", "shown"), [
    ("\x1a", "U+001A, shown as ^Z"), ("\x07", "U+0007, shown as ^G"),
    ("\x1b", "U+001B, shown as ^["), ("\x7f", "U+007F, shown as ^?"),
    ("\x9b", "U+009B"), ("\ufffe", "U+FFFE")])
@pytest.mark.parametrize("where", ["plain", "quoted", "comment"])
def test_control_characters_carry_line_and_column(tmp_path: Path, char: str, shown: str,
                                                  where: str) -> None:
    line3 = {"plain": f"title: ab{char}c", "quoted": f'title: "ab{char}c"',
             "comment": f"# ab{char}c"}[where]
    folder = _plan(tmp_path, line3 + "\nstages:\n  - name: go\n    checks:\n"
                   "      - shell: {run: 'true'}\n")
    result = run_cli("validate", "p.yaml", cwd=folder)
    assert result.code == 2
    column = line3.index(char) + 1
    assert result.stderr == (f"error: the file holds a character YAML does not allow "
                             f"({shown}): control characters are not allowed; delete it; it "
                             f"is invisible in most editors — p.yaml, line 3, column "
                             f"{column}\n")


# ---- a wrong `with:` value: the plan's mistake, reported in the plan -----------------------


def test_a_wrong_with_value_is_reported_once_at_the_plans_with_line() -> None:
    result = run_cli("validate", "bad-with-wrong-type.yaml", cwd=PLANS)
    assert result.code == 2
    # the value reaches the action and a post check of the library step: one error
    assert result.stderr.count("error: ") == 1
    assert "bad-with-wrong-type.yaml, line 7, column 22" in result.stderr


WITH = ("stages:\n  - name: go\n    steps:\n      - use: route53-alias\n"
        "        with: {zone: example.org, name: www.example.org, distribution: DIST}\n")


@pytest.mark.parametrize(("given", "words"), [
    ("ttl: soon", "route53.record parameter 'ttl': should be a whole number, not 'soon'"),
    ("type: [A, AAAA]", "route53.record parameter 'type': should be text"),
])
def test_wrong_with_values_name_the_library_line_they_reach(tmp_path: Path, given: str,
                                                             words: str) -> None:
    body = WITH.replace("DIST", f"E1EXAMPLE, {given}")
    folder = _plan(tmp_path, body)
    result = run_cli("validate", "p.yaml", cwd=folder)
    assert result.code == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 1, result.stderr
    assert words in errors[0]
    assert "reaches library step 'route53-alias' at " in errors[0]
    column = body.splitlines()[4].index(given.split(": ")[1]) + 1
    assert errors[0].endswith(f"— p.yaml, line 7, column {column}")


def test_an_unknown_variable_in_with_is_reported_once_in_the_plan(tmp_path: Path) -> None:
    """Once: the library step must not take the unresolved `${dist}` for a parameter."""
    body = WITH.replace("DIST", '"${dist}"')
    result = run_cli("validate", "p.yaml", cwd=_plan(tmp_path, body))
    assert result.code == 2
    column = body.splitlines()[4].index('"${dist}"') + 1
    assert result.stderr == f"error: unknown variable ${{dist}} — p.yaml, line 7, column {column}\n"
