"""The results store: one SQLite file (WAL mode), written only by the batch driver.

Exactly once per task id: a task is *claimed* with an attempt row before it is handed to a
worker, and its result (status, final text, check, diff, usage, metrics) is written together
with the attempt's end and the task's status in one transaction. A crash at any point leaves
either that whole transaction or none of it. The driver holds an exclusive ``flock`` on
``<store>.lock`` while it runs, so on start-up any attempt still marked ``running`` belongs to a
dead driver: it is marked ``abandoned`` and its task runs again.

The schema is documented in docs/batch.md.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import ConfigurationError
from .tasks import TaskSpec

__all__ = [
    "FINAL_STATUSES",
    "SCHEMA_VERSION",
    "ResultStore",
    "StoreLockedError",
    "TaskRow",
]

SCHEMA_VERSION = 1

#: Statuses that a re-run leaves alone (``failed`` only without ``retry_failed``).
FINAL_STATUSES = ("passed", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    backend TEXT NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    spec TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    run_id INTEGER NOT NULL REFERENCES runs(id),
    worker TEXT,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS attempts_task ON attempts(task_id);
CREATE TABLE IF NOT EXISTS results (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    attempt_id INTEGER NOT NULL REFERENCES attempts(id),
    status TEXT NOT NULL,
    run_status TEXT,
    final_text TEXT,
    output TEXT,
    check_exit_code INTEGER,
    check_output_tail TEXT,
    diff TEXT,
    usage TEXT,
    turns TEXT,
    tool_calls INTEGER,
    wall_s REAL,
    error TEXT,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL
);
"""

#: Attempt statuses that count towards a task's attempt limit.
_COUNTED = ("done", "error", "crashed")


class StoreLockedError(ConfigurationError):
    """Another batch driver is writing this store."""


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: str
    status: str
    attempts: int


class ResultStore:
    """The SQLite results file. Open it with :meth:`open` (writer) or :meth:`read` (read-only)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, lock_fd: int | None) -> None:
        self.conn = conn
        self.path = path
        self._lock_fd = lock_fd

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ResultStore:
        """Open (creating) the store for writing; StoreLockedError if a driver holds it."""
        file = Path(path).expanduser()
        if file.parent and not file.parent.is_dir():
            raise ConfigurationError(f"folder {file.parent} for the results store does not exist")
        lock_fd = os.open(f"{file}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise StoreLockedError(
                f"another batch is running on {file} (it holds {file}.lock)"
            ) from None
        try:
            conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (not a power cut).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as exc:
            os.close(lock_fd)
            raise ConfigurationError(f"{file} is not a usable results store: {exc}") from None
        return cls(conn, file, lock_fd)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ResultStore:
        """Open an existing store read-only (reports, progress from another process)."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigurationError(f"results store {file} does not exist")
        conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM tasks").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ConfigurationError(f"{file} is not a results store: {exc}") from None
        return cls(conn, file, None)

    def close(self) -> None:
        self.conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- a run ---------------------------------------------------------------------------------

    def begin_run(self, backend: str, options: dict[str, Any]) -> int:
        """Record a run; recover what a dead driver left ``running`` (we hold the lock)."""
        now = time.time()
        with self._tx() as c:
            c.execute(
                "UPDATE attempts SET status='abandoned', ended_at=?, "
                "error='the driver stopped before this attempt finished' WHERE status='running'",
                (now,),
            )
            c.execute(
                "UPDATE tasks SET status='pending', updated_at=? WHERE status='running'", (now,)
            )
            cur = c.execute(
                "INSERT INTO runs(started_at, pid, host, backend, options) VALUES (?,?,?,?,?)",
                (now, os.getpid(), socket.gethostname(), backend, orjson.dumps(options).decode()),
            )
            run_id = cur.lastrowid
        assert run_id is not None
        return run_id

    def end_run(self, run_id: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE runs SET ended_at=? WHERE id=?", (time.time(), run_id))

    def register(self, tasks: Sequence[TaskSpec]) -> None:
        """Add new tasks; a known id whose spec changed is an error (nothing is written)."""
        now = time.time()
        known = dict(self.conn.execute("SELECT id, fingerprint FROM tasks").fetchall())
        for spec in tasks:
            old = known.get(spec.id)
            if old is not None and old != spec.fingerprint():
                raise ConfigurationError(
                    f"task {spec.id!r} in the store was run with a different definition; "
                    "give the changed task a new id or use a new results file"
                )
        seq0 = int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM tasks").fetchone()[0])
        with self._tx() as c:
            c.executemany(
                "INSERT OR IGNORE INTO tasks(id, seq, spec, fingerprint, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (s.id, seq0 + i + 1, s.model_dump_json(), s.fingerprint(), now, now)
                    for i, s in enumerate(tasks)
                    if s.id not in known
                ],
            )

    def runnable(
        self, ids: Iterable[str], *, max_attempts: int, retry_failed: bool = False
    ) -> list[str]:
        """Of ``ids`` (in order), those a run should attempt now."""
        rows = {r.id: r for r in self.tasks()}
        out: list[str] = []
        for task_id in ids:
            row = rows.get(task_id)
            if row is None or row.attempts >= max_attempts:
                continue
            if row.status == "passed" or (row.status == "failed" and not retry_failed):
                continue
            out.append(task_id)
        return out

    # -- attempts ------------------------------------------------------------------------------

    def claim(self, task_id: str, run_id: int, worker: str) -> int:
        """Mark ``task_id`` running under a new attempt row; the attempt's id."""
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO attempts(task_id, run_id, worker, status, started_at) "
                "VALUES (?,?,?,'running',?)",
                (task_id, run_id, worker, now),
            )
            c.execute("UPDATE tasks SET status='running', updated_at=? WHERE id=?", (now, task_id))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def set_worker(self, attempt_id: int, worker: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE attempts SET worker=? WHERE id=?", (worker, attempt_id))

    def finish(self, attempt_id: int, outcome: dict[str, Any]) -> str:
        """Write a finished attempt's result, in one transaction; the task's new status."""
        now = time.time()
        status = "passed" if outcome["passed"] else "failed"
        with self._tx() as c:
            task_id = self._task_of(c, attempt_id)
            c.execute(
                "UPDATE attempts SET status='done', ended_at=?, error=? WHERE id=?",
                (now, outcome.get("error"), attempt_id),
            )
            c.execute(
                "INSERT OR REPLACE INTO results(task_id, attempt_id, status, run_status, "
                "final_text, output, check_exit_code, check_output_tail, diff, usage, turns, "
                "tool_calls, wall_s, error, started_at, finished_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    task_id,
                    attempt_id,
                    status,
                    outcome.get("run_status"),
                    outcome.get("final_text"),
                    _json(outcome.get("output")),
                    outcome.get("check_exit_code"),
                    outcome.get("check_output_tail"),
                    outcome.get("diff"),
                    _json(outcome.get("usage")),
                    _json(outcome.get("turns")),
                    outcome.get("tool_calls"),
                    outcome.get("wall_s"),
                    outcome.get("error"),
                    outcome.get("started_at", now),
                    now,
                ),
            )
            self._set_status(c, task_id, status, now)
        return status

    def fail(
        self, attempt_id: int, kind: str, error: str, *, max_attempts: int
    ) -> tuple[str, bool]:
        """End an attempt without a result (``error``, ``crashed``, ``rate_limited``).

        Returns the task's status and whether it may be tried again in this run.
        """
        now = time.time()
        with self._tx() as c:
            task_id = self._task_of(c, attempt_id)
            c.execute(
                "UPDATE attempts SET status=?, ended_at=?, error=? WHERE id=?",
                (kind, now, error[-4000:], attempt_id),
            )
            attempts = self._count(c, task_id)
            retry = attempts < max_attempts
            status = "pending" if retry else "error"
            self._set_status(c, task_id, status, now)
        return status, retry

    def _task_of(self, c: sqlite3.Connection, attempt_id: int) -> str:
        row = c.execute("SELECT task_id, status FROM attempts WHERE id=?", (attempt_id,)).fetchone()
        if row is None or row[1] != "running":
            raise RuntimeError(f"attempt {attempt_id} is not running")
        return str(row[0])

    @staticmethod
    def _count(c: sqlite3.Connection, task_id: str) -> int:
        marks = ",".join("?" * len(_COUNTED))
        row = c.execute(
            f"SELECT count(*) FROM attempts WHERE task_id=? AND status IN ({marks})",
            (task_id, *_COUNTED),
        ).fetchone()
        return int(row[0])

    def _set_status(self, c: sqlite3.Connection, task_id: str, status: str, now: float) -> None:
        c.execute(
            "UPDATE tasks SET status=?, attempts=?, updated_at=? WHERE id=?",
            (status, self._count(c, task_id), now, task_id),
        )

    # -- reading -------------------------------------------------------------------------------

    def tasks(self) -> list[TaskRow]:
        rows = self.conn.execute("SELECT id, status, attempts FROM tasks ORDER BY seq").fetchall()
        return [TaskRow(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall()
        return {str(s): int(n) for s, n in rows}

    def results(self) -> list[dict[str, Any]]:
        """Every stored result, in task order, JSON columns decoded."""
        cur = self.conn.execute(
            "SELECT r.*, t.attempts AS attempts FROM results r JOIN tasks t ON t.id = r.task_id "
            "ORDER BY t.seq"
        )
        names = [d[0] for d in cur.description]
        out: list[dict[str, Any]] = []
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            for key in ("output", "usage", "turns"):
                if rec[key] is not None:
                    rec[key] = orjson.loads(rec[key])
            out.append(rec)
        return out

    def attempts(self, task_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM attempts"
        args: tuple[Any, ...] = ()
        if task_id is not None:
            sql += " WHERE task_id=?"
            args = (task_id,)
        cur = self.conn.execute(sql + " ORDER BY id", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
