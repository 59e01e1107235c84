"""The one-machine backend: worker processes (``python -m responses_fast.batch.worker``).

Each worker runs many tasks on one event loop; the driver talks to it over its stdin/stdout
(JSON lines, see worker.py) and answers its rate-limit questions from the shared buckets. A
worker that dies (killed, out of memory) fails the attempts it held with :class:`WorkerCrashed`
and is started again on the next task.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from anyio.abc import Process, TaskGroup
from anyio.streams.buffered import BufferedByteReceiveStream

from .ratelimit import RateLimiter
from .runner import BatchTarget, RateLimited

__all__ = ["LocalWorker", "TaskError", "WorkerCrashed", "worker_environment"]

_MAX_LINE = 256 * 1024 * 1024
_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)


class WorkerCrashed(Exception):
    """The worker process running the attempt died."""


class TaskError(Exception):
    """The attempt raised inside the worker (the text is the error)."""


def worker_environment() -> dict[str, str]:
    """The driver's environment without secrets: the key travels over the pipe instead."""
    return {k: v for k, v in os.environ.items() if not _SECRET_NAME.search(k)}


Waiter = tuple[anyio.Event, list[dict[str, Any]]]


@dataclass(eq=False, slots=True)
class _Child:
    """One started worker process and the attempts it holds (per process: a crash of the old
    one must not touch attempts already handed to its successor)."""

    proc: Process
    pending: dict[int, Waiter] = field(default_factory=dict)
    dead: bool = False


class LocalWorker:
    """One worker process, started lazily and again after a crash."""

    def __init__(
        self, index: int, target: BatchTarget, limiter: RateLimiter, tg: TaskGroup
    ) -> None:
        self.index = index
        self._target = target
        self._limiter = limiter
        self._tg = tg
        self._child: _Child | None = None
        self._lock = anyio.Lock()
        self._write_lock = anyio.Lock()
        self.pid: int | None = None
        self.starts = 0
        self.throttles = 0

    @property
    def name(self) -> str:
        return f"local-{self.index}:{self.pid}"

    async def _ensure(self) -> _Child:
        async with self._lock:
            if self._child is not None and not self._child.dead:
                return self._child
            proc = await anyio.open_process(
                [sys.executable, "-m", "responses_fast.batch.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,
                env=worker_environment(),
            )
            self.starts += 1
            assert proc.stdout is not None
            reader = BufferedByteReceiveStream(proc.stdout)
            child = _Child(proc)
            try:
                await self._send(proc, {"op": "init", "target": self._target.to_dict()})
                ready = orjson.loads(await reader.receive_until(b"\n", _MAX_LINE))
            except BaseException:
                with anyio.CancelScope(shield=True):
                    proc.kill()
                    await proc.wait()
                raise
            self.pid = int(ready["pid"])
            self._child = child
            self._tg.start_soon(self._read, child, reader)
            return child

    async def _send(self, proc: Process, message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        async with self._write_lock:
            await proc.stdin.send(orjson.dumps(message) + b"\n")

    async def _read(self, child: _Child, reader: BufferedByteReceiveStream) -> None:
        try:
            while True:
                line = await reader.receive_until(b"\n", _MAX_LINE)
                message = orjson.loads(line)
                op = message.get("op")
                if op == "acquire":
                    self._tg.start_soon(self._grant, child.proc, message)
                elif op == "throttle":
                    self.throttles += 1
                    await self._limiter.throttle(message["provider"], message.get("retry_after"))
                elif op in ("result", "error"):
                    waiter = child.pending.pop(int(message["id"]), None)
                    if waiter is not None:
                        waiter[1].append(message)
                        waiter[0].set()
        except (
            anyio.EndOfStream,
            anyio.IncompleteRead,
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
        ):
            pass
        # The process is gone: every attempt it held has crashed.
        child.dead = True  # before any await: run() must not hand it another task
        with anyio.CancelScope(shield=True):
            await child.proc.wait()
        for event, box in child.pending.values():
            box.append({"op": "crashed", "returncode": child.proc.returncode})
            event.set()
        child.pending.clear()

    async def _grant(self, proc: Process, message: dict[str, Any]) -> None:
        await self._limiter.acquire(message["provider"])
        try:
            await self._send(proc, {"op": "grant", "req": message["req"]})
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass  # the worker died meanwhile

    async def start(self) -> None:
        await self._ensure()

    async def run(self, attempt_id: int, task: dict[str, Any]) -> dict[str, Any]:
        """Run a task on this worker; its outcome, or TaskError/RateLimited/WorkerCrashed."""
        child = await self._ensure()
        if child.dead:  # it died while we were getting it
            raise WorkerCrashed(f"worker {self.name} died before the task was sent")
        event = anyio.Event()
        box: list[dict[str, Any]] = []
        child.pending[attempt_id] = (event, box)
        try:
            await self._send(child.proc, {"op": "run", "id": attempt_id, "task": task})
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            child.pending.pop(attempt_id, None)
            raise WorkerCrashed(f"worker {self.name} is gone: {exc}") from None
        await event.wait()
        message = box[0]
        op = message["op"]
        if op == "result":
            outcome: dict[str, Any] = message["outcome"]
            return outcome
        if op == "crashed":
            raise WorkerCrashed(f"worker {self.name} died (exit code {message['returncode']})")
        if message.get("kind") == "rate_limited":
            raise RateLimited(message["error"])
        raise TaskError(message["error"])

    async def aclose(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        proc = child.proc
        with anyio.CancelScope(shield=True):
            if proc.stdin is not None:
                try:
                    await proc.stdin.aclose()  # EOF: the worker cancels what it runs and exits
                except (anyio.BrokenResourceError, OSError):
                    pass
            with anyio.move_on_after(10):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
