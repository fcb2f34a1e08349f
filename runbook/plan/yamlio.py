"""Reading YAML with positions.

A plan file becomes plain Python data (dict, list, str, int, float, bool, None) plus a
table from each node's path (``("stages", 0, "steps", 1, "action")``) to its Source, so
that every later error can name the file, line and column. Everything that can go wrong
while reading (missing file, folder, binary, too large, YAML syntax, tabs, duplicate keys)
becomes a PlanError here; nothing from ruamel.yaml escapes.

ruamel.yaml composes the node tree (YAML 1.2, positions on every node); this module
builds the data from it. Scalars are typed by ruamel's own resolver and constructors,
so plans read the same with the C parser (``ruamel.yaml.clib``) or without it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.errors import PlanError, Problem
from runbook.source import Source

MAX_BYTES = 2 * 1024 * 1024  # a hand-written plan is a few KiB; 2 MiB is a mistake
MAX_DEPTH = 64
_SAFE_DEPTH = 10_000  # the C composer recurses this deep without harm (20 000 seen fine,
# in a thread too; some 30 000 crash it): below this bound no exact scan is needed
MAX_NODES = 200_000  # aliases can make a small file expand to billions of nodes

Path_ = tuple[Any, ...]

FLOW_HINT = (
    'in YAML flow style ({...} or [...]) quote values that use ${...}, '
    'like {bucket: "${bucket}"}'
)
TAB_HINT = "YAML indents with spaces only; replace the tab with spaces"


@dataclass
class Doc:
    """One YAML document with the position of every node."""

    file: str
    data: Any
    positions: dict[Path_, Source] = field(default_factory=dict)
    key_positions: dict[Path_, Source] = field(default_factory=dict)

    def at(self, path: Path_) -> Source:
        """The position of the node at ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            found = self.positions.get(p)
            if found is not None:
                return found
            p = p[:-1]
        return self.positions.get((), Source(self.file, 1, 1))

    def key_at(self, path: Path_) -> Source:
        """The position of the key that names the node at ``path`` (for unknown keys)."""
        return self.key_positions.get(tuple(path)) or self.at(path)


def display_name(path: Path, base: Path | None = None) -> str:
    """A path as a person would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path, *, what: str = "plan") -> tuple[str, str]:
    """(display name, text) of a plan file, or a PlanError saying why it cannot be read."""
    name = display_name(path)
    src = Source(name)
    if not path.exists():
        raise PlanError.single(f"the {what} file {name} does not exist", None)
    if path.is_dir():
        raise PlanError.single(
            f"{name} is a folder, not a {what} file", None,
            "give the path of a .yaml file inside it")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise PlanError.single(
                f"the {what} file {name} is {size / 1048576:.1f} MiB; a {what} is at most "
                f"{MAX_BYTES // 1048576} MiB", src, "is this the right file?")
        # stat says 0 for pipes and devices (/dev/zero never ends): read one byte past the cap
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise PlanError.single(
                f"the {what} file {name} holds more than {MAX_BYTES // 1048576} MiB; a {what} "
                f"is at most {MAX_BYTES // 1048576} MiB", src, "is this the right file?")
    except PermissionError as exc:
        raise PlanError.single(f"cannot read {name}: permission denied", None) from exc
    except OSError as exc:
        raise PlanError.single(f"cannot read {name}: {exc.strerror}", None) from exc
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        line = raw[:at].count(b"\n") + 1
        column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
        raise PlanError.single(f"{name} is a binary file (it holds a NUL byte), not a YAML "
                               f"{what}", Source(name, line, column), "is this the right file?")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PlanError.single(
            f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            Source(name, line, column), "save the file as UTF-8") from exc
    return name, text


def load_file(path: Path, *, what: str = "plan") -> Doc:
    name, text = read_text(path, what=what)
    return parse(text, name, what=what)


def parse(text: str, file: str, *, what: str = "plan") -> Doc:
    """Parse one YAML document from ``text``; the file name is used in positions."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise PlanError.single(f"the {what} file is empty", Source(file, 1, 1),
                               f"a {what} starts with `runbook: 1`")
    yaml = _yaml()
    _check_depth(text, file)
    try:
        node = yaml.compose(text)
    except Exception as exc:  # ruamel raises many unrelated types; all mean "not YAML we read"
        raise _yaml_error(exc, text, file) from exc
    doc = Doc(file, None)
    walker = _Walker(doc, yaml.constructor)
    try:
        doc.data = walker.convert(node, (), 0)
    except RecursionError as exc:
        raise PlanError.single("the YAML is nested too deeply", Source(file, 1, 1)) from exc
    if walker.problems:
        raise PlanError(walker.problems)
    doc.positions.setdefault((), Source(file, 1, 1))
    return doc


def _check_depth(text: str, file: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH before the composer sees it.

    The C composer recurses once per level with no guard: some 30 000 nested `[` overflow
    the C stack and kill the process (a segfault, no message). A cheap bound first: flow
    nesting is at most the number of `[` and `{`, and block nesting at most twice the
    longest line (each level indents, or takes a `- ` or `? ` on the same line). Only a
    file whose bound is high is scanned exactly, with the parser's events, which do not
    recurse.
    """
    bound = text.count("[") + text.count("{") + 2 * (max(map(len, text.splitlines()),
                                                         default=0) + 1)
    if bound <= _SAFE_DEPTH:
        return
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    depth = 0
    try:
        for event in _yaml().parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise PlanError.single(
                        f"the YAML is nested too deeply: more than {MAX_DEPTH} levels here "
                        "(a plan needs a few)", Source(file, mark.line + 1, mark.column + 1),
                        "is this the right file?")
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except PlanError:
        raise
    except Exception:  # not YAML at all: compose says where, as for any other file
        return


def _yaml() -> Any:
    """ruamel.yaml's safe loader: its C parser when ruamel.yaml.clib is installed (some
    eight times faster), else the pure-Python one. Only the composer is used: the node
    tree carries every position, and _Walker builds the data."""
    from ruamel.yaml import YAML

    return YAML(typ="safe")


def _yaml_error(exc: Exception, text: str, file: str) -> PlanError:
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    if isinstance(exc, ReaderError) and isinstance(exc.position, int):
        return _reader_error(exc, text, file)
    if not isinstance(exc, MarkedYAMLError):
        return PlanError.single(f"cannot read the YAML: {_first_line(str(exc))}", Source(file))
    mark = exc.problem_mark or exc.context_mark
    line = (mark.line + 1) if mark is not None else 0
    col = (mark.column + 1) if mark is not None else 0
    problem = (exc.problem or exc.context or "YAML syntax error").strip()
    hint: str | None = None
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in problem or "'\\t'" in problem or (here and "\t" in here[: max(col, 1)]):
        message = "a tab character where YAML expects spaces"
        hint = TAB_HINT
    elif "another document" in problem:
        message = "the file holds more than one YAML document (a second `---`)"
        hint = "a plan is a single document"
    else:
        message = f"YAML syntax error: {problem}"
        ctx, ctx_mark = (exc.context or "").strip(), exc.context_mark
        if ctx and ctx_mark is not None and exc.problem_mark is not None \
                and ctx_mark.line != exc.problem_mark.line:
            message += f" ({ctx} that starts at line {ctx_mark.line + 1}, column " \
                       f"{ctx_mark.column + 1})"
        context = [lines[i] for i in range(max(0, line - 3), min(len(lines), line))]
        if any("${" in c for c in context) and any(ch in "".join(context) for ch in "{["):
            hint = FLOW_HINT
    return PlanError([Problem(message, Source(file, line, col), "error", hint)])


def _reader_error(exc: Any, text: str, file: str) -> PlanError:
    """A character YAML does not allow (a control character, U+FFFE), at its line."""
    at = min(exc.position, len(text))
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or
                                                                     "\0")
    shown = f"U+{code:04X}"
    if code < 0x20 or code == 0x7F:  # how editors and terminals show it: ^Z, ^G, ^?
        shown += f", shown as ^{chr(code ^ 0x40)}"
    return PlanError.single(f"the file holds a character YAML does not allow ({shown}): "
                            f"{exc.reason}", Source(file, line, column),
                            "delete it; it is invisible in most editors")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str")}


class _Walker:
    """ruamel's node tree -> plain data, recording the position of every node.

    Aliases give the same node twice: the node budget stops "billion laughs" files and
    the depth limit stops an alias inside itself. Duplicate keys are collected, all of
    them, with where each key was first written.
    """

    def __init__(self, doc: Doc, constructor: Any) -> None:
        self.doc = doc
        self.constructor = constructor
        self.nodes = 0
        self.problems: list[Problem] = []

    def src(self, mark: Any) -> Source:
        return Source(self.doc.file, mark.line + 1, mark.column + 1)

    def convert(self, node: Any, path: Path_, depth: int) -> Any:
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        self.nodes += 1
        if depth > MAX_DEPTH:
            raise PlanError.single("the YAML is nested too deeply (or an alias refers to "
                                   "itself)", self.src(node.start_mark))
        if self.nodes > MAX_NODES:
            raise PlanError.single(f"the YAML expands to more than {MAX_NODES} values (through "
                                   "aliases?); a plan is much smaller", self.src(node.start_mark))
        self.doc.positions.setdefault(path, self.src(node.start_mark))
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, i), depth + 1)
                    for i, item in enumerate(node.value)]
        return self.scalar(node)

    def mapping(self, node: Any, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, Source] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.append(value_node)
                continue
            key = _scalar_key(self.scalar(key_node))
            where = self.src(key_node.start_mark)
            if key in first:
                self.problems.append(Problem(
                    f"the key {key!r} appears twice in one mapping (first at line "
                    f"{first[key].line})", where, "error", "keep one of them"))
                continue
            first[key] = where
            sub = (*path, key)
            self.doc.key_positions[sub] = where
            if _empty(value_node):  # `key:` and nothing: ruamel marks the next line
                self.doc.positions.setdefault(sub, where)
            out[key] = self.convert(value_node, sub, depth + 1)
        for value_node in merged:  # `<<: *base`: keys written here win over merged ones
            from ruamel.yaml.nodes import MappingNode, SequenceNode

            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for src in sources:
                if not isinstance(src, MappingNode):
                    self.problems.append(Problem("`<<` merges a mapping or a list of mappings",
                                                 self.src(src.start_mark)))
                    continue
                for k, v in self.mapping(src, path, depth + 1).items():
                    out.setdefault(k, v)
        return out

    def scalar(self, node: Any) -> Any:
        from ruamel.yaml.nodes import ScalarNode

        if not isinstance(node, ScalarNode):  # `? [a, b]: x`: a mapping or list as a key
            self.problems.append(Problem("a key must be a name, not a mapping or a list",
                                         self.src(node.start_mark)))
            return "?"
        if node.tag == _STR or node.tag not in _PLAIN_TAGS:
            return str(node.value)  # text; dates, !!binary, !custom tags: as written
        try:
            return _scalar(self.constructor.construct_object(node, deep=True))
        except Exception as exc:  # ruamel's constructors raise ValueError, TypeError, ...
            self.problems.append(Problem(f"cannot read the value {_short(node.value)}: "
                                         f"{_first_line(str(exc))}",
                                         self.src(node.start_mark)))
            return None


def _empty(node: Any) -> bool:
    from ruamel.yaml.nodes import ScalarNode

    return isinstance(node, ScalarNode) and node.value == "" and not node.style


def _short(text: Any) -> str:
    t = repr(str(text))
    return t if len(t) <= 40 else t[:37] + "..."


def _scalar(node: Any) -> Any:
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, _dt.datetime | _dt.date):
        return node.isoformat()
    value = getattr(node, "value", None)  # TaggedScalar and friends: keep the text
    if isinstance(value, str):
        return value
    if isinstance(node, dict):
        return {str(k): _scalar(v) for k, v in node.items()}
    if isinstance(node, list | tuple | set):
        return [_scalar(v) for v in node]
    return str(node)


def _scalar_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(_scalar(key))
