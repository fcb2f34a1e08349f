"""Library steps: finding them, reading them, and filling in their parameters.

``use: NAME`` reads ``steps/NAME.yaml`` from the nearest ``steps/`` folder at or above
the plan's folder, then from the library shipped inside the package (``runbook/_library``
in a wheel; the checkout's ``steps/`` when installed editable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.errors import PlanError, ProblemList
from runbook.plan.model import LibraryStepDoc
from runbook.plan.structure import SLUG, check_structure, check_version, child
from runbook.plan.template import TOKEN, Resolver, classify, is_deferred, references
from runbook.plan.yamlio import Doc, display_name, load_file
from runbook.source import Source
from runbook.suggest import did_you_mean

SUFFIXES = (".yaml", ".yml")
BODY_KEYS = ("title", "notes", "pre", "action", "post", "rollback", "verify")


def shipped_library() -> Path | None:
    here = Path(__file__).resolve().parent.parent  # the runbook package
    for candidate in (here / "_library", here.parent / "steps"):
        if candidate.is_dir():
            return candidate
    return None


def search_path(plan_dir: Path) -> list[Path]:
    """The folders ``use:`` looks in, nearest first."""
    folders: list[Path] = []
    d = plan_dir.resolve()
    while True:
        if (d / "steps").is_dir():
            folders.append(d / "steps")
        if d.parent == d:
            break
        d = d.parent
    shipped = shipped_library()
    if shipped is not None and shipped.resolve() not in [f.resolve() for f in folders]:
        folders.append(shipped)
    return folders


def find(name: str, plan_dir: Path) -> Path | None:
    return find_in(name, search_path(plan_dir))


def find_in(name: str, folders: list[Path]) -> Path | None:
    if not SLUG.match(name):  # never a path: `use: ../../etc/passwd` finds nothing
        return None
    for folder in folders:
        for suffix in SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def available(plan_dir: Path) -> list[str]:
    names: set[str] = set()
    for folder in search_path(plan_dir):
        names.update(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES)
    return sorted(names)


@dataclass(frozen=True)
class Use:
    """A library step with its parameters filled in, ready to be read as a plan step."""

    name: str
    doc: Doc  # the library file: positions of problems inside the body point here
    body: dict[str, Any]  # title, notes, pre, action, post, rollback; parameters resolved
    given: dict[str, Source] = field(default_factory=dict)  # `with` key -> its plan position
    blamed: set[str] = field(default_factory=set)
    # `with` key -> the value as the plan wrote it (before its variables were substituted)
    written: dict[str, Any] = field(default_factory=dict)
    # `with` key -> the plan variables that carried its value, with where each is set
    carried: dict[str, list[tuple[str, Source]]] = field(default_factory=dict)

    def where(self, message: str, path: tuple[Any, ...]) -> tuple[str, Source] | None:
        """Where a problem at ``path`` of the body belongs, and its message; None when it
        repeats one already reported.

        A value that came from the plan's `with:` is the plan author's mistake: it is
        reported at that `with` value, once (the first place it breaks, named), however
        often the library uses it. Anything else is the library's own, reported in its file.
        """
        here = self.doc.at(path)
        param = self._param(message, path)
        if param is None:
            return message, here
        if param in self.blamed:
            return None
        self.blamed.add(param)
        via = "".join(f"; its value comes from variable ${{{var}}}, set at {src}"
                      for var, src in self.carried.get(param, []))
        return (f"{message.rstrip('.')} (`with: {{{param}: ...}}` reaches library step "
                f"{self.name!r} at {here}{via})", self.given[param])

    def _param(self, message: str, path: tuple[Any, ...]) -> str | None:
        """The `with` parameter the raw library text at ``path`` refers to, if any: the
        deepest node of the library file along ``path`` must be text that names it."""
        node: Any = self.doc.data
        for part in path:
            found, below = child(node, part)
            if not found:
                break
            node = below
        if not isinstance(node, str):
            return None
        names = [ref.text for ref, _ in references(node)
                 if ref.kind == "var" and ref.text in self.given]
        if "${" in message:  # a message about one reference: only that one is to blame
            names = [n for n in names if f"${{{n}}}" in message or self._brought(n, message)]
        return names[0] if names else None

    def _brought(self, param: str, message: str) -> bool:
        """Did the plan's `with` value of ``param`` bring the reference ``message`` is
        about (a ``${steps.self.NAME}`` passed through `with:`)?"""
        written = self.written.get(param)
        return any(f"${{{ref.text}}}" in message for ref, _ in references(written)) \
            if written is not None else False


def _at(data: Any, path: tuple[Any, ...]) -> tuple[bool, Any]:
    for part in path:
        found, data = child(data, part)
        if not found:
            return False, None
    return True, data


class Library:
    """Reads each library file once per plan and reports its problems once."""

    def __init__(self, plan_dir: Path, problems: ProblemList) -> None:
        self.plan_dir = plan_dir
        self.problems = problems
        self._docs: dict[Path, Doc | None] = {}
        self._pinned: dict[str, Path] = {}
        self._search: list[Path] | None = None

    def _folders(self) -> list[Path]:
        if self._search is None:  # resolving every parent folder once per plan is enough
            self._search = search_path(self.plan_dir)
        return self._search

    def find(self, name: str) -> Path | None:
        return find_in(name, self._folders())

    def pin(self, name: str, file: Path) -> None:
        """Make ``use: name`` read ``file`` (to check a library file on its own)."""
        self._pinned[name] = file

    def read(self, file: Path) -> Doc | None:
        """The library file, checked alone; None when it cannot be used at all."""
        if file in self._docs:
            return self._docs[file]
        doc: Doc | None
        try:
            doc = load_file(file, what="library step")
        except PlanError as exc:
            self.problems.items.extend(exc.problems)
            doc = None
        if doc is not None:
            if not isinstance(doc.data, dict):
                self.problems.error("a library step is a YAML mapping that starts with "
                                    "`runbook: 1` and `step: NAME`", doc.at(()))
                doc = None
            elif not check_version(doc.data, doc, "library step", self.problems):
                doc = None
            else:
                check_structure(LibraryStepDoc, doc.data, doc, (), "the library step",
                                self.problems)
                name = doc.data.get("step")
                if isinstance(name, str) and name != file.stem:
                    self.problems.error(
                        f"the library step in {doc.file} calls itself {name!r}; plans find it "
                        f"by its file name, so write `step: {file.stem}`", doc.at(("step",)))
        self._docs[file] = doc
        return doc

    def use(self, raw: dict[str, Any], plan_doc: Doc, path: tuple[Any, ...],
            environment: str,
            var_source: Callable[[str], Source | None] | None = None) -> Use | None:
        """Expand the plan step ``raw`` (which has ``use:``); None after reporting why not."""
        name = raw.get("use")
        if not isinstance(name, str) or not name:
            self.problems.error("`use` names a library step, like `use: route53-alias`",
                                plan_doc.at((*path, "use")))
            return None
        if raw.get("action") is not None:
            self.problems.error("a step has either `use` or `action`, not both",
                                plan_doc.key_at((*path, "action")))
            return None
        file = self._pinned.get(name) or self.find(name)
        if file is None:
            folders = ", ".join(display_name(f) for f in self._folders()) or "none"
            self.problems.error(
                f"no library step {name!r}{did_you_mean(name, available(self.plan_dir))}; "
                f"looked for {name}.yaml in: {folders}", plan_doc.at((*path, "use")))
            return None
        doc = self.read(file)
        if doc is None:
            return None
        values = self._values(name, doc, raw.get("with"), plan_doc, path)
        if values is None:
            return None
        given = raw["with"] if isinstance(raw.get("with"), dict) else {}
        use = Use(name, doc, {}, {str(k): plan_doc.at((*path, "with", k)) for k in given})
        for k in given:  # as the plan wrote it: which variables carried each value
            found, written = _at(plan_doc.data, (*path, "with", k))
            if not found:
                continue
            use.written[str(k)] = written
            names = [ref.text for ref, _ in references(written) if ref.kind == "var"]
            if var_source is not None:
                use.carried[str(k)] = [(n, src) for n in dict.fromkeys(names)
                                       if (src := var_source(n)) is not None]

        def on_error(message: str, where: tuple[Any, ...]) -> None:
            found = use.where(message, where)
            if found is not None:
                self.problems.error(*found)

        resolver = Resolver(values, environment, on_error, var_path=lambda n: ("params", n),
                            noun="parameter")
        use.body.update({k: resolver.resolve(doc.data[k], (k,)) for k in BODY_KEYS
                         if k in doc.data})
        return use

    def _values(self, name: str, doc: Doc, given: Any, plan_doc: Doc,
                path: tuple[Any, ...]) -> dict[str, Any] | None:
        params = doc.data.get("params")
        params = params if isinstance(params, dict) else {}
        if given is None:
            given = {}
        if not isinstance(given, dict):
            self.problems.error(f"`with` holds the parameters of library step {name!r} as a "
                                f"mapping, like `with: {{name: value}}`",
                                plan_doc.at((*path, "with")))
            return None
        ok = True
        for key in given:
            if key not in params:
                self.problems.error(
                    f"library step {name!r} ({doc.file}) has no parameter {key!r}"
                    f"{did_you_mean(str(key), params)}; it takes: "
                    f"{', '.join(params) or 'none'}", plan_doc.key_at((*path, "with", key)))
                ok = False
        values: dict[str, Any] = {}
        for pname, spec in params.items():
            spec = spec if isinstance(spec, dict) else {}
            if pname in given:
                values[pname] = _inert(given[pname])
            elif "default" in spec:
                values[pname] = spec["default"]
            else:
                desc = f" ({spec['description']})" if spec.get("description") else ""
                self.problems.error(f"library step {name!r} ({doc.file}) needs the parameter "
                                    f"{pname!r}{desc}; give it under `with:`",
                                    plan_doc.at((*path, "use")))
                ok = False
        return values if ok else None


def _inert(value: Any) -> Any:
    """A `with` value as the library must see it: already resolved against the plan. A
    `${name}` still in it is one the plan could not resolve (reported there); escaped, it
    is not taken for a parameter of the library step. References a run resolves
    (``${steps.ID.NAME}``, ``${env:NAME}``, ``${run_id}``) stay."""
    if isinstance(value, str):
        def keep(m: Any) -> str:
            if m.group(0) == "$${" or (m.group(1) is not None
                                       and is_deferred(classify(m.group(1)))):
                return str(m.group(0))
            return "$" + str(m.group(0))  # unresolved, or a `${` never closed
        return TOKEN.sub(keep, value) if "${" in value else value
    if isinstance(value, dict):
        return {k: _inert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inert(v) for v in value]
    return value
