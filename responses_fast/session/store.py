"""Durable sessions: a conversation saved to a SQLite file and resumed in another process.

::

    store = SessionStore("sessions.db")
    async with AgentSession(model, tools=tools, persist=store.session("fix-42")) as session:
        await session.run("Fix the failing test")     # saved after every turn

    # later, in another process or after a notebook kernel restart:
    async with AgentSession(model, tools=tools, persist=store.session("fix-42")) as session:
        await session.run("Now add a test for it")    # the saved conversation goes on
        # or: await session.resume()                 # finish an interrupted run

What is saved: every item of the log as its wire bytes, the newest response id the server may
still hold (and how much of the log it covers), the usage so far and the model name. Tools are
code and are given again when resuming. Over WebSocket a resumed session continues with
``previous_response_id`` when the server still has that response (``store=True`` on the API, or
the same process's server) and resends the whole context when it does not (the retry loop's
``previous_response_not_found`` path).

Each save is one SQLite transaction (WAL mode): a crash during a save leaves the previous save
whole, and a save only appends the items that are new since the last one.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..cache.render import LoggedItem
from ..errors import ConfigurationError

__all__ = ["SavedSession", "SessionSnapshot", "SessionStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    model TEXT,
    head_response_id TEXT,
    head_index INTEGER NOT NULL DEFAULT 0,
    n_items INTEGER NOT NULL DEFAULT 0,
    usage TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    session_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    raw BLOB NOT NULL,
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What a save holds (``items`` are wire bytes, in conversation order)."""

    session_id: str
    model: str | None
    items: tuple[bytes, ...]
    head_response_id: str | None
    head_index: int
    usage: dict[str, int]
    updated_at: float


class SessionStore:
    """Saved sessions in one SQLite file (created if missing).

    Safe to share between the tasks and threads of a process (one lock); several processes may
    use the same file (SQLite's WAL locking), each session id being written by one at a time.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(
                f"cannot open the session store {self.path!r}: {exc}"
            ) from None

    def __repr__(self) -> str:
        return f"SessionStore({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def session(self, session_id: str) -> SavedSession:
        """A handle for one saved conversation, to pass as ``AgentSession(persist=...)``."""
        if not session_id or not isinstance(session_id, str):
            raise ConfigurationError("a saved session needs a non-empty string id")
        return SavedSession(self, session_id)

    def ids(self) -> list[str]:
        """The ids of all saved sessions, most recently updated first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT session_id FROM sessions ORDER BY updated_at DESC"
            ).fetchall()
        return [r[0] for r in rows]

    def load(self, session_id: str) -> SessionSnapshot | None:
        """The last save of ``session_id`` (None if it was never saved)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT model, head_response_id, head_index, n_items, usage, updated_at "
                "FROM sessions WHERE session_id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            items = self._conn.execute(
                "SELECT raw FROM items WHERE session_id = ? AND idx < ? ORDER BY idx",
                (session_id, row[3]),
            ).fetchall()
        return SessionSnapshot(
            session_id=session_id,
            model=row[0],
            items=tuple(bytes(r[0]) for r in items),
            head_response_id=row[1],
            head_index=row[2],
            usage=orjson.loads(row[4]),
            updated_at=row[5],
        )

    def save(
        self,
        session_id: str,
        entries: Sequence[LoggedItem],
        *,
        model: str | None,
        head_response_id: str | None,
        head_index: int,
        usage: dict[str, int],
    ) -> None:
        """Save the log in one transaction, appending only what is new since the last save.

        If the saved prefix no longer matches the log (the context budget trimmed it), the
        session's items are rewritten whole, still in the same transaction.
        """
        now = time.time()
        n = len(entries)
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT n_items, created_at FROM sessions WHERE session_id = ?",
                    (session_id,),
                ).fetchone()
                saved, created = (row[0], row[1]) if row else (0, now)
                keep = 0 < saved <= n and self._prefix_matches(session_id, entries, saved)
                start = saved if keep else 0
                if start == 0:
                    conn.execute("DELETE FROM items WHERE session_id = ?", (session_id,))
                else:
                    conn.execute(
                        "DELETE FROM items WHERE session_id = ? AND idx >= ?", (session_id, start)
                    )
                conn.executemany(
                    "INSERT INTO items (session_id, idx, raw) VALUES (?, ?, ?)",
                    [(session_id, i, entries[i].raw) for i in range(start, n)],
                )
                conn.execute(
                    "INSERT OR REPLACE INTO sessions (session_id, model, head_response_id, "
                    "head_index, n_items, usage, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        model,
                        head_response_id,
                        head_index,
                        n,
                        orjson.dumps(usage).decode(),
                        created,
                        now,
                    ),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _prefix_matches(self, session_id: str, entries: Sequence[LoggedItem], saved: int) -> bool:
        """Whether the saved items are still the log's first ``saved`` items (the last one is
        compared by digest: the log only appends, except when it is trimmed or rolled back)."""
        row = self._conn.execute(
            "SELECT raw FROM items WHERE session_id = ? AND idx = ?", (session_id, saved - 1)
        ).fetchone()
        return row is not None and bytes(row[0]) == entries[saved - 1].raw

    def delete(self, session_id: str) -> None:
        """Forget a saved session."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM items WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            conn.execute("COMMIT")


@dataclass(frozen=True, slots=True)
class SavedSession:
    """One conversation of a :class:`SessionStore` (what ``AgentSession(persist=...)`` takes)."""

    store: SessionStore
    session_id: str

    def load(self) -> SessionSnapshot | None:
        return self.store.load(self.session_id)

    def save(self, entries: Sequence[LoggedItem], **fields: Any) -> None:
        self.store.save(self.session_id, entries, **fields)

    def delete(self) -> None:
        self.store.delete(self.session_id)
