"""Batch runs: many agent tasks, resumable, on one machine or on a Ray cluster (docs/batch.md).

::

    from responses_fast.batch import run_batch

    summary = run_batch("tasks.jsonl", "results.db", jobs=2, base_url="http://127.0.0.1:8765/v1")

Every task runs in its own copy of its workspace; the results go to one SQLite file written only
by the driver, exactly once per task id, so a batch stopped at any point resumes where it was.
"""

from .driver import BatchEvent, BatchSummary, arun_batch, run_batch
from .ratelimit import RateLimiter, TokenBucket
from .report import BatchReport, batch_report, write_chart
from .runner import BatchTarget
from .samples import sample_scripts, sample_tasks
from .store import ResultStore, StoreLockedError
from .tasks import TaskFileError, TaskSpec, WorkspaceSource, load_tasks, parse_tasks

__all__ = [
    "BatchEvent",
    "BatchReport",
    "BatchSummary",
    "BatchTarget",
    "RateLimiter",
    "ResultStore",
    "StoreLockedError",
    "TaskFileError",
    "TaskSpec",
    "TokenBucket",
    "WorkspaceSource",
    "arun_batch",
    "batch_report",
    "load_tasks",
    "parse_tasks",
    "run_batch",
    "sample_scripts",
    "sample_tasks",
    "write_chart",
]
