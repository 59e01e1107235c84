"""SIGTERM and SIGHUP stop a run the way Ctrl-C does.

asyncio's runner turns SIGINT into a cancellation of the main task, which cancels running tools
(the shell tool kills its process group) and records every call's output before the command
exits with status 130. A terminal closing (SIGHUP) or a ``kill`` (SIGTERM) would otherwise end
the process at once and leave tool processes running, so both are re-raised as SIGINT.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["terminate_as_interrupt"]

_FORWARDED = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None
)


def _as_interrupt(signum: int, frame: FrameType | None) -> None:
    signal.raise_signal(signal.SIGINT)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM and SIGHUP act as Ctrl-C."""
    if sys.platform == "win32":  # pragma: no cover - no SIGHUP; SIGTERM cannot be caught
        yield
        return
    previous = {s: signal.signal(s, _as_interrupt) for s in _FORWARDED}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
