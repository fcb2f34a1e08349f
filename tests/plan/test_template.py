"""``${...}`` templates: load-time resolution, run-time resolution, display, secrets."""

from __future__ import annotations

from typing import Any

import pytest

from runbook.plan.template import (
    Resolver,
    TemplateError,
    for_display,
    redact,
    references,
    rename_self,
    resolve_runtime,
)


def resolver(variables: dict[str, Any], env: str = "stage") -> tuple[Resolver, list[str]]:
    errors: list[str] = []
    return Resolver(variables, env, lambda msg, path: errors.append(msg)), errors


@pytest.mark.parametrize(("text", "expected"), [
    ("${hosts}", ["a", "b"]),  # a whole value keeps its type
    ("${port}", 443),
    ("${flag}", True),
    ("${none}", None),
    ("https://${site}:${port}/", "https://example.org:443/"),
    ("${flag}-${none}", "true-"),
    ("$${site}", "$${site}"),  # escapes stay until run time
    ("a $${b} ${site}", "a $${b} example.org"),
    ("${environment}", "stage"),
    ("${run_id}", "${run_id}"),
    ("${steps.one.out}", "${steps.one.out}"),
    ("x ${env:TOKEN} y", "x ${env:TOKEN} y"),
    ("${url}", "https://example.org/"),  # variables use variables
    ("no template", "no template"),
    ("$ {not} {one}", "$ {not} {one}"),
])
def test_load_time_resolution(text: str, expected: Any) -> None:
    r, errors = resolver({"hosts": ["a", "b"], "port": 443, "flag": True, "none": None,
                          "site": "example.org", "url": "https://${site}/"})
    assert r.resolve(text) == expected
    assert errors == []


def test_resolution_walks_mappings_and_lists() -> None:
    r, _ = resolver({"a": "x"})
    assert r.resolve({"k": ["${a}", {"n": "${a}-y"}], "i": 1}) == \
        {"k": ["x", {"n": "x-y"}], "i": 1}


@pytest.mark.parametrize(("text", "message"), [
    ("${nope}", "unknown variable ${nope}"),
    ("${sit}", "unknown variable ${sit} (did you mean 'site'?)"),
    ("${a.b}", "${a.b} is not a reference runbook understands"),
    ("${ site + 1 }", "is not a reference runbook understands"),
    ("x ${site", "a `${` that is never closed with `}`"),
    ("x ${hosts} y", "${hosts} is a list; it can stand alone as a whole value but not inside"),
])
def test_load_time_errors(text: str, message: str) -> None:
    r, errors = resolver({"site": "s", "hosts": ["a"]})
    r.resolve(text)
    assert len(errors) == 1
    assert message in errors[0]


def test_cycles_are_reported_once_and_do_not_cascade() -> None:
    r, errors = resolver({"a": "${b}", "b": "x-${a}", "c": "${a}"})
    r.resolved_vars()
    assert errors == ["the variables refer to each other in a circle: a -> b -> a"]


def test_a_self_reference_is_a_cycle() -> None:
    r, errors = resolver({"a": "${a}"})
    r.resolved_vars()
    assert errors == ["the variables refer to each other in a circle: a -> a"]


def test_no_code_is_ever_evaluated() -> None:
    r, errors = resolver({})
    assert r.resolve("${__import__('os').system('true')}") == \
        "${__import__('os').system('true')}"
    assert "no expressions" in errors[0]


def test_runtime_resolution() -> None:
    secrets: set[str] = set()
    value = {"url": "https://${steps.a.host}/", "ids": "${steps.a.ids}",
             "token": "Bearer ${env:TOKEN}", "run": "${run_id}", "lit": "$${x}"}
    out = resolve_runtime(value, outputs={"a": {"host": "h.example", "ids": [1, 2]}},
                          run_id="r-1", environ={"TOKEN": "s3cret"}, secrets=secrets)
    assert out == {"url": "https://h.example/", "ids": [1, 2], "token": "Bearer s3cret",
                   "run": "r-1", "lit": "${x}"}
    assert secrets == {"s3cret"}
    assert redact(f"said {out['token']}", secrets) == "said Bearer ***"


@pytest.mark.parametrize(("value", "message"), [
    ("${env:UNSET_X}", "the environment variable UNSET_X is not set"),
    ("${steps.b.x}", "step b has not run in this run"),
    ("${steps.a.y}", "step a has no output y"),
    ("${site}", "was not resolved when the plan was loaded"),
])
def test_runtime_errors(value: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        resolve_runtime(value, outputs={"a": {"x": 1}}, run_id="r", environ={})
    assert message in str(err.value)


def test_display_masks_secrets_and_undoes_escapes() -> None:
    assert for_display({"h": ["Bearer ${env:TOKEN}", "$${x}", "${steps.a.b}"]}) == \
        {"h": ["Bearer ***", "${x}", "${steps.a.b}"]}


def test_rename_self() -> None:
    assert rename_self({"a": ["${steps.self.out} ${steps.other.out}", "$${steps.self.x}"]},
                       "alias") == {"a": ["${steps.alias.out} ${steps.other.out}",
                                          "$${steps.self.x}"]}


def test_references_skip_escapes() -> None:
    found = [(r.kind, r.text, p) for r, p in references({"a": "$${x} ${y}", "b": ["${env:Z}"]})]
    assert found == [("var", "y", ("a",)), ("env", "env:Z", ("b", 0))]
