"""The crash matrix for a staged change (``cloudfront.staged_update``): the run is killed
from outside at every point of the change, as AWS shows it (the staging copy made, the
policy attached, traffic weighted, the primary promoted, the step's outcome journaled),
then ``resume`` ends in exactly the promoted state and ``rollback`` in exactly the
snapshot's: no staging copy, no policy, the primary's own configuration.

The run is a subprocess against a twin served by this process (`sandbox: {serve: URL}`),
so it is killed as an operator's terminal would be, and each recovery is a new process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import write_plan
from tests.sandbox.test_staged_update import SITE

pytestmark = pytest.mark.slow

PLAN = """\
runbook: 1
name: staged-crash
environments:
  sandbox: {sandbox: {serve: "URL"}}
stages:
  - name: s
    steps:
      - id: switch
        action:
          cloudfront.staged_update:
            id: E1SITE
            origin: {path: /v2}
            grant_staging: true
            traffic:
              - header: true
                hold: 30s
                checks:
                  - http.get: {url: "https://www.example.org/", contains: version two}
              - weight: 15%
                hold: 30s
                checks:
                  - http.get: {url: "https://www.example.org/", contains: version two}
        post:
          - http.get: {url: "https://www.example.org/", contains: version two}
"""


def _state(cf: Any) -> dict[str, Any]:
    dists = [d["Id"] for d in cf.list_distributions()["DistributionList"]["Items"]]
    policies = cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"]
    items = [p["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]
             for p in policies.get("Items") or []]
    config = cf.get_distribution_config(Id="E1SITE")["DistributionConfig"]
    return {"staging": [d for d in dists if d != "E1SITE"],
            "weighted": any(p["TrafficConfig"]["Type"] == "SingleWeight" for p in items),
            "path": config["Origins"]["Items"][0]["OriginPath"],
            "policy": config.get("ContinuousDeploymentPolicyId") or ""}


def _events(folder: Path) -> list[str]:
    runs = folder / "state" / "runs"
    found = sorted(runs.glob("*/events.jsonl")) if runs.exists() else []
    if not found:
        return []
    out = []
    for line in found[0].read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(str(json.loads(line)["type"]))
    return out


POINTS: dict[str, Callable[[dict[str, Any], list[str]], bool]] = {
    "copied": lambda s, e: bool(s["staging"]),
    "attached": lambda s, e: bool(s["policy"]) and s["path"] == "/v1",
    "weighted": lambda s, e: s["weighted"],
    "promoted": lambda s, e: s["path"] == "/v2" and bool(s["staging"]),
    "applied": lambda s, e: "applied" in e,
}
FINAL = {"staging": [], "weighted": False, "path": "/v2", "policy": ""}
INITIAL = {"staging": [], "weighted": False, "path": "/v1", "policy": ""}


def _runbook(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "runbook", *args, "--state-dir",
                           str(folder / "state")], cwd=folder, env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)


def _kill_when(folder: Path, cf: Any, point: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "runbook", "run", "plan.yaml", "--env",
                             "sandbox", "--yes", "--state-dir", str(folder / "state")],
                            cwd=folder, env={**os.environ, "NO_COLOR": "1"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, f"the run never reached {point}"
            if POINTS[point](_state(cf), _events(folder)):
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before {point}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("point", list(POINTS))
@pytest.mark.parametrize("then", ["resume", "rollback"])
def test_kill_a_staged_change_then_resume_or_roll_back(tmp_path, small_twin, point, then):
    twin, look = small_twin(SITE.replace("deploy: 60", "deploy: 30"))
    write_plan(tmp_path, PLAN.replace("URL", twin.proxy.url))
    cf = look.client("cloudfront")
    _kill_when(tmp_path, cf, point)
    [run_id] = [p.name for p in (tmp_path / "state" / "runs").iterdir()]
    done = _runbook(tmp_path, then, run_id, "--yes")
    shown = done.stdout + done.stderr
    assert "Traceback" not in shown
    if then == "resume":
        assert done.returncode == 0, (point, shown)
        assert _state(cf) == FINAL, (point, shown)
        assert "version two" in look.get("www.example.org").text
    else:
        assert done.returncode == 1, (point, shown)
        assert _state(cf) == INITIAL, (point, shown)
        assert "version one" in look.get("www.example.org").text
        assert "rolled back and verified" in shown, shown
        # the rollback says which it was: pulled back, or a promotion undone
        said = "promotion undone" if point in ("promoted", "applied") else \
            "pulled back before promotion"
        assert said in shown, (point, shown)
    assert cf.list_continuous_deployment_policies()["ContinuousDeploymentPolicyList"][
        "Quantity"] == 0
