"""Engine fixtures: plans over the fake world, a fake clock, a scripted operator."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runbook.cli.operator import ScriptedOperator
from runbook.context import RunContext
from runbook.engine.executor import Executor, Outcome, RunOptions
from runbook.engine.journal import Journal, RunState, replay
from runbook.plan.loader import load
from runbook.plan.model import Plan
from runbook.store.local import LocalStore
from tests.engine import fakes


@dataclass
class FakeClock:
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Result:
    outcome: Outcome
    events: list[dict[str, Any]]
    operator: ScriptedOperator
    executor: Executor

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]


@pytest.fixture(autouse=True)
def world() -> Iterator[dict[str, Any]]:
    fakes.WORLD.clear()
    fakes.FLAKY.clear()
    fakes.CALLS.clear()
    yield fakes.WORLD


@pytest.fixture
def make_plan(tmp_path: Path) -> Callable[..., Plan]:
    def make(text: str, env: str | None = None) -> Plan:
        path = tmp_path / "plan.yaml"
        path.write_text(textwrap.dedent(text))
        return load(path, env=env).plan

    return make


@pytest.fixture
def execute(tmp_path: Path) -> Callable[..., Result]:
    def run(plan: Plan, answers: list[Any] | None = None, *, interactive: bool = True,
            state: RunState | None = None, run_id: str = "r1", resume: bool = False,
            operator: ScriptedOperator | None = None, display: Any = None,
            **options: Any) -> Result:
        store = LocalStore(tmp_path / "state")
        if not resume:
            store.create_run(run_id)
        clock = FakeClock()
        op = operator or ScriptedOperator(answers or [], interactive=interactive)
        ctx = RunContext(environment=plan.environment.name, run_id=run_id, plan_dir=tmp_path,
                         operator=op, clock=clock, sleep=clock.sleep)
        if resume:
            journal, events = Journal.reopen(store, run_id)
            state = replay(events)
        else:
            journal = Journal(store, run_id)
        ex = Executor(plan, ctx, journal, op, RunOptions(**options), state=state or RunState())
        if display is not None:
            ex.display = display
        outcome = ex.resume() if resume else ex.run()
        return Result(outcome, store.events(run_id), op, ex)

    return run


THREE_STAGES = """
runbook: 1
name: fake
stages:
  - name: first
    checks:
      - fake.equals: {key: ready, value: true}
  - name: second
    title: Set a and b
    steps:
      - id: a
        pre: [{fake.equals: {key: a, absent: true}}]
        action: {fake.set: {key: a, value: 1}}
        post: [{fake.equals: {key: a, value: 1}}]
      - id: b
        pre: [{fake.equals: {key: b, absent: true}}]
        action: {fake.set: {key: b, value: "${steps.a.written}"}}
        post: [{fake.equals: {key: b, value: 1}}]
  - name: third
    steps:
      - id: c
        pre: [{fake.equals: {key: c, absent: true}}]
        action: {fake.set: {key: c, value: x}}
        post:
          - fake.equals: {key: c, value: x}
            within: 30s
            every: 10s
"""
