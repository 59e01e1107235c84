"""The batch driver: reads the task file, claims tasks, hands them to workers, writes results.

The driver is the only writer of the results store. It runs one event loop; each worker (a
process here, a Ray actor on a cluster) gets ``concurrency`` slots, each slot a loop that takes
the next runnable task, claims it (an attempt row), waits for the worker's outcome and writes it
in one transaction. Failed attempts (an error, a crashed worker) go back to the queue until the
task's attempt limit; a rate-limited attempt goes back without counting.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio

from ..errors import ConfigurationError
from .local import LocalWorker, TaskError, WorkerCrashed
from .ratelimit import RateLimiter
from .runner import BatchTarget, RateLimited
from .store import ResultStore
from .tasks import TaskSpec, load_tasks

__all__ = ["BatchEvent", "BatchSummary", "arun_batch", "run_batch"]

#: A task that keeps hitting rate limits is requeued at most this often, then counted an error.
MAX_REQUEUES = 20


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Progress of a batch, for displays: ``kind`` is started, finished, retry or skipped."""

    kind: Literal["started", "finished", "retry", "gave_up"]
    task_id: str
    attempt_id: int
    worker: str = ""
    pid: int | None = None
    status: str = ""
    tokens: int = 0
    wall_s: float = 0.0
    error: str | None = None


@dataclass(slots=True)
class BatchSummary:
    """What a run did; ``counts`` are the store's task statuses at the end (all runs)."""

    store: str
    backend: str
    total: int
    runnable: int
    finished: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    retries: int = 0
    crashes: int = 0
    rate_limited: int = 0
    tokens: int = 0
    wall_s: float = 0.0
    driver_s: float = 0.0
    throttles: int = 0
    #: Requests that waited at the shared rate limiter (a pause after a 429, or the rate).
    delayed_requests: int = 0
    workers: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def tasks_per_minute(self) -> float:
        return 60.0 * self.finished / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def driver_ms_per_task(self) -> float:
        """Driver time (claims, result writes, message handling) per finished task, in ms."""
        return 1000.0 * self.driver_s / self.finished if self.finished else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tasks_per_minute"] = round(self.tasks_per_minute, 2)
        out["driver_ms_per_task"] = round(self.driver_ms_per_task, 3)
        return out


class Worker(Protocol):
    """A worker process or actor, as the driver's slots use it."""

    @property
    def name(self) -> str: ...
    @property
    def pid(self) -> int | None: ...

    async def start(self) -> None: ...
    async def run(self, attempt_id: int, task: dict[str, Any]) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


EventSink = Callable[[BatchEvent], None]


class _Queue:
    """Runnable task ids; slots wait while others run (a failed attempt may come back)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids: deque[str] = deque(ids)
        self.running = 0
        self._changed = anyio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def next(self) -> str | None:
        while True:
            if self.ids:
                self.running += 1
                return self.ids.popleft()
            if self.running == 0:
                return None
            await self._changed.wait()

    def done(self, requeue: str | None = None) -> None:
        self.running -= 1
        if requeue is not None:
            self.ids.append(requeue)
        self.notify()


async def _slot(
    worker: Worker,
    queue: _Queue,
    specs: dict[str, TaskSpec],
    store: ResultStore,
    run_id: int,
    summary: BatchSummary,
    max_attempts: int,
    requeues: dict[str, int],
    sink: EventSink | None,
) -> None:
    while (task_id := await queue.next()) is not None:
        again: str | None = None
        try:
            t0 = time.perf_counter()
            attempt = store.claim(task_id, run_id, worker.name)
            payload = specs[task_id].model_dump(mode="json")
            summary.driver_s += time.perf_counter() - t0
            if sink:
                sink(BatchEvent("started", task_id, attempt, worker.name, worker.pid))
            try:
                outcome = await worker.run(attempt, payload)
            except RateLimited as exc:
                summary.rate_limited += 1
                requeues[task_id] = requeues.get(task_id, 0) + 1
                kind = "rate_limited" if requeues[task_id] <= MAX_REQUEUES else "error"
                again = _failed(
                    store, attempt, task_id, kind, str(exc), max_attempts, summary, sink
                )
                continue
            except Exception as exc:  # TaskError, WorkerCrashed, or the worker failed to start
                kind = "crashed" if isinstance(exc, WorkerCrashed) else "error"
                summary.crashes += kind == "crashed"
                text = str(exc) if isinstance(exc, TaskError | WorkerCrashed) else repr(exc)
                again = _failed(store, attempt, task_id, kind, text, max_attempts, summary, sink)
                continue
            t1 = time.perf_counter()
            status = store.finish(attempt, outcome)
            summary.driver_s += time.perf_counter() - t1
            summary.finished += 1
            summary.passed += status == "passed"
            summary.failed += status == "failed"
            tokens = int((outcome.get("usage") or {}).get("total_tokens", 0))
            summary.tokens += tokens
            if sink:
                sink(
                    BatchEvent(
                        "finished",
                        task_id,
                        attempt,
                        worker.name,
                        worker.pid,
                        status,
                        tokens,
                        float(outcome.get("wall_s") or 0.0),
                        outcome.get("error"),
                    )
                )
        finally:
            queue.done(again)


def _failed(
    store: ResultStore,
    attempt: int,
    task_id: str,
    kind: str,
    error: str,
    max_attempts: int,
    summary: BatchSummary,
    sink: EventSink | None,
) -> str | None:
    t0 = time.perf_counter()
    status, retry = store.fail(attempt, kind, error, max_attempts=max_attempts)
    summary.driver_s += time.perf_counter() - t0
    if retry:
        summary.retries += 1
        if sink:
            sink(BatchEvent("retry", task_id, attempt, status=status, error=error))
        return task_id
    summary.errors += 1
    if sink:
        sink(BatchEvent("gave_up", task_id, attempt, status=status, error=error))
    return None


def _specs(tasks: str | os.PathLike[str] | Sequence[TaskSpec]) -> list[TaskSpec]:
    if isinstance(tasks, str | os.PathLike):
        return load_tasks(tasks)
    specs = list(tasks)
    if not specs:
        raise ConfigurationError("no tasks")
    return specs


async def arun_batch(
    tasks: str | os.PathLike[str] | Sequence[TaskSpec],
    out: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    concurrency: int = 8,
    backend: Literal["local", "ray"] = "local",
    ray_address: str | None = None,
    cpus_per_worker: float = 1.0,
    base_url: str | None = None,
    api_key: str | None = None,
    transport: str = "auto",
    model: str = "gpt-5.5",
    provider: str = "",
    max_attempts: int = 3,
    retry_failed: bool = False,
    rate_limits: dict[str, float] | None = None,
    default_rate: float | None = None,
    on_event: EventSink | None = None,
) -> BatchSummary:
    """The async form of :func:`run_batch` (same arguments)."""
    if jobs is not None and jobs < 1:
        raise ConfigurationError("jobs must be at least 1")
    if concurrency < 1:
        raise ConfigurationError("concurrency must be at least 1")
    if max_attempts < 1:
        raise ConfigurationError("max_attempts must be at least 1")
    if backend not in ("local", "ray"):
        raise ConfigurationError(f"unknown backend {backend!r}: 'local' or 'ray'")
    # Read and validate every task before the store is touched: a bad file writes nothing.
    specs = _specs(tasks)
    n_workers = jobs or os.cpu_count() or 1
    target = BatchTarget(base_url, api_key, transport, model, provider)
    store = ResultStore.open(out)
    try:
        store.register(specs)
        options = {"jobs": n_workers, "concurrency": concurrency, "max_attempts": max_attempts,
                   "retry_failed": retry_failed, "target": repr(target)}  # fmt: skip
        run_id = store.begin_run(backend, options)
        ids = store.runnable(
            [s.id for s in specs], max_attempts=max_attempts, retry_failed=retry_failed
        )
        summary = BatchSummary(str(Path(out)), backend, len(specs), len(ids), workers=n_workers)
        limiter = RateLimiter(rate_limits, default_rate=default_rate)
        start = time.perf_counter()
        if ids:
            await _drive(
                ids,
                specs,
                store,
                run_id,
                summary,
                target,
                limiter,
                n_workers,
                concurrency,
                backend,
                ray_address,
                cpus_per_worker,
                max_attempts,
                on_event,
            )
        summary.wall_s = time.perf_counter() - start
        store.end_run(run_id)
        summary.counts = store.counts()
        return summary
    finally:
        store.close()


async def _drive(
    ids: list[str],
    specs: list[TaskSpec],
    store: ResultStore,
    run_id: int,
    summary: BatchSummary,
    target: BatchTarget,
    limiter: RateLimiter,
    n_workers: int,
    concurrency: int,
    backend: str,
    ray_address: str | None,
    cpus_per_worker: float,
    max_attempts: int,
    sink: EventSink | None,
) -> None:
    queue = _Queue(ids)
    by_id = {s.id: s for s in specs}
    requeues: dict[str, int] = {}

    async def local_totals() -> tuple[int, int]:
        return limiter.totals()

    async with anyio.create_task_group() as tg:
        workers: list[Worker]
        totals: Callable[[], Awaitable[tuple[int, int]]] = local_totals
        if backend == "ray":
            from .ray_backend import ray_workers

            ray_list, totals = await ray_workers(
                n_workers,
                target,
                rates=limiter.rates,
                default_rate=limiter.default_rate,
                address=ray_address,
                cpus_per_worker=cpus_per_worker,
                concurrency=concurrency,
            )
            workers = [*ray_list]
        else:
            workers = [LocalWorker(i, target, limiter, tg) for i in range(n_workers)]
        try:
            async with anyio.create_task_group() as starters:
                for w in workers:
                    starters.start_soon(w.start)
            async with anyio.create_task_group() as slots:
                for _ in range(concurrency):
                    for w in workers:
                        slots.start_soon(
                            _slot,
                            w,
                            queue,
                            by_id,
                            store,
                            run_id,
                            summary,
                            max_attempts,
                            requeues,
                            sink,
                        )
            summary.throttles, summary.delayed_requests = await totals()
        finally:
            with anyio.CancelScope(shield=True):
                for w in workers:
                    await w.aclose()
            tg.cancel_scope.cancel()


def run_batch(
    tasks: str | os.PathLike[str] | Sequence[TaskSpec],
    out: str | os.PathLike[str],
    **options: Any,
) -> BatchSummary:
    """Run every task of ``tasks`` (a JSONL file or TaskSpec objects), results into ``out``.

    Re-running on the same ``out`` skips passed and failed tasks and retries those that errored
    (up to ``max_attempts`` attempts per task; ``retry_failed=True`` also retries failed ones).

    Args (keywords): ``jobs`` worker processes or actors (default: one per core);
    ``concurrency`` tasks at a time per worker (default 8); ``backend`` ``"local"`` or ``"ray"``
    (``ray_address``, ``cpus_per_worker``); where the models run: ``base_url``, ``api_key``,
    ``transport``, ``model`` (tasks may name their own), ``provider`` (the rate-limit bucket's
    name, default the base URL's host); ``max_attempts`` (3), ``retry_failed``; ``rate_limits``
    (requests/s per provider) or ``default_rate`` (none: only 429s slow the batch down);
    ``on_event`` a callback for progress (:class:`BatchEvent`). Returns a :class:`BatchSummary`.
    """
    result: BatchSummary = anyio.run(lambda: arun_batch(tasks, out, **options))
    return result
