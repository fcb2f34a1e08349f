"""Mutated plans through `runbook validate`, as a person's editor or a bad merge makes
them: byte flips, deleted and duplicated lines, values of the wrong type, deep nesting and
control characters. Whatever the file holds, the answer is exit 0 or 2, never an internal
error, and every problem names the file that holds the mistake with a line and column: the plan
(only the plan is mutated, so a problem reported in a library step it uses is reported in
the wrong place). A plan that validates must also `show`.

Bounded: ``RUNBOOK_FUZZ_EXAMPLES`` (default 150) mutated plans, a few seconds. Set it to
10000 for a long hunt.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli

from .test_fuzz_loader import GOOD, LIBRARY

EXAMPLES = int(os.environ.get("RUNBOOK_FUZZ_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

SEEDS = {
    "plan.yaml": GOOD.encode(),
    "aws.yaml": b"""\
runbook: 1
name: aws
vars: {zone: example.org, site: www.example.org}
environments:
  stage: {aws: {region: eu-west-2}, vars: {dist: E2STAGE}}
  prod: {protected: true, requires_rehearsal: stage, vars: {dist: E1PROD}}
stages:
  - name: preflight
    checks:
      - cloudfront.distribution: {id: "${dist}", status: Deployed}
        within: 5m
        every: 10s
  - name: switch
    soak: 1m
    steps:
      - id: alias
        action:
          cloudfront.update: {id: "${dist}", aliases: {add: ["${site}"]}}
        post:
          - http.get: {url: "https://${site}/", status: 200}
      - use: route53-alias
        with: {zone: "${zone}", name: "${site}", distribution: "${dist}", ttl: 60}
      - id: pause
        action: {wait: {for: 30s, reason: caches}}
        rollback: {none: "waiting changes nothing"}
""",
}
# values a mutation puts in place of another: each a different YAML type, or a trap
SWAPS = ["[]", "{}", "1", "-1", "true", "null", "1e999", ".nan", "'${x}'", "[a, b]",
         "{a: 1}", "99999999999999999999999d", "0x1F", "2024-01-01", "!!binary aGk=",
         "*nope", "&a [*a]", "'\x1a'", "|\n  text"]
CONTROL = [chr(c) for c in (*range(9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0x85,
                            0xFFFE)]

PROBLEM = re.compile(r"^(error|warning): (.+) — (?P<file>[^—]+?)"
                     r"(, line (?P<line>\d+), column (?P<col>\d+))?$")


def _mutate(text: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    for op, a, b in ops:
        lines = text.split(b"\n")
        i = a % max(len(lines), 1)
        if op == "flip" and text:
            at = a % len(text)
            text = text[:at] + bytes([text[at] ^ (1 << (b % 8))]) + text[at + 1:]
        elif op == "delete":
            del lines[i]
            text = b"\n".join(lines)
        elif op == "dup":
            lines.insert(i, lines[i])
            text = b"\n".join(lines)
        elif op == "swap":  # the value after `key:` becomes another type
            head, sep, _ = lines[i].partition(b": ")
            if sep:
                lines[i] = head + sep + SWAPS[b % len(SWAPS)].encode()
            text = b"\n".join(lines)
        elif op == "nest":
            at = a % (len(text) + 1)
            depth = [3, 70, 1_500, 30_000][b % 4]
            text = text[:at] + (b"[" if b % 2 else b"{a: ") * depth + text[at:]
        elif op == "control":
            at = a % (len(text) + 1)
            text = text[:at] + CONTROL[b % len(CONTROL)].encode() + text[at:]
    return text


OPS = st.lists(st.tuples(st.sampled_from(["flip", "delete", "dup", "swap", "nest",
                                          "control"]),
                         st.integers(0, 10_000), st.integers(0, 1_000)),
               min_size=1, max_size=4)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "steps").mkdir()
    (root / "steps" / "hello.yaml").write_text(LIBRARY)
    return root


def _check(folder: Path, name: str, body: bytes) -> None:
    (folder / name).write_bytes(body)
    result = run_cli("validate", name, cwd=folder)  # an exception here is an internal error
    assert result.code in (0, 2), (result.code, result.stderr, body[:300])
    if result.code == 0:
        assert result.stdout.startswith(f"{name}: ok"), result.stdout
        # what validates must also show: `within: 1e999` once passed here and then
        # killed `show` and `run` with an OverflowError
        shown = run_cli("show", name, "--env", "stage", cwd=folder)
        assert shown.code in (0, 2), (shown.code, shown.stderr, body[:300])
    else:
        assert result.stderr, "exit 2 says why"
    for line in result.stderr.splitlines():
        m = PROBLEM.match(line)
        assert m, f"not one problem per line, ending with its file and line: {line!r}"
        # only the plan is mutated, never the library steps it uses: a mistake reported
        # in a library file (a wrong `with:` value) is reported at the wrong place
        assert m["file"] == name, line
        assert m["line"] is not None and int(m["line"]) >= 1, line


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_the_seeds_are_good(folder: Path, name: str) -> None:
    (folder / name).write_bytes(SEEDS[name])
    result = run_cli("validate", name, cwd=folder)
    assert result.code == 0, result.stderr


@SETTINGS
@given(name=st.sampled_from(sorted(SEEDS)), ops=OPS)
def test_mutated_plans_through_validate(folder: Path, name: str,
                                        ops: list[tuple[str, int, int]]) -> None:
    _check(folder, name, _mutate(SEEDS[name], ops))
