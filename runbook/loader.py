"""YAML file -> validated, resolved Plan for one environment.

``load(path, env=...)`` returns a Plan or raises a PlanError listing *every* problem of
the file, each ending with its file, line and column. ``validate`` does the same for
every environment and returns the problems (warnings included) instead of raising.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from runbook import FORMAT_VERSION, kinds
from runbook import library as lib
from runbook.durations import parse_duration
from runbook.errors import PlanError, Problem, ProblemList
from runbook.model import (
    ActionSpec,
    Aws,
    AwsDoc,
    CheckSpec,
    Environment,
    EnvironmentDoc,
    LibraryStepDoc,
    Plan,
    PlanDoc,
    Rollback,
    Stage,
    StageDoc,
    Step,
    StepDoc,
)
from runbook.source import Source
from runbook.specs import action_spec, check_spec
from runbook.suggest import did_you_mean
from runbook.template import STEP_REF, Resolver, references
from runbook.yamlio import Doc, load_file

Path_ = tuple[Any, ...]
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_ENV = "default"


@dataclass
class Loaded:
    plan: Plan
    warnings: list[Problem] = field(default_factory=list)


def load(path: Path | str, *, env: str | None = None, variables: Mapping[str, str] | None = None,
         strict: bool = False, require_env_vars: bool = False) -> Loaded:
    """Load ``path`` for environment ``env``; raise PlanError with every problem."""
    loader = _Loader(Path(path), dict(variables or {}), require_env_vars)
    plan = loader.run(env)
    problems = loader.problems
    if strict:
        problems = ProblemList([Problem(p.message, p.source, "error", p.hint)
                                for p in problems.items])
    problems.raise_if_errors()
    assert plan is not None
    return Loaded(plan, problems.warnings)


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
        names = [n for n in found] if isinstance(found, dict) and found else [None]
    seen: dict[tuple[str, Source | None], Problem] = {}
    for name in names:
        loader = _Loader(p, dict(variables or {}), False, doc=doc)
        loader.run(name)
        for problem in loader.problems.items:
            seen.setdefault((problem.message, problem.source), problem)
    return sorted(seen.values(), key=lambda q: (q.severity != "error", q.source or Source("")))


class _Loader:
    def __init__(self, path: Path, overrides: dict[str, str], require_env_vars: bool,
                 doc: Doc | None = None) -> None:
        self.path = path
        self.overrides = overrides
        self.require_env_vars = require_env_vars
        self.problems = ProblemList()
        self._doc = doc
        self._library: dict[Path, Doc | None] = {}

    # ---- reporting -------------------------------------------------------------------

    def _reporter(self, doc: Doc, base: Path_ = ()) -> Any:
        def report(message: str, path: Path_, at_key: bool = False) -> None:
            full = (*base, *path)
            self.problems.error(message, doc.key_at(full) if at_key else doc.at(full))
        return report

    def _structure(self, model: type[BaseModel], data: Any, doc: Doc, base: Path_,
                   what: str) -> None:
        try:
            model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                full = (*base, *loc)
                key = str(loc[-1]) if loc else ""
                typ = err["type"]
                if typ == "extra_forbidden":
                    allowed = _allowed_keys(model, loc[:-1])
                    self.problems.error(
                        f"unknown key {key!r} in {_where(full[:-1], what)}"
                        f"{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}",
                        doc.key_at(full))
                elif typ == "missing":
                    self.problems.error(f"{_where(full[:-1], what)} needs the key {key!r}",
                                        doc.at(full[:-1]))
                elif typ == "too_short" and key == "stages":
                    self.problems.error("the plan has no stages", doc.at(full))
                elif _is_model_noise(err, loc):
                    continue
                else:
                    msg = err["msg"].replace("Input should be", "should be")
                    self.problems.error(f"`{key}` {msg}, not {_show(err.get('input'))}",
                                        doc.at(full))

    # ---- the plan --------------------------------------------------------------------

    def run(self, env_name: str | None) -> Plan | None:
        try:
            doc = self._doc or load_file(self.path)
        except PlanError as exc:
            self.problems.items.extend(exc.problems)
            return None
        data = doc.data
        if not isinstance(data, dict):
            self.problems.error(
                f"a plan is a YAML mapping that starts with `runbook: {FORMAT_VERSION}`; "
                f"this file holds {_show(data)}", doc.at(()))
            return None
        if not self._version(data, doc, "plan"):
            return None
        if "step" in data and "stages" not in data:
            self.problems.error("this is a library step, not a plan; plans use it with "
                                f"`use: {data.get('step')}`", doc.at(("step",)))
            return None
        self._structure(PlanDoc, data, doc, (), "the plan")
        name = data.get("name")
        if isinstance(name, str) and not SLUG.match(name):
            self.problems.error(f"the plan name {name!r} must be a slug: lower-case letters, "
                                "digits, - and _", doc.at(("name",)))
        envs = data.get("environments") if isinstance(data.get("environments"), dict) else {}
        env = self._environment(envs, env_name, doc)
        if env is None:
            return None
        variables = self._variables(data, envs, env.name, doc)
        resolver = Resolver(variables, env.name, self._on_template_error(doc),
                            var_path=lambda n: self._var_path(n, data, envs, env.name))
        plan_vars = resolver.resolved_vars()
        raw_stages = data.get("stages")
        stages = self._stages(raw_stages, resolver, doc) if isinstance(raw_stages, list) else ()
        env = self._resolve_env(env, resolver, doc)
        if self.problems.errors or not isinstance(name, str):
            return None
        return Plan(
            name=name, title=_text(resolver.resolve(data.get("title"), ("title",))),
            description=_text(data.get("description")), file=doc.file, state=data.get("state"),
            environment=env, environments=tuple(envs), vars=plan_vars, stages=tuple(stages),
            source=doc.at(()),
        )

    def _version(self, data: dict[str, Any], doc: Doc, what: str) -> bool:
        if "runbook" not in data:
            self.problems.error(f"the {what} does not say its format version",
                                doc.at(()), f"add `runbook: {FORMAT_VERSION}` as its first line")
            return False
        v = data["runbook"]
        if v != FORMAT_VERSION or isinstance(v, bool):
            self.problems.error(f"format version {v!r} is not supported; this runbook reads "
                                f"version {FORMAT_VERSION}", doc.at(("runbook",)))
            return False
        return True

    def _environment(self, envs: dict[str, Any], name: str | None, doc: Doc) -> Environment | None:
        if not envs:
            if name not in (None, DEFAULT_ENV):
                self.problems.error(f"the plan has no environments, so --env {name} means "
                                    "nothing; add an `environments:` section", doc.at(()))
                return None
            return Environment(name=DEFAULT_ENV, source=doc.at(()))
        if name is None:
            self.problems.error("this plan has environments "
                                f"({', '.join(envs)}): choose one with --env", doc.at(()))
            return None
        if name not in envs:
            self.problems.error(f"unknown environment {name!r}{did_you_mean(name, envs)}; the "
                                f"plan has: {', '.join(envs)}", doc.at(("environments",)))
            return None
        raw = envs[name] if isinstance(envs[name], dict) else {}
        path = ("environments", name)
        for other in envs.values():
            if isinstance(other, dict):
                self._structure(EnvironmentDoc, other, doc, path, f"environment {name!r}")
                break
        rehearsal = raw.get("requires_rehearsal")
        if isinstance(rehearsal, str) and rehearsal not in envs:
            self.problems.error(f"requires_rehearsal names {rehearsal!r}, which is not an "
                                f"environment of this plan{did_you_mean(rehearsal, envs)}",
                                doc.at((*path, "requires_rehearsal")))
        if raw.get("protected") is True and not rehearsal:
            self.problems.warn(f"environment {name!r} is protected but has no "
                               "`requires_rehearsal`: nothing proves the plan elsewhere first",
                               doc.key_at((*path, "protected")))
        try:
            aws = Aws(**AwsDoc.model_validate(raw.get("aws") or {}).model_dump())
        except ValidationError:
            aws = Aws()
        resolvers = raw.get("resolvers") if isinstance(raw.get("resolvers"), list) else []
        return Environment(
            name=name, vars={}, protected=raw.get("protected") is True,
            requires_rehearsal=rehearsal if isinstance(rehearsal, str) else None, aws=aws,
            resolvers=tuple(str(r) for r in resolvers),
            sandbox=raw.get("sandbox") if isinstance(raw.get("sandbox"), str) else None,
            source=doc.at(path),
        )

    def _resolve_env(self, env: Environment, resolver: Resolver, doc: Doc) -> Environment:
        path = ("environments", env.name)
        aws = resolver.resolve(env.aws.model_dump(), (*path, "aws"))
        sandbox = resolver.resolve(env.sandbox, (*path, "sandbox"))
        return env.model_copy(update={
            "aws": Aws(**aws), "sandbox": sandbox,
            "resolvers": tuple(str(r) for r in resolver.resolve(list(env.resolvers),
                                                                (*path, "resolvers"))),
        })

    def _variables(self, data: dict[str, Any], envs: dict[str, Any], env: str,
                   doc: Doc) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for source in (data.get("vars"), (envs.get(env) or {}).get("vars")
                       if isinstance(envs.get(env), dict) else None):
            if isinstance(source, dict):
                merged.update(source)
        for key, value in self.overrides.items():
            merged[key] = value
        return merged

    def _var_path(self, name: str, data: dict[str, Any], envs: dict[str, Any],
                  env: str) -> Path_:
        env_vars = (envs.get(env) or {}).get("vars") if isinstance(envs.get(env), dict) else None
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
        stage_names: dict[str, Source] = {}
        earlier: dict[str, str] = {}  # step id -> action kind, for steps already walked
        out: list[Stage] = []
        for i, stage_raw in enumerate(raw):
            path = ("stages", i)
            if not isinstance(stage_raw, dict):
                continue
            name = stage_raw.get("name")
            if not isinstance(name, str):
                continue
            if not SLUG.match(name):
                self.problems.error(f"the stage name {name!r} must be a slug: lower-case "
                                    "letters, digits, - and _", doc.at((*path, "name")))
            if name in stage_names:
                self.problems.error(f"two stages are named {name!r} (the first at line "
                                    f"{stage_names[name].line})", doc.at((*path, "name")))
            stage_names.setdefault(name, doc.at((*path, "name")))
            stage = resolver.resolve(stage_raw, path)
            stage_out = self._stage(stage, path, doc, ids, earlier)
            if stage_out is not None:
                out.append(stage_out)
        return out

    def _step_ids(self, raw: list[Any], doc: Doc) -> dict[str, tuple[int, Source]]:
        """Every step id of the plan (explicit or derived) with its stage index."""
        ids: dict[str, tuple[int, Source]] = {}
        for i, stage in enumerate(raw):
            if not isinstance(stage, dict) or not isinstance(stage.get("steps"), list):
                continue
            for j, step in enumerate(stage["steps"]):
                sid = _step_id(stage, j, step)
                src = doc.at(("stages", i, "steps", j, "id") if isinstance(step, dict)
                             and "id" in step else ("stages", i, "steps", j))
                if sid in ids:
                    self.problems.error(f"two steps have the id {sid!r} (the first at line "
                                        f"{ids[sid][1].line})", src)
                elif isinstance(step, dict) and "id" in step and not SLUG.match(str(sid)):
                    self.problems.error(f"the step id {sid!r} must be a slug: lower-case "
                                        "letters, digits, - and _", src)
                ids.setdefault(sid, (i, src))
        return ids

    def _stage(self, stage: dict[str, Any], path: Path_, doc: Doc,
               ids: dict[str, tuple[int, Source]], earlier: dict[str, str]) -> Stage | None:
        report = self._reporter(doc)
        checks_raw = stage.get("checks") if isinstance(stage.get("checks"), list) else []
        steps_raw = stage.get("steps") if isinstance(stage.get("steps"), list) else []
        if not checks_raw and not steps_raw:
            self.problems.error(f"stage {stage['name']!r} has neither checks nor steps",
                                doc.at(path))
        checks = [c for i, item in enumerate(checks_raw)
                  if (c := check_spec(item, (*path, "checks", i), doc.at, report)) is not None]
        self._refs(checks_raw, (*path, "checks"), doc, ids, dict(earlier), None, "checks")
        steps: list[Step] = []
        before_stage = dict(earlier)
        for j, step_raw in enumerate(steps_raw):
            step = self._step(stage, j, step_raw, (*path, "steps", j), doc, ids, earlier)
            if step is not None:
                steps.append(step)
        del before_stage
        soak = None
        if stage.get("soak") is not None:
            try:
                soak = parse_duration(stage["soak"])
            except ValueError as exc:
                self.problems.error(str(exc), doc.at((*path, "soak")))
        confirm = stage.get("confirm")
        if confirm is None:
            confirm = bool(steps_raw)
        return Stage(name=stage["name"], title=_text(stage.get("title")),
                     notes=_text(stage.get("notes")), confirm=confirm, checks=tuple(checks),
                     steps=tuple(steps), soak=soak, source=doc.at(path))

    def _step(self, stage: dict[str, Any], index: int, raw: Any, path: Path_, doc: Doc,
              ids: dict[str, tuple[int, Source]], earlier: dict[str, str]) -> Step | None:
        if not isinstance(raw, dict):
            self.problems.error(f"a step is a mapping (id, pre, action, post, rollback), "
                                f"found {_show(raw)}", doc.at(path))
            return None
        sid = _step_id(stage, index, raw)
        body, body_doc, body_path, library = raw, doc, path, None
        if raw.get("use") is not None:
            expanded = self._use(raw, sid, path, doc)
            if expanded is None:
                return None
            body, body_doc, body_path, library = expanded
        elif raw.get("action") is None:
            self.problems.error(f"step {sid!r} has no `action` (a step without one is a stage "
                                "check: put it under the stage's `checks`)", doc.at(path))
            return None
        elif raw.get("with"):
            self.problems.error("`with` goes with `use:`; this step uses no library step",
                                doc.key_at((*path, "with")))
        report = self._reporter(body_doc, body_path)
        locate = _locator(body_doc, body_path)
        pre = [c for i, item in enumerate(_list(body.get("pre")))
               if (c := check_spec(item, ("pre", i), locate, report)) is not None]
        post = [c for i, item in enumerate(_list(body.get("post")))
                if (c := check_spec(item, ("post", i), locate, report)) is not None]
        action = action_spec(body.get("action"), ("action",), locate, report)
        rollback = self._rollback(body.get("rollback", "auto"), locate, report)
        visible = dict(earlier)
        self._refs(body.get("pre"), ("pre",), body_doc, ids, visible, None, "pre", body_path)
        self._refs(body.get("action"), ("action",), body_doc, ids, visible, None, "action",
                   body_path)
        own = (sid, action.kind) if action else None
        self._refs(body.get("post"), ("post",), body_doc, ids, visible, own, "post", body_path)
        self._refs(body.get("rollback"), ("rollback",), body_doc, ids, visible, own, "rollback",
                   body_path)
        if action is not None:
            earlier[sid] = action.kind
            self._lint(sid, action, post, rollback, body_doc.at(body_path))
        if action is None or rollback is None:
            return None
        title = _text(raw.get("title")) or _text(body.get("title"))
        return Step(id=sid, stage=stage["name"], title=title,
                    notes=_text(raw.get("notes")) or _text(body.get("notes")), pre=tuple(pre),
                    action=action, post=tuple(post), rollback=rollback,
                    confirm=raw.get("confirm") is True, library=library, source=doc.at(path))

    def _rollback(self, raw: Any, locate: Any, report: Any) -> Rollback | None:
        src = locate(("rollback",))
        if raw == "auto" or raw is None:
            return Rollback(mode="auto", source=src)
        if isinstance(raw, dict) and "none" in raw and len(raw) == 1:
            reason = raw["none"]
            return Rollback(mode="none", reason=str(reason).strip() if reason else None,
                            source=src)
        items = raw if isinstance(raw, list) else [raw]
        if isinstance(raw, str):
            report(f"rollback {raw!r} is not understood; write `auto`, an action, a list of "
                   "actions, or `{none: \"why not\"}`", ("rollback",), False)
            return None
        actions = [a for i, item in enumerate(items)
                   if (a := action_spec(item, ("rollback", i) if isinstance(raw, list)
                                        else ("rollback",), locate, report)) is not None]
        if len(actions) != len(items):
            return None
        return Rollback(mode="actions", actions=tuple(actions), source=src)

    def _lint(self, sid: str, action: ActionSpec, post: list[CheckSpec], rollback: Rollback | None,
              src: Source) -> None:
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

    # ---- references to step outputs --------------------------------------------------

    def _refs(self, value: Any, base: Path_, doc: Doc, ids: dict[str, tuple[int, Source]],
              visible: dict[str, str], own: tuple[str, str] | None, where: str,
              prefix: Path_ = ()) -> None:
        if value is None:
            return
        for ref, path in references(value):
            full = (*prefix, *base, *path)
            if ref.kind == "env" and self.require_env_vars and ref.text[4:] not in os.environ:
                self.problems.error(f"the environment variable {ref.text[4:]} is not set "
                                    f"(the plan uses ${{{ref.text}}})", doc.at(full))
            if ref.kind != "step":
                continue
            m = STEP_REF.match(ref.text)
            assert m is not None
            sid, output = m.group(1), m.group(2)
            if own is not None and sid == own[0]:
                kind = own[1]
            elif sid in visible:
                kind = visible[sid]
            elif sid in ids:
                self.problems.error(f"${{{ref.text}}} refers to step {sid!r}, which runs later "
                                    f"(line {ids[sid][1].line}); a step can use the outputs of "
                                    f"earlier steps{' and, after its action, its own' if own else ''}",
                                    doc.at(full))
                continue
            else:
                self.problems.error(f"${{{ref.text}}} refers to a step {sid!r} that the plan "
                                    f"does not have{did_you_mean(sid, ids)}", doc.at(full))
                continue
            cls = kinds.action(kind)
            if cls is not None and output not in cls.outputs:
                offered = ", ".join(cls.outputs) or "none"
                self.problems.error(f"${{{ref.text}}}: step {sid!r} ({kind}) has no output "
                                    f"{output!r}{did_you_mean(output, cls.outputs)}; its "
                                    f"outputs: {offered}", doc.at(full))

    # ---- library steps ---------------------------------------------------------------

    def _use(self, raw: dict[str, Any], sid: str, path: Path_,
             doc: Doc) -> tuple[dict[str, Any], Doc, Path_, str] | None:
        name = raw.get("use")
        if not isinstance(name, str):
            self.problems.error("`use` names a library step", doc.at((*path, "use")))
            return None
        if raw.get("action") is not None:
            self.problems.error("a step has either `use` or `action`, not both",
                                doc.key_at((*path, "action")))
            return None
        plan_dir = self.path.resolve().parent
        file = lib.find(name, plan_dir)
        if file is None:
            folders = ", ".join(str(f) for f in lib.search_path(plan_dir)) or "none"
            self.problems.error(f"no library step {name!r}{did_you_mean(name, lib.available(plan_dir))}"
                                f"; looked in: {folders}", doc.at((*path, "use")))
            return None
        ldoc = self._library_doc(file)
        if ldoc is None:
            return None
        data = ldoc.data
        params = data.get("params") if isinstance(data.get("params"), dict) else {}
        given = raw.get("with") if isinstance(raw.get("with"), dict) else {}
        ok = True
        for key in given:
            if key not in params:
                self.problems.error(
                    f"library step {name!r} ({ldoc.file}) has no parameter {key!r}"
                    f"{did_you_mean(key, params)}; it takes: {', '.join(params) or 'none'}",
                    doc.key_at((*path, "with", key)))
                ok = False
        values: dict[str, Any] = {}
        for pname, spec in params.items():
            spec = spec if isinstance(spec, dict) else {}
            if pname in given:
                values[pname] = given[pname]
            elif "default" in spec:
                values[pname] = spec["default"]
            else:
                desc = f" ({spec['description']})" if spec.get("description") else ""
                self.problems.error(f"library step {name!r} ({ldoc.file}) needs the parameter "
                                    f"{pname!r}{desc}; give it under `with:`",
                                    doc.at((*path, "use")))
                ok = False
        if not ok:
            return None
        resolver = Resolver(values, "", self._on_template_error(ldoc),
                            var_path=lambda n: ("params", n))
        body = {k: data.get(k) for k in ("title", "notes", "pre", "action", "post", "rollback")
                if k in data}
        body = _self_refs(resolver.resolve(body), sid)
        return body, ldoc, (), name

    def _library_doc(self, file: Path) -> Doc | None:
        if file in self._library:
            return self._library[file]
        try:
            ldoc: Doc | None = load_file(file, what="library step")
        except PlanError as exc:
            self.problems.items.extend(exc.problems)
            ldoc = None
        if ldoc is not None:
            if not isinstance(ldoc.data, dict):
                self.problems.error("a library step is a YAML mapping", ldoc.at(()))
                ldoc = None
            elif not self._version(ldoc.data, ldoc, "library step"):
                ldoc = None
            else:
                self._structure(LibraryStepDoc, ldoc.data, ldoc, (), "the library step")
        self._library[file] = ldoc
        return ldoc


# ---- small helpers ---------------------------------------------------------------------


def _step_id(stage: dict[str, Any], index: int, step: Any) -> str:
    if isinstance(step, dict) and isinstance(step.get("id"), str):
        return str(step["id"])
    return f"{stage.get('name', 'stage')}-{index + 1}"


def _self_refs(value: Any, sid: str) -> Any:
    """``${steps.self.NAME}`` in a library step names the step that uses it."""
    if isinstance(value, str):
        return value.replace("${steps.self.", f"${{steps.{sid}.")
    if isinstance(value, dict):
        return {k: _self_refs(v, sid) for k, v in value.items()}
    if isinstance(value, list):
        return [_self_refs(v, sid) for v in value]
    return value


def _locator(doc: Doc, base: Path_) -> Any:
    return lambda path: doc.at((*base, *path))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


def _where(loc: Path_, what: str) -> str:
    if len(loc) >= 2 and loc[0] == "stages" and isinstance(loc[1], int):
        if len(loc) >= 4 and loc[2] == "steps" and isinstance(loc[3], int):
            return f"step {loc[3] + 1} of stage {loc[1] + 1}"
        return f"stage {loc[1] + 1}"
    if len(loc) >= 2 and loc[0] == "environments":
        if len(loc) >= 3 and loc[2] == "aws":
            return f"the aws settings of environment {loc[1]!r}"
        return f"environment {loc[1]!r}"
    return what


def _allowed_keys(model: type[BaseModel], loc: Path_) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is PlanDoc and part == "environments":
            current = EnvironmentDoc
            continue
        if current is EnvironmentDoc and part == "aws":
            current = AwsDoc
            continue
        if current is PlanDoc and part == "stages":
            current = StageDoc
            continue
        if current is StageDoc and part == "steps":
            current = StepDoc
            continue
        if current in (PlanDoc, EnvironmentDoc, StepDoc, StageDoc, AwsDoc, LibraryStepDoc):
            continue
    return [f.alias or n for n, f in current.model_fields.items()]


def _is_model_noise(err: Any, loc: Path_) -> bool:
    # pydantic tries every member of a union; the mapping/list alternatives of `rollback`
    # and `confirm` repeat what the loader says better itself.
    return any(str(p) in ("rollback", "confirm", "soak") for p in loc[-3:]) and len(loc) > 0
