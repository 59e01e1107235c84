"""The same sample batch with workers as Ray actors on a local Ray cluster started here."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _batch_helpers import final_turns, per_task

from responses_fast.batch import BatchEvent, BatchSummary, run_batch, sample_tasks
from responses_fast.server import ServerThread

ray = pytest.importorskip("ray")

pytestmark = [
    pytest.mark.slow,  # a Ray cluster (~3 s) and the 20-task batch (~10 s)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_the_ray_batch_matches_the_one_machine_batch(
    ray_cluster: Any,
    sample_server: ServerThread,
    local_sample_run: tuple[BatchSummary, Path, Counter[str]],
    tmp_path: Path,
) -> None:
    _, local_db, _ = local_sample_run
    db = tmp_path / "ray.db"
    before = final_turns(sample_server)
    summary = run_batch(sample_tasks(), db, jobs=2, backend="ray", base_url=sample_server.base_url)
    assert summary.backend == "ray" and summary.counts == {"passed": 20}
    assert per_task(db) == per_task(local_db)  # per task: status and diff
    after = final_turns(sample_server)
    after.subtract(before)
    assert +after == Counter(dict.fromkeys((t.id for t in sample_tasks()), 1))
    # re-running resumes on Ray too: nothing left to do
    assert run_batch(sample_tasks(), db, backend="ray", jobs=2).runnable == 0


def test_a_dead_actor_has_its_task_retried(
    ray_cluster: Any, sample_server: ServerThread, tmp_path: Path
) -> None:
    tasks = sample_tasks()[:3]
    killed: list[str] = []

    def on_event(event: BatchEvent) -> None:
        if event.kind == "started" and event.task_id == tasks[0].id and not killed:
            # a worker actor's process, killed from outside like an OOM kill
            assert event.pid is not None
            os.kill(event.pid, signal.SIGKILL)
            killed.append(event.worker)

    db = tmp_path / "r.db"
    summary = run_batch(tasks, db, jobs=1, concurrency=3, backend="ray",
                        base_url=sample_server.base_url, on_event=on_event)  # fmt: skip
    assert killed and summary.crashes >= 1 and summary.counts == {"passed": 3}
