"""A batch worker process: one event loop driving many tasks, talking to the driver over pipes.

Started by the driver as ``python -m responses_fast.batch.worker``. The protocol is JSON lines:
the driver writes to the worker's stdin, the worker answers on the stdout it had at start (the
real stdout is redirected to stderr at once, so a stray print cannot corrupt the stream).

driver -> worker::

    {"op": "init", "target": {...}}           first line: where the models run (the key too)
    {"op": "run", "id": ATTEMPT, "task": {...}}
    {"op": "grant", "req": N}                  the rate limiter's answer to an acquire
    end of file                                the driver is gone: cancel everything, exit

worker -> driver::

    {"op": "ready", "pid": PID}
    {"op": "acquire", "req": N, "provider": P}
    {"op": "throttle", "provider": P, "retry_after": S}
    {"op": "result", "id": ATTEMPT, "outcome": {...}}
    {"op": "error", "id": ATTEMPT, "kind": "error" | "rate_limited", "error": TEXT}
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import anyio
import anyio.to_thread
import orjson

from .runner import BatchTarget, RateLimited, run_task, tool_environment

__all__ = ["main"]


class _PipeGate:
    """The driver's rate limiter, asked over the pipe."""

    def __init__(self, out: _Out) -> None:
        self._out = out
        self._next = 0
        self._waiting: dict[int, anyio.Event] = {}

    async def acquire(self, provider: str) -> None:
        self._next += 1
        req = self._next
        event = anyio.Event()
        self._waiting[req] = event
        self._out.send({"op": "acquire", "req": req, "provider": provider})
        try:
            await event.wait()
        finally:
            self._waiting.pop(req, None)

    async def throttle(self, provider: str, retry_after: float | None) -> None:
        self._out.send({"op": "throttle", "provider": provider, "retry_after": retry_after})

    def grant(self, req: int) -> None:
        event = self._waiting.get(req)
        if event is not None:
            event.set()


class _Out:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def send(self, message: dict[str, Any]) -> None:
        # One write per message from the single event-loop thread: lines never interleave.
        self._stream.write(orjson.dumps(message) + b"\n")
        self._stream.flush()


async def _handle(message: dict[str, Any], target: BatchTarget, gate: _PipeGate, out: _Out) -> None:
    attempt = message["id"]
    try:
        outcome = await run_task(message["task"], target, gate)
    except RateLimited as exc:
        out.send({"op": "error", "id": attempt, "kind": "rate_limited", "error": str(exc)})
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        out.send({"op": "error", "id": attempt, "kind": "error", "error": text})
    else:
        out.send({"op": "result", "id": attempt, "outcome": outcome})


async def _serve(inp: IO[bytes], out: _Out) -> None:
    async def read() -> dict[str, Any] | None:
        line = await anyio.to_thread.run_sync(inp.readline, abandon_on_cancel=True)
        if not line:
            return None
        data: dict[str, Any] = orjson.loads(line)
        return data

    init = await read()
    if init is None or init.get("op") != "init":
        return
    target = BatchTarget(**init["target"])
    gate = _PipeGate(out)
    out.send({"op": "ready", "pid": os.getpid()})
    async with anyio.create_task_group() as tg:
        while True:
            message = await read()
            if message is None:  # the driver is gone (or done): stop every task now
                tg.cancel_scope.cancel()
                break
            op = message.get("op")
            if op == "run":
                tg.start_soon(_handle, message, target, gate, out)
            elif op == "grant":
                gate.grant(int(message["req"]))


def main() -> None:
    """Serve the driver on this process's stdin/stdout until end of file."""
    # Keep the protocol on private (non-inheritable) copies of stdin and stdout: fd 1 now goes
    # to stderr and fd 0 reads /dev/null, so no tool or check process holds the driver's pipes
    # (a child holding stdin open would hide the driver's death; one printing would corrupt).
    proto = os.fdopen(os.dup(1), "wb")
    inp = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    tool_environment()
    try:
        anyio.run(_serve, inp, _Out(proto))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    main()
