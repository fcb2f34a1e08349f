"""cloudfront.function_test through the CLI against the twin: a plan proves a function
(through TestFunction) before a distribution runs it; a wrong expectation fails the run
naming the case, and a function that does not exist is an error naming the plan line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
buckets:
  - name: site-bucket
    objects: {index.html: home}
"""

CODE = """import cf from 'cloudfront';
function handler(event) {
  var request = event.request;
  if (request.uri === '/old') {
    return { statusCode: 301, statusDescription: 'Moved Permanently',
             headers: { location: { value: 'https://new.example.test/' } } };
  }
  if (request.uri.endsWith('/')) { request.uri += 'index.html'; }
  request.headers['x-lang'] = { value: request.cookies.lang ? request.cookies.lang.value : 'en' };
  return request;
}
"""

PLAN = """\
runbook: 1
name: prove-function
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: prove
    checks:
      - cloudfront.function_test:
          function: FUNCTION
          stage: DEVELOPMENT
          cases:
            - request: {uri: /old}
              expect: {status: 301, headers: {Location: "https://new.example.test/"}}
            - request: {uri: "/docs/?page=2", cookies: {lang: fr}}
              expect: {uri: /docs/index.html, query: page=2, headers: {x-lang: fr}}
            - request: {uri: /a.html}
              expect: {uri: WANT}
"""


def setup(tmp_path: Path, small_twin: Any, want: str = "/a.html",
          function: str = "rewrite") -> Path:
    _twin, look = small_twin(WORLD)
    cf = look.client("cloudfront")
    cf.create_function(Name="rewrite", FunctionCode=CODE.encode(),
                       FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"})
    plan = tmp_path / "plan.yaml"
    plan.write_text(textwrap.dedent(PLAN).replace("FUNCTION", function).replace("WANT", want))
    return plan


def run(cli: Any, tmp_path: Path, plan: Path) -> Any:
    return cli("run", str(plan), "--env", "sandbox", "--yes", "--state-dir",
               str(tmp_path / "state"))


def test_a_function_that_gives_what_the_table_expects_passes(cli, tmp_path, small_twin):
    r = run(cli, tmp_path, setup(tmp_path, small_twin))
    assert r.code == 0, r.stdout + r.stderr
    assert "function rewrite (DEVELOPMENT) gave what all 3 case(s) expect" in r.stdout


def test_a_wrong_expectation_fails_naming_the_case(cli, tmp_path, small_twin):
    r = run(cli, tmp_path, setup(tmp_path, small_twin, want="/b.html"))
    assert r.code != 0, r.stdout + r.stderr
    assert "1 of 3 case(s) of function rewrite (DEVELOPMENT) failed" in r.stdout
    assert "case 3 (GET /a.html): expected uri /b.html, got /a.html" in r.stdout


def test_a_function_that_does_not_exist_is_an_error_naming_the_line(cli, tmp_path,
                                                                    small_twin):
    r = run(cli, tmp_path, setup(tmp_path, small_twin, function="missing"))
    assert r.code != 0
    out = r.stdout + r.stderr
    assert "NoSuchFunctionExists" in out and "plan.yaml, line" in out
