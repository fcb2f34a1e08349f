"""http.request and the plan's notify: webhooks, against an HTTP server on loopback
that plays an uptime monitor's API and a chat webhook; runs driven through the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runbook.context import RunContext
from runbook.errors import KindError
from runbook.kinds.wire.request import HttpRequest

TOKEN = "s3cr3t-monitor-token"


class Monitor:
    """Records every request; /windows answers a new window id, /fail a 500."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        monitor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _any(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"null")
                monitor.seen.append({"method": self.command, "path": self.path,
                                     "auth": self.headers.get("Authorization"), "body": body})
                status, out = 200, {"ok": True}
                if self.path == "/windows" and self.command == "POST":
                    status, out = 201, {"data": {"id": "w-17", "state": "open"}}
                elif self.path.startswith("/fail"):
                    status, out = 500, {"error": "down for maintenance"}
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self) -> list[str]:
        return [r["body"]["event"] for r in self.seen if r["path"] == "/chat"]


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    m = Monitor()
    yield m
    m.server.shutdown()
    m.server.server_close()


def request(**params: Any) -> HttpRequest:
    return HttpRequest(HttpRequest.Params.model_validate(params))


def test_outputs_are_picked_from_the_json_response(monitor: Monitor) -> None:
    step = request(url=f"{monitor.url}/windows", json={"minutes": 30},
                   outputs={"window": "data.id"}, status=201)
    out = step.apply(RunContext(), {})
    assert out == {"status": 201, "body": '{"data": {"id": "w-17", "state": "open"}}',
                   "window": "w-17"}
    assert monitor.seen[0]["body"] == {"minutes": 30}


@pytest.mark.parametrize(("params", "message"), [
    ({"url": "/fail"}, "POST http://127.0.0.1:{port}/fail answered 500, expected 2xx: "
                       '{"error": "down for maintenance"}'),
    ({"url": "/windows", "outputs": {"x": "data.nope"}},
     "answered 201, but its response has no data.nope for output 'x'"),
])
def test_a_failed_request_names_the_cause(monitor: Monitor, params: dict[str, Any],
                                          message: str) -> None:
    port = monitor.url.rsplit(":", 1)[1]
    with pytest.raises(KindError) as err:
        request(**{**params, "url": monitor.url + params["url"]}).apply(RunContext(), {})
    assert message.replace("{port}", port) in str(err.value)


def test_an_unreachable_url_says_nothing_was_received() -> None:
    with pytest.raises(KindError, match=r"POST http://127\.0\.0\.1:9/x failed: connection "
                                        r"refused for http://127\.0\.0\.1:9/x\. Nothing"):
        request(url="http://127.0.0.1:9/x", timeout=2).apply(RunContext(), {})


PLAN = """\
runbook: 1
name: pause-monitor
notify:
  - url: "{url}/chat"
    headers: {{Authorization: "Bearer ${{env:MONITOR_TOKEN}}"}}
stages:
  - name: go
    steps:
      - id: pause
        action:
          http.request:
            url: "{url}/windows"
            headers: {{Authorization: "Bearer ${{env:MONITOR_TOKEN}}"}}
            json: {{minutes: 30, reason: "docs move ${{run_id}}", key: "${{env:MONITOR_TOKEN}}"}}
            status: 201
            outputs: {{window: data.id}}
            undo:
              method: DELETE
              url: "{url}/windows/open"
              headers: {{Authorization: "Bearer ${{env:MONITOR_TOKEN}}"}}
        post:
          - shell: {{run: "true"}}
      - id: note
        action:
          http.request:
            method: PUT
            url: "{url}/windows/${{steps.pause.window}}/note"
            json: {{text: "{final}"}}
            undo: {{method: DELETE, url: "{url}/windows/${{steps.pause.window}}/note"}}
        post:
          - shell: {{run: "{check}"}}
"""


def _plan(tmp_path: Path, monitor: Monitor, check: str = "true") -> str:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.format(url=monitor.url, check=check, final="moving"))
    return str(path)


def test_a_plan_pauses_the_monitor_and_tells_the_chat(cli: Any, tmp_path: Path,
                                                      monitor: Monitor,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TOKEN", TOKEN)
    state = tmp_path / "state"
    r = cli("run", _plan(tmp_path, monitor), "--yes", "--state-dir", str(state))
    assert r.code == 0, r.stdout + r.stderr
    calls = [(c["method"], c["path"]) for c in monitor.seen if c["path"] != "/chat"]
    assert calls == [("POST", "/windows"), ("PUT", "/windows/w-17/note")]
    [pause] = [c for c in monitor.seen if c["path"] == "/windows"]
    assert pause["auth"] == f"Bearer {TOKEN}" and pause["body"]["key"] == TOKEN
    assert '"key": "***"' in r.stdout  # the gate's diff shows the body, masked
    assert monitor.events() == ["started", "gate_passed", "finished"]
    finished = [c["body"] for c in monitor.seen if c["path"] == "/chat"][-1]
    assert finished["text"].startswith("runbook: plan pause-monitor on default, run ")
    assert finished["text"].endswith("finished: succeeded (exit 0): every step applied and "
                                     "verified")
    # the secret reached the monitor, never the run's files
    written = "".join(p.read_text() for p in state.rglob("*") if p.is_file())
    assert "w-17" in written and TOKEN not in written and TOKEN not in r.stdout


def test_a_failed_check_undoes_the_requests_and_the_chat_hears_it(
        cli: Any, tmp_path: Path, monitor: Monitor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TOKEN", TOKEN)
    r = cli("run", _plan(tmp_path, monitor, check="false"), "--yes", "--state-dir",
            str(tmp_path / "state"))
    assert r.code == 1, r.stdout + r.stderr
    calls = [(c["method"], c["path"]) for c in monitor.seen if c["path"] != "/chat"]
    assert calls == [("POST", "/windows"), ("PUT", "/windows/w-17/note"),
                     ("DELETE", "/windows/w-17/note"), ("DELETE", "/windows/open")]
    assert monitor.events() == ["started", "gate_passed", "failed", "rolled_back",
                                "rolled_back", "finished"]
    texts = [c["body"]["text"] for c in monitor.seen if c["path"] == "/chat"]
    assert texts[2].endswith("1 post check(s) of step note failed (exited 1, expected 0); "
                             "next: rollback")
    # a request's effect cannot be read back: its undo is not called verified
    assert texts[3].endswith("step note undone, not proved")


def test_an_unreachable_chat_does_not_stop_the_run(cli: Any, tmp_path: Path,
                                                   monitor: Monitor,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_TOKEN", TOKEN)
    path = Path(_plan(tmp_path, monitor))
    path.write_text(path.read_text().replace(f'"{monitor.url}/chat"', '"http://127.0.0.1:9/"'))
    r = cli("run", str(path), "--yes", "--state-dir", str(tmp_path / "state"))
    assert r.code == 0, r.stdout + r.stderr


def test_a_bad_notify_entry_is_a_plan_error(cli: Any, tmp_path: Path,
                                            monitor: Monitor) -> None:
    path = Path(_plan(tmp_path, monitor))
    path.write_text(path.read_text().replace("    headers: {Authorization",
                                             "    events: [begun]\n    headers: {Authorization",
                                             1))
    r = cli("validate", str(path))
    assert r.code == 2
    assert ("`events` in the plan should be 'started', 'gate_passed', 'failed', "
            "'rolled_back' or 'finished', not 'begun'") in r.stderr
    assert "plan.yaml, line 5, column 14" in r.stderr


def test_webhooks_and_requests_go_through_the_environments_proxy(
        cli: Any, tmp_path: Path, monitor: Monitor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind an office proxy the http.* checks, http.request and the notify: webhooks all
    take the same way out: every HTTP request of runbook comes from one client factory."""
    from tests.kinds.wire.proxyserver import ForwardProxy

    monkeypatch.setenv("MONITOR_TOKEN", TOKEN)
    path = Path(_plan(tmp_path, monitor))
    with ForwardProxy() as proxy:
        path.write_text(path.read_text().replace(
            "stages:", f"environments:\n  office:\n    proxy: {proxy.url}\nstages:", 1))
        r = cli("run", str(path), "--env", "office", "--yes", "--state-dir",
                str(tmp_path / "state"))
    assert r.code == 0, r.stdout + r.stderr
    through = [(s.method, s.target) for s in proxy.seen]
    assert (("POST", f"{monitor.url}/chat") in through
            and ("POST", f"{monitor.url}/windows") in through), through
    assert all(s.headers.get("authorization") == f"Bearer {TOKEN}" for s in proxy.seen
               if s.target.endswith(("/chat", "/windows")))
    # and they arrived: the monitor's answers came back through the proxy
    assert monitor.events() == ["started", "gate_passed", "finished"]
    assert [c["path"] for c in monitor.seen if c["path"] != "/chat"] == [
        "/windows", "/windows/w-17/note"]


def test_no_proxy_sends_the_webhooks_direct(cli: Any, tmp_path: Path, monitor: Monitor,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.kinds.wire.proxyserver import ForwardProxy

    monkeypatch.setenv("MONITOR_TOKEN", TOKEN)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    path = Path(_plan(tmp_path, monitor))
    with ForwardProxy() as proxy:
        path.write_text(path.read_text().replace(
            "stages:", f"environments:\n  office:\n    proxy: {proxy.url}\nstages:", 1))
        r = cli("run", str(path), "--env", "office", "--yes", "--state-dir",
                str(tmp_path / "state"))
    assert r.code == 0, r.stdout + r.stderr
    assert proxy.seen == []
    assert monitor.events() == ["started", "gate_passed", "finished"]
