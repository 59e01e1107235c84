"""Running an async program on the fastest event loop installed (opt-in, never forced).

``uvloop`` (the ``fast`` extra) makes every read callback and wake-up cheaper (measured in
benchmarks/bench_event_cpu.py). Nothing in responses_fast sets the loop policy behind a user's
back: a program opts in with :func:`run_main` (or passes :func:`loop_options` to ``anyio.run``);
the ``responses-fast`` command does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, TypeVarTuple

import anyio

__all__ = ["loop_options", "run_main", "uvloop_installed"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def uvloop_installed() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def loop_options(uvloop: bool | None = None) -> dict[str, Any]:
    """``backend_options`` for ``anyio.run(..., backend="asyncio")``.

    ``uvloop``: None uses it when installed, True requires it (ImportError if missing), False
    keeps the standard loop.
    """
    if uvloop is None:
        uvloop = uvloop_installed()
    elif uvloop:
        import uvloop as _  # noqa: F401 - a clear ImportError now rather than inside anyio
    return {"use_uvloop": True} if uvloop else {}


def run_main(main: Callable[[*Ts], Awaitable[T]], *args: *Ts, uvloop: bool | None = None) -> T:
    """``anyio.run(main, *args)`` on asyncio, with uvloop when installed (:func:`loop_options`)."""
    return anyio.run(main, *args, backend="asyncio", backend_options=loop_options(uvloop))
