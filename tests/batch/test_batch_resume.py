"""kill -9 of the driver mid-batch, then the same command again: nothing finished is lost or run
again, nothing unfinished is marked done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from _batch_helpers import final_turns, requests_by_task, write_tasks

from responses_fast.batch import ResultStore, sample_scripts, sample_tasks
from responses_fast.server import serve_in_thread


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _batch(tasks: Path, db: Path, base_url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"OPENAI_API_KEY", "OPENAI_BASE_URL"}}
    return subprocess.Popen(
        [sys.executable, "-m", "responses_fast.cli", "batch", str(tasks), "--out", str(db),
         "-j", "2", "-c", "2", "--base-url", base_url, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _passed(db: Path) -> set[str]:
    if not db.exists():
        return set()
    try:
        with ResultStore.read(db) as store:
            return {t.id for t in store.tasks() if t.status == "passed"}
    except Exception:  # the driver is still creating the schema
        return set()


@pytest.mark.slow  # two batch runs in subprocesses: ~15-25 s
def test_kill_9_of_the_driver_then_resume(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", sample_tasks())
    db = tmp_path / "results.db"
    with serve_in_thread(None, scripts=sample_scripts(), tokens_per_second=3000) as server:
        driver = _batch(tasks, db, server.base_url)
        deadline = time.monotonic() + 120
        while len(_passed(db)) < 4:
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        driver.communicate()
        with ResultStore.read(db) as store:
            done_at_kill = {t.id for t in store.tasks() if t.status == "passed"}
            running = {t.id for t in store.tasks() if t.status == "running"}
            workers = {int(str(a["worker"]).rsplit(":", 1)[1]) for a in store.attempts()}
        assert 4 <= len(done_at_kill) < 20 and running, (done_at_kill, running)
        # The workers notice the driver is gone (end of their stdin) and stop their tasks.
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived its driver"
            time.sleep(0.05)
        requests_at_kill = requests_by_task(server)
        completed_at_kill = final_turns(server)

        again = _batch(tasks, db, server.base_url)
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-3000:]

        with ResultStore.read(db) as store:
            assert {t.status for t in store.tasks()} == {"passed"}
            results = store.results()
            attempts = store.attempts()
        # exactly one result per task, and one finished attempt per task in the whole history
        assert len(results) == 20
        done = Counter(a["task_id"] for a in attempts if a["status"] == "done")
        assert done == Counter(dict.fromkeys((t.id for t in sample_tasks()), 1))
        # what was running at the kill was abandoned, not marked done, and ran again
        abandoned = {a["task_id"] for a in attempts if a["status"] == "abandoned"}
        assert abandoned == running
        # the server agrees: tasks finished before the kill were never asked for again
        requests_now = requests_by_task(server)
        for task_id in done_at_kill:
            assert requests_now[task_id] == requests_at_kill[task_id], task_id
        completed = final_turns(server)
        for task_id in done_at_kill:
            assert completed[task_id] == completed_at_kill[task_id] == 1
        for task_id in set(done) - done_at_kill:
            # tasks cut off by the kill may have had their answer streamed once before it
            assert 1 <= completed[task_id] <= 2
        assert '"type":"summary"' in out
