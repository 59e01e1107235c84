"""The results store: claims, one-transaction results, recovery after a dead driver, the lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from responses_fast.batch import ResultStore, StoreLockedError, TaskSpec, WorkspaceSource

SPECS = [
    TaskSpec(id=f"t{i}", prompt="p", workspace=WorkspaceSource(path="/nonexistent"))
    for i in range(3)
]
OUTCOME = {
    "passed": True,
    "run_status": "completed",
    "final_text": "ok",
    "output": {"a": 1},
    "check_exit_code": 0,
    "check_output_tail": "OK",
    "diff": "--- a/x\n",
    "usage": {"total_tokens": 5},
    "turns": [{"turn": 1}],
    "tool_calls": 2,
    "wall_s": 0.5,
}


def test_store_is_wal_and_results_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with ResultStore.open(db) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.register(SPECS)
        run = store.begin_run("local", {"jobs": 1})
        a = store.claim("t0", run, "w0")
        assert store.counts() == {"running": 1, "pending": 2}
        assert store.finish(a, OUTCOME) == "passed"
        b = store.claim("t1", run, "w0")
        assert store.finish(b, {**OUTCOME, "passed": False, "check_exit_code": 1}) == "failed"
        c = store.claim("t2", run, "w0")
        assert store.fail(c, "error", "boom", max_attempts=2) == ("pending", True)
        c2 = store.claim("t2", run, "w0")
        assert store.fail(c2, "crashed", "worker died", max_attempts=2) == ("error", False)
    with ResultStore.read(db) as store:
        results = {r["task_id"]: r for r in store.results()}
        assert results["t0"]["output"] == {"a": 1} and results["t0"]["turns"] == [{"turn": 1}]
        assert results["t1"]["status"] == "failed" and results["t1"]["check_exit_code"] == 1
        assert "t2" not in results
        rows = {t.id: t for t in store.tasks()}
        assert (rows["t2"].status, rows["t2"].attempts) == ("error", 2)
        assert [a["status"] for a in store.attempts("t2")] == ["error", "crashed"]


def test_runnable_skips_finished_and_retries_within_the_limit(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "r.db") as store:
        store.register(SPECS)
        run = store.begin_run("local", {})
        store.finish(store.claim("t0", run, "w"), OUTCOME)
        store.finish(store.claim("t1", run, "w"), {**OUTCOME, "passed": False})
        store.fail(store.claim("t2", run, "w"), "error", "x", max_attempts=1)
        ids = ["t0", "t1", "t2"]
        assert store.runnable(ids, max_attempts=1) == []
        assert store.runnable(ids, max_attempts=2) == ["t2"]
        assert store.runnable(ids, max_attempts=2, retry_failed=True) == ["t1", "t2"]
        # a rate-limited attempt does not count towards the limit
        store.fail(store.claim("t2", run, "w"), "rate_limited", "429", max_attempts=2)
        assert store.runnable(ids, max_attempts=2) == ["t2"]


def test_a_finished_attempt_cannot_be_finished_again(tmp_path: Path) -> None:
    with ResultStore.open(tmp_path / "r.db") as store:
        store.register(SPECS)
        run = store.begin_run("local", {})
        a = store.claim("t0", run, "w")
        store.finish(a, OUTCOME)
        with pytest.raises(RuntimeError, match="not running"):
            store.finish(a, OUTCOME)
        assert len(store.results()) == 1


_DIE_MID_BATCH = """
import os, sys
from responses_fast.batch import ResultStore, TaskSpec, WorkspaceSource
specs = [TaskSpec(id=f"t{i}", prompt="p", workspace=WorkspaceSource(path="/x")) for i in range(3)]
store = ResultStore.open(sys.argv[1])
store.register(specs)
run = store.begin_run("local", {})
store.finish(store.claim("t0", run, "w"), {"passed": True, "final_text": "ok"})
store.claim("t1", run, "w")
os.kill(os.getpid(), 9)
"""


def test_a_killed_driver_loses_nothing_and_marks_nothing_done(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    proc = subprocess.run([sys.executable, "-c", _DIE_MID_BATCH, str(db)], timeout=60)
    assert proc.returncode == -9
    with ResultStore.open(db) as store:  # the dead driver's lock is gone with it
        assert store.counts() == {"passed": 1, "running": 1, "pending": 1}
        store.begin_run("local", {})
        assert store.counts() == {"passed": 1, "pending": 2}
        assert [a["status"] for a in store.attempts("t1")] == ["abandoned"]
        assert store.runnable(["t0", "t1", "t2"], max_attempts=1) == ["t1", "t2"]
        assert [r["task_id"] for r in store.results()] == ["t0"]


def test_one_driver_at_a_time(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with ResultStore.open(db):
        with pytest.raises(StoreLockedError, match="another batch is running"):
            ResultStore.open(db)
        with ResultStore.read(db) as reader:  # readers are welcome
            assert reader.tasks() == []
    ResultStore.open(db).close()


def test_not_a_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(Exception, match="not"):
        ResultStore.open(junk)
    with pytest.raises(Exception, match="does not exist"):
        ResultStore.read(tmp_path / "missing.db")
    assert isinstance(sqlite3.sqlite_version, str)
