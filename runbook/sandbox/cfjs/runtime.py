"""A function's code in V8 (``mini-racer``), with the runtime's modules (``runtime.js``).

One :class:`Engine` per code: the code is compiled once and each run calls its
``handler`` with an event. ``import cf from 'cloudfront'`` (and ``crypto``,
``querystring``) become the module objects of ``runtime.js``. V8 runs an async handler's
awaits as microtasks after the script that started them; the run drains them inside the
same timed call (``%PerformMicrotaskCheckpoint``), so a function that loops, awaited or
not, is terminated at the compute limit and its engine thrown away, never left spinning
in the edge's thread.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

# The twin's compute limit: CloudFront's is a share of an unpublished budget (the
# ComputeUtilization a test reports); a function that runs this long has looped.
LIMIT_SECONDS = 1.0
RUNTIME_2 = "cloudfront-js-2.0"
# The nominal budget ComputeUtilization is a percentage of (CloudFront: about 1 ms).
BUDGET_SECONDS = 0.001

_IMPORT = re.compile(r"""^\s*import\s+(\w+)\s+from\s+['"]([\w-]+)['"];?[ \t]*$""", re.M)
_init_lock = threading.Lock()
_initialised = False


class FunctionError(Exception):
    """A run that CloudFront answers with 503: ``kind`` is its marker
    (FunctionExecutionError, FunctionValidationError, FunctionThrottledError)."""

    def __init__(self, kind: str, message: str, logs: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.logs = logs or []


@dataclass
class Ran:
    """One run of a handler: its result (a request or response object), the origin an
    origin modification helper chose, the log lines, and how long it took."""

    result: Any
    origin: dict[str, Any] | None
    logs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def utilization(self) -> int:
        return max(1, min(100, round(100 * self.seconds / BUDGET_SECONDS)))


def _racer() -> Any:
    global _initialised
    import py_mini_racer

    with _init_lock:
        if not _initialised:
            # someone made a MiniRacer first: then a run fails loudly (a SyntaxError)
            with contextlib.suppress(py_mini_racer.LibAlreadyInitializedError):
                py_mini_racer.init_mini_racer(
                    flags=(*py_mini_racer.DEFAULT_V8_FLAGS, "--allow-natives-syntax"))
            _initialised = True
    return py_mini_racer.MiniRacer()


def _prelude() -> str:
    return resources.files("runbook.sandbox.cfjs").joinpath("runtime.js").read_text("utf-8")


def translate(code: str) -> str:
    """The function's code with its ``import X from 'module'`` lines as plain variables
    (V8 runs it as a script, not a module)."""
    return _IMPORT.sub(lambda m: f"var {m.group(1)} = require({json.dumps(m.group(2))});",
                       code)


class Engine:
    """One V8 context running one function's code; not shared between threads."""

    def __init__(self, code: str, runtime: str = RUNTIME_2, store: str | None = None) -> None:
        """``runtime``: cloudfront-js-1.0 (byte strings) or -2.0 (Buffer); ``store``: the
        id of the associated KeyValueStore (None: none, and ``cf.kvs()`` throws)."""
        from py_mini_racer import JSEvalException

        self.js = _racer()
        self.versions: dict[str, int] = {}
        self.lock = threading.Lock()
        self.default = store
        # the error the code's top level threw (a run fails with it, as CloudFront's do)
        self.broken: str | None = None
        try:
            self.js.eval(_prelude())
            self.js.eval(f"__install({json.dumps(runtime.rsplit('-', 1)[-1])}, "
                         f"{json.dumps(store)});")
            self.js.eval(translate(code), timeout_sec=LIMIT_SECONDS)
        except JSEvalException as exc:
            if "SyntaxError" in str(exc):
                raise FunctionError("FunctionExecutionError", _first_line(exc)) from exc
            self.broken = re.sub(r"^<anonymous>:\d+: ", "", _first_line(exc))

    @staticmethod
    def compile(code: str, runtime: str = RUNTIME_2,
                store: str | None = None) -> tuple[Engine | None, str | None]:
        """(the engine, None), or (None, why CloudFront would refuse this code at
        create/update: it does not compile, or defines no handler)."""
        try:
            engine = Engine(code, runtime, store)
        except FunctionError as exc:
            return None, str(exc)
        if engine.js.eval("typeof handler") != "function":
            return None, "the code defines no function handler(event)"
        return engine, None

    def load(self, stores: dict[str, Any], default: str | None) -> None:
        """The keys of the stores the function may read, copied in when they changed."""
        for sid, store in stores.items():
            if self.versions.get(sid) != store.version:
                data = {"keys": store.keys, "created": store.created, "updated": store.updated}
                self.js.eval(f"__stores[{json.dumps(sid)}] = {json.dumps(data)};")
                self.versions[sid] = store.version
        if default != self.default:
            self.js.eval(f"__default = {json.dumps(default)};")
            self.default = default

    def run(self, event: dict[str, Any], stores: dict[str, Any] | None = None,
            default: str | None = None) -> Ran:
        """The handler's result for ``event``; FunctionError for a thrown error or a run
        past the compute limit (after which this engine is closed)."""
        from py_mini_racer import JSEvalException, JSTimeoutException

        if self.broken is not None:
            raise FunctionError("FunctionExecutionError", self.broken)
        with self.lock:
            self.load(stores or {}, default)
            arg = json.dumps(json.dumps(event))
            started = time.perf_counter()
            self.js.eval(f"__idle({arg})")
            idle = time.perf_counter() - started
            started = time.perf_counter()
            try:
                text = self.js.eval(f"__run({arg})", timeout_sec=LIMIT_SECONDS)
            except JSTimeoutException as exc:
                # V8 terminated the run and the context is usable again; closing it now
                # would race mini-racer's own callback for the cancelled call
                raise FunctionError("FunctionThrottledError", "The function exceeded the "
                                    "maximum allowed compute time") from exc
            except JSEvalException as exc:
                raise FunctionError("FunctionExecutionError", _first_line(exc)) from exc
            seconds = max(0.0, time.perf_counter() - started - idle)
        out: dict[str, Any] = json.loads(str(text))
        logs = [str(line) for line in out.get("logs") or []]
        if "error" in out:
            raise FunctionError("FunctionExecutionError", str(out["error"]), logs)
        if not out.get("done"):
            raise FunctionError("FunctionExecutionError", "The function returned a promise "
                                "that never settled", logs)
        return Ran(out.get("result"), out.get("origin"), logs, seconds)


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
