"""SQLite persistence of events: WAL, batched commits, a schema version, reopen and restore.

Used from worker threads (``trio.to_thread``), one call at a time, never from the trio thread.
WAL with ``synchronous=NORMAL`` keeps every committed batch across a killed process.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable

from ._event_log import Event
from ._exceptions import ScopeError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    namespace TEXT NOT NULL,
    correlation_id TEXT,
    parent_id INTEGER,
    source TEXT,
    data TEXT
);
CREATE INDEX IF NOT EXISTS events_correlation ON events (correlation_id);
CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp);
"""


class EventDBError(ScopeError):
    """The events file cannot be opened, or was written by an incompatible version."""


def _encode(value: object) -> str | None:
    return None if value is None else json.dumps(value, default=repr, separators=(",", ":"))


class EventDB:
    """One SQLite file of events."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise EventDBError(f"cannot open events file {self.path}: {exc}") from None
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            self._conn.close()
            raise EventDBError(
                f"events file {self.path} has schema version {row[0]}; this scope_ext reads version "
                f"{SCHEMA_VERSION}: move the file away to start a new one")

    def write(self, events: Iterable[Event]) -> int:
        """Append events in one transaction; returns how many."""
        rows = [
            (e.id, e.type, e.timestamp, e.namespace, _encode(e.correlation_id), e.parent_id, e.source, _encode(e.data))
            for e in events
        ]
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def load(self, max_events: int | None, since: float | None) -> list[Event]:
        """The newest ``max_events`` events at or after ``since``, oldest first."""
        sql = "SELECT * FROM events"
        args: list[object] = []
        if since is not None:
            sql += " WHERE timestamp >= ?"
            args.append(since)
        sql += " ORDER BY id DESC"
        if max_events is not None:
            sql += " LIMIT ?"
            args.append(max_events)
        rows = self._conn.execute(sql, args).fetchall()
        rows.reverse()
        return [
            Event(i, t, ts, ns, None if c is None else json.loads(c), p, s, None if d is None else json.loads(d))
            for i, t, ts, ns, c, p, s, d in rows
        ]

    def last_id(self) -> int:
        """The highest stored id (0 when empty)."""
        return self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def prune_before(self, event_id: int) -> None:
        """Delete events with ids below ``event_id`` (retention)."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM events WHERE id < ?", (event_id,))

    def close(self) -> None:
        """Close the file (committed data is already safe)."""
        self._conn.close()
