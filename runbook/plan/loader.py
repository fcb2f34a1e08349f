"""YAML file -> validated, resolved Plan for one environment.

``load(path, env=...)`` returns a Plan or raises a PlanError listing *every* problem of
the file, each ending with its file, line and column. ``validate`` does the same for
every environment and returns the problems (warnings included) instead of raising.
``check_library_step(path)`` checks one library file alone.

The work is split: ``yamlio`` reads the file with positions, ``structure`` checks its
shape against the ``*Doc`` models, ``template`` resolves variables, ``specs`` reads each
check and action, ``library`` expands ``use:``, ``outputs`` checks ``${steps.ID.NAME}``.
This module walks the plan and builds the frozen models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook import kinds
from runbook.durations import parse_duration
from runbook.errors import PlanError, Problem, ProblemList
from runbook.plan.library import Library, Use
from runbook.plan.loops import redirect_loops
from runbook.plan.model import (
    NOTIFY_EVENTS,
    ActionSpec,
    Aws,
    CheckSpec,
    Environment,
    Notify,
    Plan,
    PlanDoc,
    Rollback,
    Sandbox,
    Stage,
    Step,
)
from runbook.plan.outputs import OutputChecker
from runbook.plan.specs import action_spec, check_spec
from runbook.plan.structure import SLUG, SLUG_RULE, check_structure, check_version, show
from runbook.plan.template import SELF, Resolver, rename_self
from runbook.plan.yamlio import Doc, display_name, load_file
from runbook.source import Source
from runbook.suggest import did_you_mean
from runbook.words import plural

Path_ = tuple[Any, ...]
DEFAULT_ENV = "default"
# Keys whose values are names, never templates: they must be the same in every environment.
LITERAL_STAGE_KEYS = ("name", "steps")
LITERAL_STEP_KEYS = ("id", "use")


@dataclass
class Loaded:
    plan: Plan
    warnings: list[Problem] = field(default_factory=list)
    # sha256 of what the plan *says* (its data and the library steps it uses), the same in
    # every environment: a rehearsal on stage binds prod to it. Comments do not count.
    definition: str = ""


def load(path: Path | str, *, env: str | None = None, variables: Mapping[str, str] | None = None,
         strict: bool = False, require_env_vars: bool = False) -> Loaded:
    """Load ``path`` for environment ``env``; raise PlanError with every problem."""
    loader = _Loader(Path(path), dict(variables or {}), require_env_vars)
    plan = loader.run(env)
    items = _unique(loader.problems.items)
    if strict:
        items = [Problem(p.message, p.source, "error", p.hint) for p in items]
    problems = ProblemList(items)
    problems.raise_if_errors()
    if plan is None:  # every path that gives up reports why; this is a safety net
        raise PlanError.single(f"{path} could not be loaded", None)
    return Loaded(plan, problems.warnings, loader.definition(plan))


def validate(path: Path | str, *, envs: list[str] | None = None,
             variables: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem of the plan, for each environment (all of them by default)."""
    p = Path(path)
    try:
        doc = load_file(p)
    except PlanError as exc:
        return exc.problems
    names: list[str | None]
    if envs:
        names = list(envs)
    else:
        found = doc.data.get("environments") if isinstance(doc.data, dict) else None
        names = [str(n) for n in found] if isinstance(found, dict) and found else [None]
    items: list[Problem] = []
    for name in names:
        loader = _Loader(p, dict(variables or {}), False, doc=doc)
        loader.run(name)
        items.extend(loader.problems.items)
    return sorted(_unique(items), key=_order)


def check_library_step(path: Path | str) -> list[Problem]:
    """Every problem of one library step file, read alone.

    Its required parameters are filled with ``${run_id}``, a reference only a run can
    resolve, so that their types are left for the run while everything else (kinds,
    parameters of kinds, templates, rollback, lint) is checked here.
    """
    file = Path(path)
    try:
        data = load_file(file, what="library step").data
    except PlanError as exc:
        return exc.problems
    params = data.get("params") if isinstance(data, dict) else None
    given = {str(name): "${run_id}" for name, spec in params.items()
             if not (isinstance(spec, dict) and "default" in spec)} \
        if isinstance(params, dict) else {}
    name = "library-step"
    plan = {"runbook": 1, "name": "library-check", "stages": [
        {"name": "check", "steps": [{"id": "step", "use": name, "with": given}]}]}
    loader = _Loader(file, {}, False, doc=Doc(display_name(file), plan))
    loader.library.pin(name, file)
    loader.run(None)
    return sorted(_unique(loader.problems.items), key=_order)


def _unique(items: list[Problem]) -> list[Problem]:
    """A library step used twice reports a mistake inside it once."""
    seen: dict[tuple[str, Source | None, str], Problem] = {}
    for p in items:
        seen.setdefault((p.message, p.source, p.severity), p)
    return list(seen.values())


def _order(p: Problem) -> tuple[bool, Source]:
    return (p.severity != "error", p.source or Source(""))


class _Loader:
    def __init__(self, path: Path, overrides: dict[str, str], require_env_vars: bool,
                 doc: Doc | None = None) -> None:
        self.path = path
        self.overrides = overrides
        self.problems = ProblemList()
        self._doc = doc
        self.doc: Doc | None = None  # the plan file as read, once
        self.library = Library(path.resolve().parent, self.problems)
        self._outputs = OutputChecker(self.problems, require_env_vars)
        self._var_where: Callable[[str], Source | None] | None = None

    def definition(self, plan: Plan) -> str:
        """The definition digest, from the files this loader has already read."""
        assert self.doc is not None
        data: dict[str, Any] = {"plan": self.doc.data, "library": {}}
        for name in sorted({s.library for s in plan.steps() if s.library}):
            found = self.library.find(name)
            used = self.library.read(found) if found is not None else None
            if used is not None:
                data["library"][name] = used.data
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _reporter(self, doc: Doc, base: Path_ = ()) -> Any:
        def report(message: str, path: Path_, at_key: bool = False) -> None:
            full = (*base, *path)
            self.problems.error(message, doc.key_at(full) if at_key else doc.at(full))
        return report

    def _blamer(self, used: Use) -> Any:
        """Reports problems of a library step's body where they belong: at the plan's
        `with:` value that brought them, else in the library file."""
        def report(message: str, path: Path_, at_key: bool = False) -> None:
            found = used.where(message, path)
            if found is None:
                return
            text, src = found
            if at_key and src == used.doc.at(path):
                src = used.doc.key_at(path)
            self.problems.error(text, src)
        return report

    # ---- the plan --------------------------------------------------------------------

    def run(self, env_name: str | None) -> Plan | None:
        try:
            doc = self._doc or load_file(self.path)
        except PlanError as exc:
            self.problems.items.extend(exc.problems)
            return None
        self.doc = doc
        data = doc.data
        if not isinstance(data, dict):
            self.problems.error(
                "a plan is a YAML mapping that starts with `runbook: 1`; this file holds "
                f"{show(data)}", doc.at(()))
            return None
        if not check_version(data, doc, "plan", self.problems):
            return None
        if "step" in data and "stages" not in data:
            self.problems.error("this is a library step, not a plan; plans use it with "
                                f"`use: {data.get('step')}`", doc.at(("step",)),
                                "put it in a steps/ folder")
            return None
        check_structure(PlanDoc, data, doc, (), "the plan", self.problems)
        name = data.get("name")
        if isinstance(name, str) and not SLUG.match(name):
            self.problems.error(f"the plan name {name!r} must be {SLUG_RULE}",
                                doc.at(("name",)))
        envs = data.get("environments")
        envs = {str(k): v for k, v in envs.items()} if isinstance(envs, dict) else {}
        env = self._environment(envs, env_name, doc)
        if env is None:
            return None
        chosen = env.name
        resolver = Resolver(self._variables(data, envs, chosen), chosen,
                            self._on_template_error(doc),
                            var_path=lambda n: self._var_path(n, data, envs, chosen),
                            elsewhere=_defined_elsewhere(data, envs, chosen))
        plan_vars = resolver.resolved_vars()

        def var_where(name: str) -> Source | None:  # a variable's own line, for `with:`
            if name in self.overrides or name not in resolver.names:
                return None
            return doc.at(self._var_path(name, data, envs, chosen))
        self._var_where = var_where
        raw_stages = data.get("stages")
        stages = self._stages(raw_stages, resolver, doc) if isinstance(raw_stages, list) else []
        for problem in redirect_loops([st for stage in stages for st in stage.steps]):
            self.problems.error(*problem)
        env = self._resolve_env(env, envs, resolver, doc)
        title = resolver.resolve(data.get("title"), ("title",))
        description = resolver.resolve(data.get("description"), ("description",))
        notify = _notify(resolver.resolve(data.get("notify"), ("notify",)))  # engine/notify.py
        self._unused_overrides(data, envs, resolver, doc)
        if self.problems.errors or not isinstance(name, str):
            return None
        return Plan(
            name=name, title=_text(title), description=_text(description), file=doc.file,
            state=_text(data.get("state")), environment=env, environments=tuple(envs),
            vars=plan_vars, stages=tuple(stages), source=doc.at(()), notify=notify,
        )

    def _environment(self, envs: dict[str, Any], name: str | None, doc: Doc) -> Environment | None:
        if not envs:
            if name not in (None, DEFAULT_ENV):
                self.problems.error(f"the plan has no environments, so --env {name} names "
                                    "nothing", doc.at(()),
                                    "add an `environments:` section or leave out --env")
                return None
            return Environment(name=DEFAULT_ENV, source=doc.at(()))
        if name is None:
            self.problems.error(f"this plan has environments ({', '.join(envs)}): choose "
                                "one with --env", doc.at(("environments",)))
            return None
        if name not in envs:
            self.problems.error(f"unknown environment {name!r}{did_you_mean(name, envs)}; the "
                                f"plan has: {', '.join(envs)}", doc.at(("environments",)))
            return None
        raw = envs[name] if isinstance(envs[name], dict) else {}
        path = ("environments", name)
        for other, spec in envs.items():  # each environment names others: check them all
            rehearsal = spec.get("requires_rehearsal") if isinstance(spec, dict) else None
            if isinstance(rehearsal, str) and rehearsal not in envs:
                self.problems.error(f"requires_rehearsal names {rehearsal!r}, which is not an "
                                    f"environment of this plan{did_you_mean(rehearsal, envs)}",
                                    doc.at(("environments", other, "requires_rehearsal")))
            elif rehearsal == other:
                self.problems.error(f"environment {other!r} requires a rehearsal on itself",
                                    doc.at(("environments", other, "requires_rehearsal")),
                                    "name another environment, like stage")
        rehearsal = raw.get("requires_rehearsal")
        protected = raw.get("protected") is True
        if protected and not rehearsal:
            self.problems.warn(f"environment {name!r} is protected but has no "
                               "`requires_rehearsal`: nothing proves the plan elsewhere first",
                               doc.key_at((*path, "protected")))
        resolvers = raw.get("resolvers")
        return Environment(
            name=name, protected=protected,
            requires_rehearsal=rehearsal if isinstance(rehearsal, str) else None,
            resolvers=tuple(r for r in resolvers if isinstance(r, str))
            if isinstance(resolvers, list) else (),
            source=doc.at(path),
        )

    def _resolve_env(self, env: Environment, envs: dict[str, Any], resolver: Resolver,
                     doc: Doc) -> Environment:
        """The environment's own variables, aws settings and sandbox, templates resolved."""
        path = ("environments", env.name)
        raw = envs.get(env.name)
        raw = raw if isinstance(raw, dict) else {}
        update: dict[str, Any] = {}
        own = raw.get("vars")
        if isinstance(own, dict):
            update["vars"] = {k: resolver.var(k, (*path, "vars", k))[1] for k in own}
        for key in ("proxy", "client_cert", "client_key"):
            value = resolver.resolve(raw.get(key), (*path, key))
            update[key] = self._text_value(value, (*path, key), doc)
        update["sandbox"] = self._sandbox(resolver.resolve(raw.get("sandbox"),
                                                           (*path, "sandbox")),
                                          (*path, "sandbox"), doc)
        aws = raw.get("aws")
        if isinstance(aws, dict):
            settings = {k: self._text_value(resolver.resolve(aws.get(k), (*path, "aws", k)),
                                            (*path, "aws", k), doc)
                        for k in Aws.model_fields}
            update["aws"] = Aws(**settings)
        resolved = resolver.resolve(list(env.resolvers), (*path, "resolvers"))
        update["resolvers"] = tuple(str(r) for r in resolved)
        return env.model_copy(update=update)

    def _sandbox(self, value: Any, path: Path_, doc: Doc) -> Sandbox | None:
        """``sandbox: FILE`` or ``sandbox: {world: FILE | serve: URL, time_scale: N}``."""
        if value is None:
            return None
        if isinstance(value, str):
            return Sandbox(world=value)
        if not isinstance(value, dict):
            return None  # the structure check reports it
        for key in value:
            if key not in Sandbox.model_fields:
                self.problems.error(f"unknown key {show(key)} in `sandbox`; allowed: world, "
                                    "serve, time_scale", doc.key_at((*path, key)))
                return None
        text = {k: self._text_value(value.get(k), (*path, k), doc) for k in ("world", "serve")}
        if any(value.get(k) is not None and text[k] is None for k in text):
            return None  # not text: reported
        if bool(text["world"]) == bool(text["serve"]):
            self.problems.error("`sandbox` needs exactly one of `world` (a world file) and "
                                "`serve` (the URL `runbook sandbox serve` prints)", doc.at(path))
            return None
        scale = value.get("time_scale")
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)
                                  or not 0 < scale <= 1):
            self.problems.error(f"`time_scale` should be a number above 0 and at most 1 (real "
                                f"seconds per plan second), not {show(scale)}",
                                doc.at((*path, "time_scale")))
            return None
        return Sandbox(world=text["world"], serve=text["serve"],
                       time_scale=float(scale) if scale is not None else None)

    def _text_value(self, value: Any, path: Path_, doc: Doc) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.problems.error(f"`{path[-1]}` should be text, not {show(value)}", doc.at(path))
        return None

    def _variables(self, data: dict[str, Any], envs: dict[str, Any], env: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        env_spec = envs.get(env)
        for source in (data.get("vars"), env_spec.get("vars") if isinstance(env_spec, dict)
                       else None):
            if isinstance(source, dict):
                merged.update({str(k): v for k, v in source.items()})
        merged.update(self.overrides)
        return merged

    def _unused_overrides(self, data: dict[str, Any], envs: dict[str, Any], resolver: Resolver,
                          doc: Doc) -> None:
        """`--var verison=v2` must not run the plan with its default version in silence."""
        defined: set[str] = set(data.get("vars") or {}) if isinstance(data.get("vars"),
                                                                      dict) else set()
        for spec in envs.values():
            if isinstance(spec, dict) and isinstance(spec.get("vars"), dict):
                defined.update(str(k) for k in spec["vars"])
        for name in self.overrides:
            if name not in defined and name not in resolver.referenced:
                self.problems.error(f"--var {name}: the plan has no variable {name!r}"
                                    f"{did_you_mean(name, defined)} and uses none by that name",
                                    doc.at(("vars",)))

    def _var_path(self, name: str, data: dict[str, Any], envs: dict[str, Any],
                  env: str) -> Path_:
        if name in self.overrides:
            return ()
        env_spec = envs.get(env)
        env_vars = env_spec.get("vars") if isinstance(env_spec, dict) else None
        if isinstance(env_vars, dict) and name in env_vars:
            return ("environments", env, "vars", name)
        return ("vars", name)

    def _on_template_error(self, doc: Doc) -> Any:
        def on_error(message: str, path: Path_) -> None:
            self.problems.error(message, doc.at(path))
        return on_error

    # ---- stages and steps ------------------------------------------------------------

    def _stages(self, raw: list[Any], resolver: Resolver, doc: Doc) -> list[Stage]:
        ids = self._step_ids(raw, doc)
        self._outputs.ids = ids
        stage_names: dict[str, Source] = {}
        out: list[Stage] = []
        for i, stage_raw in enumerate(raw):
            path = ("stages", i)
            if not isinstance(stage_raw, dict) or not isinstance(stage_raw.get("name"), str):
                continue  # the structure check has said what is wrong with it
            name = stage_raw["name"]
            if not SLUG.match(name):
                self.problems.error(f"the stage name {name!r} must be {SLUG_RULE}",
                                    doc.at((*path, "name")))
            if name in stage_names:
                self.problems.error(f"two stages are named {name!r} (the first at line "
                                    f"{stage_names[name].line})", doc.at((*path, "name")))
            stage_names.setdefault(name, doc.at((*path, "name")))
            stage_out = self._stage(stage_raw, resolver, path, doc)
            if stage_out is not None:
                out.append(stage_out)
        return out

    def _step_ids(self, raw: list[Any], doc: Doc) -> dict[str, Source]:
        """Every step id of the plan (explicit or derived), in plan order."""
        ids: dict[str, Source] = {}
        for i, stage in enumerate(raw):
            if not isinstance(stage, dict) or not isinstance(stage.get("steps"), list):
                continue
            for j, step in enumerate(stage["steps"]):
                sid = _step_id(stage, j, step)
                explicit = isinstance(step, dict) and isinstance(step.get("id"), str)
                src = doc.at(("stages", i, "steps", j, "id") if explicit
                             else ("stages", i, "steps", j))
                if sid in ids:
                    self.problems.error(f"two steps have the id {sid!r} (the first at line "
                                        f"{ids[sid].line})", src)
                elif explicit and sid == SELF:
                    self.problems.error("the step id 'self' is reserved: ${steps.self.NAME} "
                                        "names a step's own outputs", src)
                elif explicit and not SLUG.match(sid):
                    self.problems.error(f"the step id {sid!r} must be {SLUG_RULE}", src)
                ids.setdefault(sid, src)
        return ids

    def _stage(self, raw: dict[str, Any], resolver: Resolver, path: Path_,
               doc: Doc) -> Stage:
        stage = {k: v if k in LITERAL_STAGE_KEYS else resolver.resolve(v, (*path, k))
                 for k, v in raw.items()}
        checks_raw = _list(stage.get("checks"))
        steps_raw = _list(stage.get("steps"))
        if not checks_raw and not steps_raw:
            self.problems.error(f"stage {raw['name']!r} has neither checks nor steps",
                                doc.at(path), "give it `checks:` (a gate) or `steps:`")
        report = self._reporter(doc)
        checks = [c for i, item in enumerate(checks_raw)
                  if (c := check_spec(item, (*path, "checks", i), doc.at, report)) is not None]
        self._outputs.check(checks_raw, (*path, "checks"), doc, None, "checks")
        steps: list[Step] = []
        for j, step_raw in enumerate(steps_raw):
            step_path = (*path, "steps", j)
            if isinstance(step_raw, dict):
                step_raw = {k: v if k in LITERAL_STEP_KEYS
                            else resolver.resolve(v, (*step_path, k))
                            for k, v in step_raw.items()}
            step = self._step(raw["name"], j, step_raw, step_path, doc, resolver.environment)
            if step is not None:
                steps.append(step)
        soak = None
        if stage.get("soak") is not None:
            try:
                soak = parse_duration(stage["soak"])
            except ValueError as exc:
                self.problems.error(f"`soak`: {exc}", doc.at((*path, "soak")))
        confirm = stage.get("confirm")
        if confirm is None:
            confirm = bool(steps_raw)
        elif not isinstance(confirm, bool | str):
            self.problems.error(f"`confirm` is true, false or the question to ask, not "
                                f"{show(confirm)}", doc.at((*path, "confirm")))
            confirm = True
        return Stage(name=raw["name"], title=_text(stage.get("title")),
                     notes=_text(stage.get("notes")), confirm=confirm, checks=tuple(checks),
                     steps=tuple(steps), soak=soak, source=doc.at(path))

    def _step(self, stage: str, index: int, raw: Any, path: Path_, doc: Doc,
              environment: str) -> Step | None:
        if not isinstance(raw, dict):
            self.problems.error("a step is a mapping (id, pre, action, post, rollback, or "
                                f"use and with), not {show(raw)}", doc.at(path))
            return None
        sid = _step_id({"name": stage}, index, raw)
        body, body_doc, body_path, library = raw, doc, path, None
        used = None
        if raw.get("use") is not None:
            used = self.library.use(raw, doc, path, environment, self._var_where)
            if used is None:
                self._outputs.ran(sid, None)
                return None
            body, body_doc, body_path, library = used.body, used.doc, (), used.name
        elif raw.get("action") is None:
            self.problems.error(f"step {sid!r} has no `action`", doc.at(path),
                                "a step without one is a check: put it under the stage's "
                                "`checks`, or take a library step with `use:`")
            self._outputs.ran(sid, None)
            return None
        elif raw.get("with"):
            self.problems.error("`with` goes with `use:`; this step uses no library step",
                                doc.key_at((*path, "with")))
        # References are checked before ${steps.self.NAME} becomes this step's id, so that
        # a misplaced one is reported as such.
        kind = _action_kind(body.get("action"))
        for key in ("pre", "action", "post", "rollback", "verify"):
            self._outputs.check(body.get(key), (*body_path, key), body_doc, sid, key,
                                own_kind=kind if key in ("post", "rollback", "verify") else None,
                                place=used.where if used is not None else None)
        self._outputs.ran(sid, kind)
        body = rename_self(body, sid)
        report = self._reporter(body_doc, body_path) if used is None else self._blamer(used)
        locate = _locator(body_doc, body_path)
        action = action_spec(body.get("action"), ("action",), locate, report)
        pre = [c for i, item in enumerate(_list(body.get("pre")))
               if (c := check_spec(item, ("pre", i), locate, report)) is not None]
        post = [c for i, item in enumerate(_list(body.get("post")))
                if (c := check_spec(item, ("post", i), locate, report)) is not None]
        verify = [c for i, item in enumerate(_list(body.get("verify")))
                  if (c := check_spec(item, ("verify", i), locate, report)) is not None]
        rollback = self._rollback(body.get("rollback", "auto"), locate, report)
        if action is not None:  # a library step is fixed in its file: point there
            self._lint(sid, action, post, rollback,
                       body_doc.at(("action",)) if library else doc.at(path))
        if action is None or rollback is None:
            return None
        title = _text(raw.get("title")) or _text(body.get("title"))
        return Step(id=sid, stage=stage, title=title,
                    notes=_text(raw.get("notes")) or _text(body.get("notes")), pre=tuple(pre),
                    action=action, post=tuple(post), rollback=rollback, verify=tuple(verify),
                    confirm=raw.get("confirm") is True, library=library, source=doc.at(path))

    def _rollback(self, raw: Any, locate: Any, report: Any) -> Rollback | None:
        src = locate(("rollback",))
        if raw == "auto" or raw is None:
            return Rollback(mode="auto", source=src)
        if isinstance(raw, dict) and "none" in raw and len(raw) == 1:
            reason = raw["none"]
            if reason is not None and not isinstance(reason, str):
                report(f"the reason of `rollback: {{none: ...}}` is text, not {show(reason)}",
                       ("rollback", "none"), False)
                return None
            return Rollback(mode="none", reason=reason.strip() if reason else None, source=src)
        if isinstance(raw, str | bool | int | float) or raw == [] or raw == {}:
            report(f"rollback {show(raw)} is not understood; write `auto`, an action, a list "
                   "of actions, or `{none: \"why not\"}`", ("rollback",), False)
            return None
        items = raw if isinstance(raw, list) else [raw]
        actions = [a for i, item in enumerate(items)
                   if (a := action_spec(item, ("rollback", i) if isinstance(raw, list)
                                        else ("rollback",), locate, report)) is not None]
        if len(actions) != len(items):
            return None
        return Rollback(mode="actions", actions=tuple(actions), source=src)

    def _lint(self, sid: str, action: ActionSpec, post: list[CheckSpec],
              rollback: Rollback | None, src: Source) -> None:
        cls = kinds.action(action.kind)
        if cls is None:
            return
        if not post and not cls.read_only:
            self.problems.warn(f"step {sid!r} changes something ({action.kind}) but has no "
                               "`post` checks to prove it worked", src)
        if rollback is not None and rollback.mode == "none" and not rollback.reason:
            self.problems.warn(f"step {sid!r} has `rollback: none` without a reason; write "
                               "{none: \"why it cannot be undone\"}", rollback.source)
        if rollback is not None and rollback.mode == "auto":
            gap = cls.auto_rollback_gap(action.params)
            if gap:
                self.problems.warn(f"step {sid!r}: rollback is auto, but {gap}", src)


def _defined_elsewhere(data: dict[str, Any], envs: dict[str, Any], env: str) -> dict[str, str]:
    """For each variable some environments define and ``env`` does not (nor the plan's
    `vars`): one paragraph naming the environments that define it and those that do not."""
    raw_top = data.get("vars")
    top: dict[str, Any] = raw_top if isinstance(raw_top, dict) else {}
    defines: dict[str, list[str]] = {}
    for name, spec in envs.items():
        env_vars = spec.get("vars") if isinstance(spec, dict) else None
        for var in env_vars if isinstance(env_vars, dict) else {}:
            defines.setdefault(str(var), []).append(name)
    out: dict[str, str] = {}
    for var, where in defines.items():
        if var in top or env in where:
            continue
        lacking = [n for n in envs if n not in where]
        out[var] = (f"variable ${{{var}}} is defined only in "
                    f"{plural(len(where), 'environment')} {', '.join(where)}, not in "
                    f"{', '.join(lacking)}: give {' and '.join(lacking)} "
                    f"`vars: {{{var}: ...}}`, or define it once in the plan's `vars`")
    return out


def _notify(raw: Any) -> tuple[Notify, ...]:
    """The plan's webhooks (their structure is checked with PlanDoc)."""
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            out.append(Notify(url=item["url"], headers=dict(item.get("headers") or {}),
                              events=tuple(item.get("events") or NOTIFY_EVENTS)))
    return tuple(out)


def _action_kind(action: Any) -> str | None:
    """The registered action kind an ``action:`` mapping names, if it names exactly one."""
    if isinstance(action, dict) and len(action) == 1:
        (kind,) = action
        if isinstance(kind, str) and kinds.action(kind) is not None:
            return kind
    return None


def _step_id(stage: dict[str, Any], index: int, step: Any) -> str:
    if isinstance(step, dict) and isinstance(step.get("id"), str):
        return str(step["id"])
    return f"{stage.get('name', 'stage')}-{index + 1}"


def _locator(doc: Doc, base: Path_) -> Any:
    return lambda path: doc.at((*base, *path))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
