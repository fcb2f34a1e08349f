"""The crash matrix: kill a real run from outside at every journal point, then recover.

For every point N of a clean run of the 3-stage files plan, the run is started in its
own process group and the group gets SIGKILL once its journal holds N events (the test
polls the events file). The folder is then copied: ``resume`` in one copy must end in
exactly the final state with exit 0, ``rollback`` in the other exactly in the initial
state with exit 1; neither may show a traceback or need ``runbook unlock``.

Killing from outside lands a little after N when events follow each other within
microseconds; where it matters (between a step's intent and its outcome, and between
the outcome and its post check) the plan's next command sleeps so that the kill lands
exactly there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.clihelp import FINAL, INITIAL, run_ids, runbook, setup_world, world_files
from tests.engine.crashkit import copy_run, events, kill_at

pytestmark = pytest.mark.slow

# The journal of a clean run: (type, step or stage). A change here is a change of the
# journal format: the matrix then covers the new points.
CLEAN = [
    ("run.started", ""), ("stage.started", "one"), ("gate", "one"),
    ("step.started", "version"), ("check", "version"), ("intent", "version"),
    ("applied", "version"), ("check", "version"), ("verified", "version"),
    ("stage.done", "one"), ("stage.started", "two"), ("gate", "two"),
    ("step.started", "alias"), ("check", "alias"), ("intent", "alias"),
    ("applied", "alias"), ("check", "alias"), ("verified", "alias"),
    ("step.started", "marker"), ("check", "marker"), ("intent", "marker"),
    ("applied", "marker"), ("check", "marker"), ("verified", "marker"),
    ("stage.done", "two"), ("stage.started", "three"), ("gate", "three"),
    ("step.started", "redirect"), ("check", "redirect"), ("intent", "redirect"),
    ("applied", "redirect"), ("check", "redirect"), ("verified", "redirect"),
    ("stage.done", "three"), ("run.finished", ""),
]
# Each step's action and post check, as files.yaml writes them: the commands that run
# right after its intent and right after its outcome.
RUN = {"version": '"echo v2 > version.txt"', "alias": '"echo new > alias.txt"',
       "marker": '"echo done > marker.txt"', "redirect": '"echo 301 > redirect.txt"'}
POST = {"version": "{run: [cat, version.txt], contains: v2}",
        "alias": "{run: [cat, alias.txt], contains: new}",
        "marker": "{run: [cat, marker.txt], contains: done}",
        "redirect": '{run: [cat, redirect.txt], contains: "301"}'}
PAUSE = 1.0



def _slow_down(plan: Path, n: int) -> bool:
    """Make the command that follows event n sleep; True when that pins the kill to n."""
    kind, step = CLEAN[n - 1]
    text = plan.read_text()
    if kind == "intent":
        text = text.replace(RUN[step], RUN[step].replace('"', f'"sleep {PAUSE}; ', 1))
    elif kind == "applied":
        cat = POST[step].split("run: ")[1].split("]")[0] + "]"  # [cat, FILE]
        slow = f'[sh, -c, "sleep {PAUSE}; cat {cat[6:-1]}"]'
        text = text.replace(POST[step], POST[step].replace(cat, slow))
    else:
        return False
    plan.write_text(text)
    return True




def test_the_matrix_covers_every_point_of_a_clean_run(tmp_path):
    setup_world(tmp_path)
    r = runbook(tmp_path, "run", "files.yaml", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    seen = [(str(e["type"]), str(e.get("step") or e.get("stage") or "")) for e in
            events(tmp_path)]
    assert seen == CLEAN


@pytest.mark.parametrize("n", range(1, len(CLEAN) + 1))
def test_kill_at_every_journal_point_then_resume_or_roll_back(tmp_path, n):
    killed = tmp_path / "resume"
    killed.mkdir()
    plan = setup_world(killed)
    pinned = _slow_down(plan, n)
    reached = kill_at(killed, n, ["run", "files.yaml", "--yes"])
    assert reached == n if pinned else reached >= n, (n, reached)
    [run_id] = run_ids(killed)
    copy_run(killed, tmp_path / "rollback")

    resumed = runbook(killed, "resume", run_id, "--yes")
    assert "Traceback" not in resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, (n, reached, resumed.stdout, resumed.stderr)
    assert world_files(killed) == FINAL
    if reached == len(CLEAN):
        assert "already finished (succeeded); nothing to resume" in resumed.stdout

    back = runbook(tmp_path / "rollback", "rollback", run_id, "--yes")
    assert "Traceback" not in back.stdout + back.stderr
    assert back.returncode == 1, (n, reached, back.stdout, back.stderr)
    assert world_files(tmp_path / "rollback") == INITIAL
    assert "not proved" not in back.stdout  # every step of this plan has a snapshot
    # no lock was left behind for a person to clear
    for folder in (killed, tmp_path / "rollback"):
        assert not list((folder / ".runbook" / "locks").glob("*")), folder
