# SPDX-License-Identifier: LGPL-2.1-or-later
"""Session records persisted in SQLite, so a restarted island manager remembers.

One row per session: id, state, timestamps, number of drops and the nodes used. The
island manager writes a row when a session is created, deployed and when it ends; on
start it reads them back, so past sessions are listed with their final status.
Sessions that were still running when the manager stopped are marked FAILED on restart
unless their node managers are found again (the Ray transport re-adopts them).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liuray.engine.states import SessionState
from liuray.types import NodeName, SessionId

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    ended REAL,
    drops INTEGER NOT NULL DEFAULT 0,
    nodes TEXT NOT NULL DEFAULT '[]',
    error TEXT
)
"""


@dataclass
class SessionRecord:
    """What is remembered of a session."""

    session_id: SessionId
    state: SessionState
    created: float
    ended: float | None = None
    drops: int = 0
    nodes: list[NodeName] = field(default_factory=list)
    error: str | None = None


class SessionRecords:
    """A small SQLite table of :class:`SessionRecord` (thread-safe).

    Args:
        path: the database file (created with its directory); ``None`` keeps records in
            memory only.
    """

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        # One cursor for every statement: each ``Connection.execute`` makes a cursor
        # and keeps a weak reference to it (swept only every 200 cursors), and such
        # references, made during a burst of sessions, outlive it scattered over the
        # heap and keep its memory from being given back (docs/reliability.md, "Load").
        self._cursor = self._db.cursor()
        self._lock = threading.Lock()
        with self._lock:
            self._cursor.execute(
                "PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY"
            )
            self._cursor.execute(_SCHEMA)

    def save(self, record: SessionRecord) -> None:
        """Insert or replace a record."""
        with self._lock:
            self._cursor.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_id,
                    str(record.state),
                    record.created,
                    record.ended,
                    record.drops,
                    json.dumps(record.nodes),
                    record.error,
                ),
            )

    def get(self, session_id: SessionId) -> SessionRecord | None:
        """The record of one session, if any."""
        with self._lock:
            row = self._cursor.execute(
                "SELECT * FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        return None if row is None else _record(row)

    def all(self) -> list[SessionRecord]:
        """Every record, oldest first."""
        with self._lock:
            rows = self._cursor.execute("SELECT * FROM sessions ORDER BY created").fetchall()
        return [_record(row) for row in rows]

    def delete(self, session_id: SessionId) -> None:
        """Forget a session."""
        with self._lock:
            self._cursor.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._cursor.close()
            self._db.close()


def _record(row: Any) -> SessionRecord:
    session_id, state, created, ended, drops, nodes, error = row
    return SessionRecord(
        str(session_id),
        SessionState(state),
        float(created),
        None if ended is None else float(ended),
        int(drops),
        json.loads(nodes),
        None if error is None else str(error),
    )
