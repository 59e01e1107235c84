"""The cluster backend: workers as Ray actors (``pip install 'responses-fast[ray]'``).

Each worker is an async actor (``max_concurrency`` = the per-worker concurrency, ``num_cpus`` =
``cpus_per_worker``) that runs :func:`~responses_fast.batch.runner.run_task`, so workspaces are
prepared on the node the actor lives on. The shared rate limiter is one more async actor. The
driver stays the only writer of the results store: actors return outcomes, nothing else.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ConfigurationError
from .local import TaskError, WorkerCrashed
from .ratelimit import RateLimiter
from .runner import BatchTarget, RateLimited, run_task, tool_environment

__all__ = ["RayWorker", "ray_workers"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigurationError(
            "backend 'ray' needs Ray: pip install 'responses-fast[ray]'"
        ) from None
    return ray


class _Bucket:
    """The batch's rate limiter, as an actor every worker asks."""

    def __init__(self, rates: dict[str, float] | None, default_rate: float | None) -> None:
        self.limiter = RateLimiter(rates, default_rate=default_rate)

    async def acquire(self, provider: str) -> None:
        await self.limiter.acquire(provider)

    async def throttle(self, provider: str, retry_after: float | None) -> None:
        await self.limiter.throttle(provider, retry_after)

    def totals(self) -> tuple[int, int]:
        return self.limiter.totals()


class _ActorGate:
    def __init__(self, bucket: Any) -> None:
        self._bucket = bucket

    async def acquire(self, provider: str) -> None:
        await self._bucket.acquire.remote(provider)

    async def throttle(self, provider: str, retry_after: float | None) -> None:
        await self._bucket.throttle.remote(provider, retry_after)


class _Worker:
    """One worker actor: many tasks at once on the actor's event loop."""

    def __init__(self, target: dict[str, Any], bucket: Any) -> None:
        tool_environment()
        self._target = BatchTarget(**target)
        self._gate = _ActorGate(bucket)

    def info(self) -> tuple[int, str]:
        return os.getpid(), socket.gethostname()

    async def run(self, task: dict[str, Any]) -> dict[str, Any]:
        try:
            outcome = await run_task(task, self._target, self._gate)
        except RateLimited as exc:
            return {"op": "error", "kind": "rate_limited", "error": str(exc)}
        except Exception as exc:
            return {"op": "error", "kind": "error", "error": f"{type(exc).__name__}: {exc}"}
        return {"op": "result", "outcome": outcome}


class RayWorker:
    """The driver's handle on one worker actor (restarted after it dies)."""

    def __init__(
        self, index: int, target: BatchTarget, bucket: Any, cpus: float, concurrency: int
    ) -> None:
        self.index = index
        self._target = target
        self._bucket = bucket
        self._cpus = cpus
        self._concurrency = concurrency
        self._actor: Any = None
        self.pid: int | None = None
        self.node = ""
        self.starts = 0

    @property
    def name(self) -> str:
        return f"ray-{self.index}:{self.node}:{self.pid}"

    async def start(self) -> None:
        if self._actor is not None:
            return
        ray = _ray()
        cls = ray.remote(_Worker).options(
            num_cpus=self._cpus, max_concurrency=self._concurrency + 4
        )
        self._actor = cls.remote(self._target.to_dict(), self._bucket)
        self.starts += 1
        self.pid, self.node = await self._actor.info.remote()

    async def run(self, attempt_id: int, task: dict[str, Any]) -> dict[str, Any]:
        ray = _ray()
        await self.start()
        actor = self._actor
        try:
            message: dict[str, Any] = await actor.run.remote(task)
        except ray.exceptions.RayActorError as exc:
            if self._actor is actor:
                self._actor = None  # the next task starts a new actor
            raise WorkerCrashed(f"worker {self.name} died: {exc}") from None
        if message["op"] == "result":
            outcome: dict[str, Any] = message["outcome"]
            return outcome
        if message["kind"] == "rate_limited":
            raise RateLimited(message["error"])
        raise TaskError(message["error"])

    async def aclose(self) -> None:
        actor, self._actor = self._actor, None
        if actor is not None:
            _ray().kill(actor)


async def ray_workers(
    n: int,
    target: BatchTarget,
    *,
    rates: dict[str, float] | None,
    default_rate: float | None,
    address: str | None,
    cpus_per_worker: float,
    concurrency: int,
) -> tuple[list[RayWorker], Callable[[], Awaitable[tuple[int, int]]]]:
    """Connect to the cluster (or start a local one); ``n`` worker handles and a function that
    reads the shared bucket's (throttles, delayed grants)."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    bucket = ray.remote(_Bucket).options(max_concurrency=1000).remote(rates, default_rate)

    async def totals() -> tuple[int, int]:
        throttles, delayed = await bucket.totals.remote()
        return int(throttles), int(delayed)

    workers = [RayWorker(i, target, bucket, cpus_per_worker, concurrency) for i in range(n)]
    return workers, totals
