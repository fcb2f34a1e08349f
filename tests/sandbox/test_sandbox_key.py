"""The environment's `sandbox:` key: a world file (as before), or a mapping naming a world
or a served twin, with a time scale; every mistake named at its line, nothing run."""

from __future__ import annotations

import pytest

from runbook.plan.model import Environment
from tests.sandbox.conftest import write_plan

PLAN = """\
runbook: 1
name: p
environments:
  t:
    sandbox: SANDBOX
stages:
  - name: s
    checks:
      - dns.record: {name: www.example.org, exists: true}
"""


@pytest.mark.parametrize(("sandbox", "message"), [
    ("{port_map: 1}", "unknown key 'port_map' in `sandbox`; allowed: world, serve, time_scale"),
    ('{world: w.yaml, serve: "http://127.0.0.1:1"}', "needs exactly one of `world`"),
    ("{}", "needs exactly one of `world`"),
    ('{serve: "http://127.0.0.1:1", time_scale: 2}', "`time_scale` should be a number above 0"),
    ("{serve: 3}", "`serve` should be text, not 3"),
])
def test_a_wrong_sandbox_is_named_at_its_line(cli, tmp_path, sandbox, message):
    plan = write_plan(tmp_path, PLAN.replace("SANDBOX", sandbox))
    r = cli("plan", plan, "--env", "t")
    assert r.code == 2
    assert message in r.stderr and "line 5" in r.stderr
    assert r.stderr.count("error:") == 1  # one mistake, one message


def test_journals_of_plain_world_sandboxes_still_load():
    env = Environment.model_validate({"name": "sandbox", "sandbox": "tss-before.yaml",
                                      "source": {"file": "p.yaml"}})
    assert env.sandbox is not None and env.sandbox.world == "tss-before.yaml"
    assert str(env.sandbox) == "tss-before.yaml"
