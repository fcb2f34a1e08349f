"""A Ctrl-C (or a SIGTERM) waits until what is being drawn is drawn.

Python raises KeyboardInterrupt between any two bytecodes of the main thread. Landing
inside rich's rendering (a spinner starting or stopping while its refresh thread draws),
it leaves the console's stacks half pushed, and the next print fails with an error that
is not the interrupt: the run's interrupt menu and final line are lost. ``whole`` defers
the interrupt to the end of one drawing call, then delivers it as it would have been.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
# Ctrl-C, and SIGTERM and SIGHUP, which the CLI turns into an interrupt that asks nothing
DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def whole(fn: F) -> F:
    """``fn`` runs to its end; a SIGINT, SIGTERM or SIGHUP that came meanwhile is
    delivered after it (a SIGTERM or SIGHUP rather than a SIGINT when both came)."""

    @functools.wraps(fn)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        came: list[signal.Signals] = []
        before = {sig: signal.getsignal(sig) for sig in DEFERRED}
        held = [sig for sig, handler in before.items() if callable(handler)]
        if not held:  # ignored, or the default action: nothing to defer
            return fn(*args, **kwargs)
        for sig in held:
            signal.signal(sig, lambda signum, _frame: came.append(signal.Signals(signum)))
        try:
            return fn(*args, **kwargs)
        finally:
            for sig in held:
                signal.signal(sig, before[sig])
            if came:  # a stop first when both came: it must not be taken for a Ctrl-C
                sig = next((s for s in came if s != signal.SIGINT), came[0])
                handler = before[sig]
                assert callable(handler)
                handler(sig, None)

    return drawn  # type: ignore[return-value]
