"""A Ctrl-C waits until what is being drawn is drawn.

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


def whole(fn: F) -> F:
    """``fn`` runs to its end; a SIGINT that came meanwhile is delivered after it."""

    @functools.wraps(fn)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        came: list[int] = []
        before = signal.getsignal(signal.SIGINT)
        if not callable(before):  # ignored, or the default action: nothing to defer
            return fn(*args, **kwargs)
        signal.signal(signal.SIGINT, lambda signum, _frame: came.append(signum))
        try:
            return fn(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, before)
            if came:
                before(signal.SIGINT, None)

    return drawn  # type: ignore[return-value]
