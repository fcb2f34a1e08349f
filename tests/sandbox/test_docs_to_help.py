"""The newcomer's migration (plans/docs-to-help.yaml, written by `runbook new`): the site
gets its new name, 20 old pages go to their new addresses, every other old URL to the same
path on the new host, DNS last. Rehearsed end to end against a twin of its world, then
rolled back, and the world looked at as a user would after each."""

from __future__ import annotations

import csv

import pytest

from tests.sandbox.conftest import PLANS, Look, fresh_twin

pytestmark = pytest.mark.slow
PLAN = str(PLANS / "docs-to-help.yaml")
OLD, NEW = "docs.example.test", "help.example.test"


def _map() -> list[tuple[str, str]]:
    with (PLANS / "help-redirects.csv").open() as f:
        return [(row["from"], row["to"]) for row in csv.DictReader(f)]


def test_the_move_is_rehearsed_then_rolled_back(cli, tmp_path):
    state = str(tmp_path / "state")
    with fresh_twin(PLANS / "sandbox" / "help-before.yaml") as twin:
        look = Look(twin)
        cf = look.client("cloudfront")

        def aliases(dist: str) -> list[str]:
            return list(cf.get_distribution_config(Id=dist)["DistributionConfig"][
                "Aliases"].get("Items", []))

        run = cli("run", PLAN, "--env", "sandbox", "--yes", "--state-dir", state)
        assert run.code == 0, run.stdout[-4000:] + run.stderr
        assert "succeeded: every step applied and verified" in run.stdout
        assert look.a(NEW) == ["127.0.0.1"]
        home = look.get(NEW)
        assert home.status_code == 200 and "help home" in home.text
        pages = _map()
        assert len(pages) == 20
        for old, new in pages:
            path = old.split(OLD, 1)[1]
            got = look.get(OLD, path)
            assert (got.status_code, got.headers.get("location")) == (301, new)
        other = look.get(OLD, "/guides/start?from=bookmark")  # not in the map: same path
        assert other.status_code == 301
        assert other.headers["location"] == f"https://{NEW}/guides/start?from=bookmark"
        assert aliases("E7DOCSSITE") == [NEW] and aliases("E8DOCSREDIRECT") == [OLD]

        back = cli("rollback", "last", "--yes", "--state-dir", state)
        assert back.code == 1, back.stdout[-4000:] + back.stderr  # rolled back, as asked
        assert "not proved" not in back.stdout + back.stderr
        assert "7 step(s) rolled back and verified" in back.stdout
        assert look.a(NEW) == []
        assert aliases("E7DOCSSITE") == [OLD] and aliases("E8DOCSREDIRECT") == []
        again = look.get(OLD, "/guides/start.html")
        assert again.status_code == 200 and "getting started" in again.text
