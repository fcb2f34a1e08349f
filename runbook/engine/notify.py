"""Plan-level webhooks (``notify:``): the run's events, as JSON with a Slack-compatible
``text`` field, sent to each URL the plan lists.

The notifier listens to the journal, so it sends what was journaled, with secrets
already masked; ``started`` is sent by the executor when a run begins. A webhook that
cannot be reached never stops the run: the miss is shown as progress and kept in
``missed`` (the run's own journal is the record of what happened).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook.context import RunContext
from runbook.plan.model import Notify, Plan
from runbook.plan.template import TemplateError, resolve_runtime

Listener = Callable[[dict[str, Any]], None]
TIMEOUT = 5.0  # seconds per webhook call: a slow chat server must not hold up a cut-over


def _text(plan: Plan, event: str, e: dict[str, Any]) -> str | None:
    """The one line people read in the chat, or None when ``e`` is no run event."""
    if event == "gate_passed":
        return f"gate of stage {e.get('stage')} passed"
    if event == "failed":
        if e.get("type") == "rollback.failed":
            return f"the rollback of step {e.get('step')} failed: {e.get('error')}"
        why = f" ({e['error']})" if e.get("error") and e["error"] not in str(
            e.get("failure")) else ""
        return f"{e.get('failure')}{why}; next: {e.get('choice')}"
    if event == "rolled_back":
        if e.get("type") == "rollback.undone":  # its kind keeps no snapshot to compare
            return f"step {e.get('step')} undone, not proved"
        return f"step {e.get('step')} rolled back and verified"
    if event == "finished":
        return f"finished: {e.get('outcome')} (exit {e.get('exit_code')}): {e.get('message')}"
    if event == "started":
        return f"started ({len(plan.steps())} steps in {len(plan.stages)} stages)"
    return None


def event_of(e: dict[str, Any]) -> str | None:
    """The run event a journal event is, if any."""
    t = e.get("type")
    if t == "gate" and e.get("answer") == "yes":
        return "gate_passed"
    if (t == "decision" and e.get("failure")) or t == "rollback.failed":
        return "failed"  # a decision follows every failed check or action: sent once
    if t in ("rollback.verified", "rollback.undone"):
        return "rolled_back"
    if t == "run.finished":
        return "finished"
    return None


@dataclass
class Notifier:
    plan: Plan
    ctx: RunContext
    inner: Listener | None = None
    missed: list[str] = field(default_factory=list)
    last_problem: str | None = None  # what the last failed check or action said

    def __call__(self, e: dict[str, Any]) -> None:
        if self.inner is not None:
            self.inner(e)
        if e.get("type") == "check" and not e.get("ok"):
            self.last_problem = str(e.get("summary"))
        elif e.get("type") == "failed":
            self.last_problem = str(e.get("error"))
        event = event_of(e)
        if event == "failed" and e.get("type") == "decision" and self.last_problem:
            e = {**e, "error": self.last_problem}
        if event is not None:
            self.send(event, e)

    def send(self, event: str, e: dict[str, Any] | None = None) -> None:
        e = e or {}
        text = _text(self.plan, event, e)
        head = f"runbook: plan {self.plan.name} on {self.ctx.environment}, run {self.ctx.run_id}"
        payload = {"text": f"{head}: {text}", "event": event, "plan": self.plan.name,
                   "environment": self.ctx.environment, "run_id": self.ctx.run_id,
                   **{k: e[k] for k in ("stage", "step", "outcome", "exit_code", "error",
                                        "message") if e.get(k) is not None}}
        for hook in self.plan.notify:
            if event in hook.events:
                self._post(hook, payload)

    def _post(self, hook: Notify, payload: dict[str, Any]) -> None:
        from runbook.errors import NetworkError
        from runbook.kinds.wire.common import exchange
        from runbook.plan.template import redact

        try:
            url, headers = resolve_runtime([hook.url, hook.headers], outputs={},
                                           run_id=self.ctx.run_id, secrets=self.ctx.secrets)
        except TemplateError as exc:
            self._miss(f"a notify webhook was not called: {exc}")
            return
        shown = redact(url.split("?", 1)[0], self.ctx.secrets)
        sent = {"Content-Type": "application/json", **headers}
        try:  # as every HTTP request of runbook: the environment's proxy, CAs, resolvers
            got = exchange(self.ctx, "POST", url, timeout=TIMEOUT, headers=sent,
                           content=json.dumps(payload).encode())
            if got.status >= 400:
                self._miss(f"the notify webhook {shown} answered {got.status} to "
                           f"{payload['event']}")
        except NetworkError as exc:  # a WireError has its outcome: refused, timeout, ...
            self._miss(f"the notify webhook {shown} could not be reached for "
                       f"{payload['event']}: {getattr(exc, 'outcome', 'error')}")

    def _miss(self, message: str) -> None:
        self.missed.append(message)
        self.ctx.progress(message)
