"""What the operator reads when output is not a terminal (a pipe, a CI log): ids whole and
accepted by prefix or `last`, nothing wrapped or cut, whole diffs, quiet waits, the report's
summary and every failing redirect."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from runbook import kinds
from runbook.sandbox.httpserver import Reply, WebServer, redirect
from runbook.store.local import LocalStore
from tests.conftest import run_cli
from tests.engine.clihelp import FINAL, INITIAL, runbook, setup_world, world_files

RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[a-z0-9-]+\b")


def two_runs(folder: Path) -> list[str]:
    """Two succeeded runs of files.yaml (the world is put back between them)."""
    setup_world(folder)
    for _ in range(2):
        assert runbook(folder, "run", "files.yaml", "--yes").returncode == 0
        for name, text in INITIAL.items():
            (folder / name).write_text(text)
        (folder / "marker.txt").unlink()
    # in the order they started (both may have started in the same second)
    data = json.loads(runbook(folder, "runs", "--format", "json").stdout)
    return [r["run_id"] for r in sorted(data, key=lambda r: r["started"])]


def test_runs_shows_whole_ids_and_takes_prefixes_and_last(tmp_path: Path) -> None:
    first, second = two_runs(tmp_path)
    listing = runbook(tmp_path, "runs", env={"COLUMNS": "80"}).stdout
    assert "…" not in listing and "..." not in listing
    assert [line.split()[0] for line in listing.splitlines()[1:]] == [first, second]
    data = json.loads(runbook(tmp_path, "runs", "--format", "json").stdout)
    assert {r["outcome"] for r in data} == {"succeeded"} and data[0]["exit_code"] == 0
    last = json.loads(runbook(tmp_path, "runs", "last", "-f", "json").stdout)
    assert [r["run_id"] for r in last] == [second]
    # the shortest prefix that names one run, in report and runs alike
    unique = next(second[:n] for n in range(1, len(second))
                  if not first.startswith(second[:n]))
    assert runbook(tmp_path, "report", unique).stdout.startswith(f"# Run {second}\n")
    assert runbook(tmp_path, "report", "last").stdout.startswith(f"# Run {second}\n")
    assert runbook(tmp_path, "runs", unique).stdout.count("\n") == 2


def test_an_ambiguous_prefix_names_the_candidates(tmp_path: Path) -> None:
    first, second = two_runs(tmp_path)
    for command in (["report"], ["resume", "--yes"], ["runs"]):
        r = runbook(tmp_path, *command[:1], "2026", *command[1:])
        assert r.returncode == 2, command
        assert r.stderr == (f"error: run id '2026' is the start of 2 ids in .runbook: "
                            f"{', '.join(sorted([first, second]))}; give more of the id\n")
    missing = runbook(tmp_path, "report", "1999")
    assert missing.returncode != 0 and "no run '1999'" in missing.stderr


def test_rollback_and_resume_and_unlock_take_prefixes(tmp_path: Path) -> None:
    setup_world(tmp_path)
    crashed = runbook(tmp_path, "run", "files.yaml", "--yes",
                      env={"RUNBOOK_CRASH_AFTER": "applied:alias"})
    assert crashed.returncode != 0
    listing = runbook(tmp_path, "locks", env={"COLUMNS": "80"})
    data = json.loads(runbook(tmp_path, "locks", "--format", "json").stdout)
    lock_id = data[0]["lock_id"]
    assert re.search(rf"^{lock_id}\s", listing.stdout, re.M), listing.stdout
    assert lock_id in runbook(tmp_path, "locks", lock_id[:4]).stdout
    assert json.loads(runbook(tmp_path, "locks", "last", "-f", "json").stdout)[0][
        "lock_id"] == lock_id
    unlocked = runbook(tmp_path, "unlock", "--lock-id", lock_id[:5], "--force",
                       "--reason", "the test killed it")
    assert unlocked.returncode == 0, unlocked.stderr
    assert runbook(tmp_path, "locks").stdout.startswith("no locks held")
    run_id = data[0]["run_id"]
    resumed = runbook(tmp_path, "resume", run_id[:20], "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert world_files(tmp_path) == FINAL
    back = runbook(tmp_path, "rollback", "last", "--yes")
    assert back.returncode == 1, back.stdout + back.stderr  # rolled_back
    assert f"rollback of run {run_id} asked for" in back.stdout
    assert world_files(tmp_path) == INITIAL


def test_output_off_a_terminal_is_not_wrapped(tmp_path: Path) -> None:
    setup_world(tmp_path)
    out = runbook(tmp_path, "run", "files.yaml", "--yes", env={"COLUMNS": "40"}).stdout
    # the first line is longer than 40 columns and stays one line, digest and all
    assert re.search(r"^run \S+: plan files on default \(digest [0-9a-f]{12}\) by \S+@\S+$",
                     out, re.M), out


def test_kinds_show_types_as_plans_write_them_and_whole_descriptions() -> None:
    for name in [*kinds.checks(), *kinds.actions()]:
        out = run_cli("kinds", name).stdout
        rows = [re.split(r"  +", line) for line in out.splitlines()
                if re.match(r"^[a-z_.\[\]]+  +", line)]
        for row in rows:  # type and default: no Python class names, no reprs (a quoted
            # literal such as "5xxErrorRate" is a value a plan writes, not a type)
            typed = re.sub(r'"[^"]*"', '""', " ".join(row[1:3]))
            assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*\b|\w\(", typed), row
    http = run_cli("kinds", "http.get").stdout
    assert re.search(r"^tls\s+mapping\s+\{verify: true, cert: null, key: null\}\s+"
                     r"certificate checking$", http, re.M)
    assert re.search(r"^tls\.verify\s+bool \| str\s+true\s+true: the certificate must chain"
                     r".* also trust the CAs in that PEM bundle$", http, re.M)
    record = run_cli("kinds", "route53.record").stdout
    assert re.search(r"^alias\s+mapping \| None\s+null\s", record, re.M)
    assert re.search(r"^alias\.zone_id\s+str \| None\s+null\s", record, re.M)


def test_help_placeholders_read_like_the_readme() -> None:
    commands = ["validate", "show", "kinds", "plan", "run", "runs", "resume", "rollback",
                "report", "locks", "unlock"]
    for command in commands:
        out = run_cli(command, "--help").stdout
        assert "<" not in out and "{" not in out, (command, out)
    run = run_cli("run", "--help").stdout
    assert "Usage: root run [OPTIONS] PLAN" in run or " run [OPTIONS] PLAN\n" in run
    assert "--var NAME=VALUE" in run and "-e, --env NAME" in run
    assert "--state, --state-dir LOCATION" in run
    assert " report [OPTIONS] RUN\n" in run_cli("report", "--help").stdout


LONG = "echo 'a command long enough that it was cut at seventy characters before' > v.txt"


def test_plan_shows_long_values_whole(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "runbook: 1\nname: p\nstages:\n  - name: s\n    steps:\n      - id: long\n"
        f"        action:\n          shell: {{run: [sh, -c, \"{LONG}\"], undo: \"true\"}}\n"
        "        post:\n          - shell: {run: [cat, v.txt]}\n")
    out = runbook(tmp_path, "plan", "p.yaml").stdout
    assert "command:\n" in out
    assert f"+ sh -c \"{LONG}\"" in out or f"+ sh -c '{LONG}'" in out.replace("'\"'\"'", "'")


def _journal(tmp_path: Path, events: list[dict[str, object]]) -> str:
    store = LocalStore(tmp_path / ".runbook")
    run_id = "20261201T120000Z-p-default-0001"
    store.create_run(run_id)
    base = {"v": 1, "at": "2026-12-01T12:00:00.000Z"}
    for seq, e in enumerate(events, 1):
        store.append_event(run_id, seq, {**base, "seq": seq, **e})
    return run_id


def test_report_shows_a_long_json_change_whole_with_unchanged_lines_folded(
        tmp_path: Path) -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": f"Statement{n}", "Effect": "Allow", "Principal": "*",
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket/{n}/*"}
        for n in range(6)]}
    changed = json.loads(json.dumps(policy))
    changed["Statement"][3]["Sid"] = "AllowCloudFrontReadOnlyThroughItsOriginAccessControl"
    run_id = _journal(tmp_path, [
        {"type": "run.started", "run_id": "r", "plan": "p", "env": "default",
         "digest": "0" * 64, "operator": {"user": "u", "host": "h"}},
        {"type": "intent", "step": "policy", "description": "put the bucket policy",
         "diff": {"changes": [{"path": "Policy", "old": policy, "new": changed}],
                  "note": None}},
    ])
    out = runbook(tmp_path, "report", run_id[:8]).stdout
    assert re.search(r'^  -\s+"Sid": "Statement3"$', out, re.M), out
    assert re.search(r'^  \+\s+"Sid": "AllowCloudFrontReadOnlyThroughItsOriginAccessControl"$',
                     out, re.M)
    assert re.search(r"^    \(\d+ unchanged lines\)$", out, re.M)
    assert "..." not in out


def test_every_failing_redirect_is_in_the_report(tmp_path: Path) -> None:
    routes: dict[str, object] = {f"/old/{n}": redirect(f"https://wrong.test/{n}")
                                 for n in range(25)}
    routes["/"] = Reply(200, "ok")
    with WebServer(routes) as web:  # type: ignore[arg-type]
        entries = "".join(f"          \"{web.url(f'/old/{n}')}\": https://new.test/{n}\n"
                          for n in range(25))
        (tmp_path / "p.yaml").write_text(
            "runbook: 1\nname: p\nstages:\n  - name: s\n    checks:\n"
            "      - http.redirects:\n          map:\n" + entries.replace(
                "          \"", "            \"") + "    steps:\n      - id: w\n"
            "        action: {wait: {for: 1s}}\n")
        r = runbook(tmp_path, "run", "p.yaml", "--yes")
    assert r.returncode != 0
    md = runbook(tmp_path, "report", "last").stdout
    rows = [line for line in md.split("## Redirect failures (25)")[1].splitlines()
            if line.startswith(f"| {web.url('/old/')}")]
    assert len(rows) == 25, md
    assert sorted(row.split(" | ")[1] for row in rows) == \
        sorted(f"https://new.test/{n}" for n in range(25))
    data = json.loads(runbook(tmp_path, "report", "last", "-f", "json").stdout)
    assert sorted(f["to"] for f in data["redirect_failures"]) == \
        sorted(f"https://new.test/{n}" for n in range(25))
    rows = list(csv.DictReader(io.StringIO(
        runbook(tmp_path, "report", "last", "--format", "csv").stdout)))
    assert [r["from"] for r in rows] == [web.url(f"/old/{n}") for n in range(25)]
    assert {r["outcome"] for r in rows} == {"mismatch"} and rows[0]["phase"] == "gate"


def test_report_opens_with_a_summary_and_names_steps_by_title(tmp_path: Path) -> None:
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace("      - id: alias\n",
                                             "      - id: alias\n        title: Point it\n"))
    # a step skipped by --start-at was not verified: the run says so (exit 4)
    assert runbook(tmp_path, "run", "files.yaml", "--yes", "--start-at", "alias").returncode == 4
    md = runbook(tmp_path, "report", "last").stdout
    summary = md.split("## Summary\n\n")[1].split("\n\n")[0].splitlines()
    assert summary[0].startswith("- outcome: **finished_with_skips** (exit 4): ")
    assert summary[1] == ("- still applied: `alias` (Point it) (verified), `marker` (verified), "
                          "`redirect` (verified)")
    assert summary[2] == "- skipped: `version`: --start-at alias"
    assert summary[3].startswith("- time spent waiting: ")
    assert "step `alias` (Point it) started" in md
    data = json.loads(runbook(tmp_path, "report", "last", "-f", "json").stdout)
    assert [s["step"] for s in data["summary"]["still_applied"]] == ["alias", "marker",
                                                                     "redirect"]
    assert data["summary"]["skipped"] == [{"step": "version", "title": None,
                                           "reason": "--start-at alias"}]
    text = runbook(tmp_path, "report", "last", "--format", "text").stdout
    assert "| --- |" not in text and "**" not in text
    assert "  still applied: alias (Point it) (verified), marker (verified)" in text
    assert re.search(r"^  \d\d:\d\d:\d\d  step alias \(Point it\) started$", text, re.M)


def test_a_polling_check_prints_a_line_when_it_starts_changes_and_ends(tmp_path: Path) -> None:
    plan = setup_world(tmp_path)
    # the redirect takes effect about 3 s after its action: the post check polls till then
    plan.write_text(plan.read_text().replace(
        'run: [sh, -c, "echo 301 > redirect.txt"]',
        'run: [sh, -c, "(sleep 3; echo 301 > redirect.txt) >/dev/null 2>&1 &"]').replace(
        '          - shell: {run: [cat, redirect.txt], contains: "301"}',
        '          - shell: {run: [cat, redirect.txt], contains: "301"}\n'
        "            within: 60s\n            every: 0.5s"))
    out = runbook(tmp_path, "run", "files.yaml", "--yes").stdout
    waits = [line for line in out.splitlines() if "waiting" in line]
    assert len(waits) == 1 and waits[0].startswith("  waiting: "), out
    assert re.search(r"^  ok post: `cat redirect.txt` .* after \d+ tries in \S+$", out, re.M)
    assert "attempt 2" not in out


def test_a_soak_prints_its_start_each_answer_once_and_its_end(tmp_path: Path) -> None:
    plan = setup_world(tmp_path)
    plan.write_text(plan.read_text().replace(
        "    title: Redirect the old address\n",
        "    title: Redirect the old address\n    soak: 3s\n"))
    out = runbook(tmp_path, "run", "files.yaml", "--yes").stdout
    soak = [line for line in out.splitlines() if "soak" in line]
    assert soak[0] == "  soaking stage three: re-running its checks until the soak time is over"
    assert soak[1].startswith("  ok soak: `cat redirect.txt`")
    assert re.match(r"  soak passed: \d+ rounds in ", soak[-1])
    rounds = int(soak[-1].split()[2])
    assert rounds >= 2 and len(soak) <= 4, out
