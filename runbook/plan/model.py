"""The plan format's models.

Two layers:

* ``*Doc`` models mirror the YAML as people write it (before templates are resolved).
  They validate structure (unknown keys, wrong types) and generate the JSON Schema.
* ``Plan``, ``Environment``, ``Stage``, ``Step``, ``CheckSpec``, ``ActionSpec`` are the
  frozen result of loading a plan for one environment: templates resolved except the
  *deferred* ones (``${steps.ID.NAME}``, ``${env:NAME}``, ``${run_id}``), which the
  executor resolves just before a check or action runs. Every node keeps its Source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runbook.source import Source

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
COMMON_CHECK_KEYS = ("name", "within", "every")
DEFAULT_EVERY = 5.0

DurationText = str | int | float


class _Doc(BaseModel):
    # strict: the loader reads the raw values too, so `protected: "yes"` must be an error
    # here rather than True here and not-True there.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AwsDoc(_Doc):
    profile: str | None = Field(None, description="AWS profile name (shared config)")
    region: str | None = Field(None, description="AWS region, e.g. eu-west-2")
    endpoint_url: str | None = Field(None, description="a custom AWS endpoint (moto, LocalStack)")
    account: str | None = Field(
        None, description="the 12-digit AWS account id (quoted): STS must name it before any "
        "AWS call, or the run stops")
    role: str | None = Field(None, description="ARN of an IAM role the run assumes first")


class EnvironmentDoc(_Doc):
    vars: dict[str, Any] = Field(default_factory=dict, description="variables of this environment")
    protected: bool = Field(False, description="the operator types the environment's name to start")
    requires_rehearsal: str | None = Field(
        None, description="an environment where this plan's digest must have succeeded first")
    aws: AwsDoc | None = Field(None, description="boto3 settings for this environment")
    resolvers: list[str] = Field(default_factory=list,
                                 description="DNS servers (ip or ip:port) for `system` lookups")
    # the mapping's keys (world, serve, time_scale) are checked by the loader, which names
    # the key at fault; a union of text and a model would report every mistake twice
    sandbox: str | dict[str, Any] | None = Field(
        None, description="run against the local twin: a world file, or {world: FILE} or "
                          "{serve: URL} (a twin started by `runbook sandbox serve`), with "
                          "time_scale: real seconds per plan second (default: the world's)")
    proxy: str | None = Field(
        None, description="proxy URL for every HTTP request: http checks, http.request, "
        "notify webhooks (http://[user:pass@]host:port), or "
        "`none`; overrides HTTPS_PROXY/HTTP_PROXY/ALL_PROXY (NO_PROXY still applies)")
    client_cert: str | None = Field(
        None, description="client certificate (PEM) for every HTTP request (http checks, "
        "http.request, notify webhooks), relative to the plan")
    client_key: str | None = Field(
        None, description="the client certificate's key (PEM), when not in client_cert")

    @field_validator("proxy")
    @classmethod
    def _no_stored_password(cls, value: str | None) -> str | None:
        # The resolved plan is stored with every run: a literal password would be too.
        if value and "@" in value:
            userinfo = value.split("://", 1)[-1].split("@", 1)[0]
            password = userinfo.partition(":")[2]
            if password and not password.startswith("${env:"):
                raise ValueError("the proxy URL holds a password, which would be stored "
                                 "with every run: write it as ${env:NAME} (e.g. "
                                 "http://user:${env:PROXY_PASSWORD}@proxy:3128) or set "
                                 "HTTPS_PROXY instead of `proxy:`")
        return value


class StepDoc(_Doc):
    id: str | None = Field(None, description="slug, unique in the plan")
    title: str | None = None
    notes: str | None = None
    pre: list[dict[str, Any]] = Field(default_factory=list, description="checks before the action")
    action: dict[str, Any] | None = Field(None, description="exactly one action kind as key")
    post: list[dict[str, Any]] = Field(default_factory=list,
                                      description="checks proving the action")
    rollback: str | dict[str, Any] | list[dict[str, Any]] = Field(
        "auto", description='"auto", an action, a list of actions, or {none: "why not"}')
    verify: list[dict[str, Any]] = Field(
        default_factory=list, description="checks that must pass once the step is undone")
    confirm: bool = Field(False, description="pause before this step as well")
    use: str | None = Field(None, description="a library step: steps/NAME.yaml")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with",
                                  description="parameters of the library step")


class StageDoc(_Doc):
    name: str = Field(description="slug, unique in the plan")
    title: str | None = None
    notes: str | None = Field(None, description="Markdown shown before the stage")
    confirm: bool | str | None = Field(
        None, description="true (default with steps), false, or the question to ask")
    checks: list[dict[str, Any]] = Field(default_factory=list, description="a gate: checks only")
    steps: list[StepDoc] = Field(default_factory=list)
    soak: DurationText | None = Field(
        None, description="keep re-running the stage's checks this long after it")


NotifyEvent = Literal["started", "gate_passed", "failed", "rolled_back", "finished"]
NOTIFY_EVENTS: tuple[str, ...] = ("started", "gate_passed", "failed", "rolled_back",
                                  "finished")


class NotifyDoc(_Doc):
    url: str = Field(description="webhook URL (Slack-compatible); may hold ${env:...}")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="request headers; values may hold ${env:...}")
    events: list[NotifyEvent] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS),  # type: ignore[arg-type]
        description="the run events sent (default: all)")


class PlanDoc(_Doc):
    runbook: int = Field(description="format version: 1")
    name: str = Field(description="slug: names runs, locks and reports")
    title: str | None = None
    description: str | None = None
    state: str | None = Field(None, description="where runs are kept: a folder or s3://bucket/prefix")
    vars: dict[str, Any] = Field(default_factory=dict)
    environments: dict[str, EnvironmentDoc] = Field(default_factory=dict)
    notify: list[NotifyDoc] = Field(default_factory=list,
                                    description="webhooks that receive the run's events")
    stages: list[StageDoc] = Field(min_length=1)


class ParamDoc(_Doc):
    description: str | None = None
    default: Any = None


class LibraryStepDoc(_Doc):
    runbook: int
    step: str = Field(description="the name plans use with `use:`")
    title: str | None = None
    notes: str | None = None
    params: dict[str, ParamDoc | None] = Field(default_factory=dict)
    pre: list[dict[str, Any]] = Field(default_factory=list)
    action: dict[str, Any]
    post: list[dict[str, Any]] = Field(default_factory=list)
    rollback: str | dict[str, Any] | list[dict[str, Any]] = "auto"
    verify: list[dict[str, Any]] = Field(default_factory=list)


# ----- resolved, frozen models -------------------------------------------------------------


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    # Plans read back from a journal have no positions: they name the journal instead.
    source: Source = Field(default=Source("<journal>"), exclude=True)


class CheckSpec(_Node):
    kind: str
    params: dict[str, Any]
    name: str | None = None
    within: float | None = None
    every: float = DEFAULT_EVERY


class ActionSpec(_Node):
    kind: str
    params: dict[str, Any]


class Rollback(_Node):
    mode: Literal["auto", "actions", "none"] = "auto"
    actions: tuple[ActionSpec, ...] = ()
    reason: str | None = None


class Step(_Node):
    id: str
    stage: str
    title: str | None = None
    notes: str | None = None
    pre: tuple[CheckSpec, ...] = ()
    action: ActionSpec
    post: tuple[CheckSpec, ...] = ()
    rollback: Rollback
    verify: tuple[CheckSpec, ...] = ()  # must pass once the step is undone
    confirm: bool = False
    library: str | None = Field(None, description="the library step this came from")


class Stage(_Node):
    name: str
    title: str | None = None
    notes: str | None = None
    confirm: bool | str = True
    checks: tuple[CheckSpec, ...] = ()
    steps: tuple[Step, ...] = ()
    soak: float | None = None


class Aws(BaseModel):
    model_config = ConfigDict(frozen=True)
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    account: str | None = None
    role: str | None = None


class Sandbox(BaseModel):
    """The twin an environment runs against: a world file (a twin of this process) or a
    served twin's URL; ``time_scale`` makes plan time pass faster against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    world: str | None = None
    serve: str | None = None
    time_scale: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return {"world": value} if isinstance(value, str) else value  # `sandbox: FILE`

    def __str__(self) -> str:
        return f"served at {self.serve}" if self.serve else str(self.world)


class Environment(_Node):
    name: str
    vars: dict[str, Any] = Field(default_factory=dict)
    protected: bool = False
    requires_rehearsal: str | None = None
    aws: Aws = Field(default_factory=Aws)
    resolvers: tuple[str, ...] = ()
    sandbox: Sandbox | None = None
    proxy: str | None = None
    client_cert: str | None = None
    client_key: str | None = None


# Environment keys left out of the digest while unset, so adding them changed no digest.
_OPTIONAL_ENV = ("proxy", "client_cert", "client_key")


class Notify(BaseModel):
    model_config = ConfigDict(frozen=True)
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    events: tuple[str, ...] = NOTIFY_EVENTS


class Plan(_Node):
    format: int = 1
    name: str
    title: str | None = None
    description: str | None = None
    file: str = Field(default="<journal>", exclude=True)
    state: str | None = None
    environment: Environment
    environments: tuple[str, ...] = ()
    vars: dict[str, Any] = Field(default_factory=dict)
    stages: tuple[Stage, ...]
    notify: tuple[Notify, ...] = ()

    def steps(self) -> list[Step]:
        return [step for stage in self.stages for step in stage.steps]

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps() if s.id == step_id), None)

    def specs(self) -> Iterator[tuple[str, CheckSpec | ActionSpec]]:
        """Every check and action the plan holds, with where it is ("tls check 1", "alias
        pre 1", "alias post 2", "alias verify 1", "alias action", "alias rollback 1"): the
        one walk for whoever asks what a plan uses."""
        for stage in self.stages:
            for i, check in enumerate(stage.checks):
                yield f"{stage.name} check {i + 1}", check
            for step in stage.steps:
                for phase, checks in (("pre", step.pre), ("post", step.post),
                                      ("verify", step.verify)):
                    for i, check in enumerate(checks):
                        yield f"{step.id} {phase} {i + 1}", check
                yield f"{step.id} action", step.action
                for i, action in enumerate(step.rollback.actions):
                    yield f"{step.id} rollback {i + 1}", action

    def canonical(self) -> dict[str, Any]:
        """The resolved plan as JSON data, without positions: what the digest covers."""
        data = self.model_dump(mode="json")
        env = data.get("environment", {})
        for key in _OPTIONAL_ENV:
            if env.get(key) is None:
                env.pop(key, None)
        return data

    @property
    def digest(self) -> str:
        """sha256 over the resolved plan: formatting and comments do not change it."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
