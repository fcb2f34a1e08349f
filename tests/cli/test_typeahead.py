"""Keys typed before a prompt appears answer nothing, and no default declines a stage or
starts a rollback: the real CLI in a pseudo-terminal, with typeahead."""

from __future__ import annotations

import pexpect
import pytest

from tests.engine.clihelp import FINAL, INITIAL, setup_world, world_files
from tests.engine.test_interactive import finish, spawn

pytestmark = pytest.mark.slow


def test_an_enter_typed_after_yes_does_not_answer_the_next_gate(tmp_path):
    setup_world(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml")
    child.expect(r"Go on with stage one \(Write the new version\)\? .*\(y/n\)")
    child.send("y\r\r")  # "y", then a stray Enter typed ahead (twice)
    child.expect(r"Go on with stage two .*\(y/n\)")
    child.send("\r")  # Enter alone at a gate answers nothing: it waits for y or n
    with pytest.raises(pexpect.TIMEOUT):
        child.expect(["declined", "What now"], timeout=2)
    child.send("y")
    child.expect(r"Go on with stage three .*\(y/n\)")
    child.send("y")
    assert finish(child) == 0
    assert "declined" not in (child.before or "")
    assert world_files(tmp_path) == FINAL


def test_enter_at_the_menu_after_a_declined_gate_stops_and_never_rolls_back(tmp_path):
    setup_world(tmp_path)
    child = spawn(tmp_path, "run", "files.yaml")
    child.expect(r"Go on with stage one")
    child.send("y")
    child.expect(r"Go on with stage two")
    child.send("n")
    child.expect("step\\(s\\) are applied. What now\\?")
    child.expect("stop and leave things as they are")
    child.send("\r")  # the pointer starts on "stop", not on "roll back"
    child.expect("applied steps were left as they are")
    assert finish(child) == 3
    assert world_files(tmp_path) != INITIAL  # nothing was rolled back
