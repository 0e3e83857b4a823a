"""SQLite persistence of events: WAL, one segment per commit, a schema version, reopen and restore.

Each commit writes one row of the ``segments`` table holding that batch's events as columnar JSON:
one entry per field, ``{"all": value}`` when every event has the same value, timestamps as
``[[time, count], ...]`` runs, else the list of values. Encoding whole columns runs in C, about
ten times cheaper than a row per event with its own encoded values. WAL with ``synchronous=NORMAL`` keeps every committed segment
across a killed process; a segment is committed whole or not at all. Restored values are what
JSON gives back: tuples become lists and dict keys strings; a value JSON cannot hold at all is
stored as its ``repr``.

Used from worker threads (``trio.to_thread``), one call at a time, never from the trio thread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from ..runtime._exceptions import ScopeError
from ._event_log import Event, Row, json_safe

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    first_id INTEGER PRIMARY KEY,
    last_id INTEGER NOT NULL,
    first_timestamp REAL NOT NULL,
    last_timestamp REAL NOT NULL,
    events TEXT NOT NULL
);
"""
_FIELDS = Event._fields
_encoder = json.JSONEncoder(default=repr, separators=(",", ":"), check_circular=False)


class EventDBError(ScopeError):
    """The events file cannot be opened, or was written by an incompatible version."""


def _compact(column: tuple[Any, ...]) -> Any:
    return {"all": column[0]} if column.count(column[0]) == len(column) else column


def _expand(encoded: Any, count: int) -> Sequence[Any]:
    return [encoded["all"]] * count if isinstance(encoded, dict) else encoded


def _encode(rows: Sequence[Row]) -> str:
    _, types, stamps, namespaces, corrs, parents, sources, datas = zip(*rows, strict=True)
    columns: dict[str, Any] = {
        "count": len(rows),
        "type": _compact(types),
        "timestamp": [[stamp, len(list(run))] for stamp, run in groupby(stamps)],
        "namespace": _compact(namespaces),
        "correlation_id": _compact(corrs),
        "parent_id": _compact(parents),
        "source": _compact(sources),
        "data": _compact(datas),
    }
    try:
        return _encoder.encode(columns)
    except (TypeError, ValueError):  # e.g. a dict with non-string keys: keep its repr, lose nothing else
        for name in ("data", "correlation_id"):
            columns[name] = [json_safe(value) for value in _expand(columns[name], len(rows))]
        return _encoder.encode(columns)


def _decode(first_id: int, text: str) -> list[Row]:
    columns = json.loads(text)
    count = columns["count"]
    stamps = [stamp for stamp, n in columns["timestamp"] for _ in range(n)]
    return list(
        zip(
            range(first_id, first_id + count),
            _expand(columns["type"], count),
            stamps,
            *(_expand(columns[name], count) for name in _FIELDS[3:]),
            strict=True,
        )
    )


class EventDB:
    """One SQLite file of events."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import sqlite3  # here: a Foundation without an events file never loads sqlite3

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
                f"{SCHEMA_VERSION}: move the file away to start a new one"
            )

    def write(self, rows: Sequence[Row]) -> int:
        """Commit rows (consecutive ids, in order) as one segment; returns how many."""
        if not rows:
            return 0
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?)",
                (rows[0][0], rows[-1][0], rows[0][2], rows[-1][2], _encode(rows)),
            )
        return len(rows)

    def load(self, max_events: int | None, since: float | None) -> list[Row]:
        """The newest ``max_events`` rows at or after ``since``, oldest first."""
        sql, args = "SELECT first_id, events FROM segments", []
        if since is not None:
            sql += " WHERE last_timestamp >= ?"
            args.append(since)
        found: list[list[Row]] = []
        count = 0
        for first_id, text in self._conn.execute(sql + " ORDER BY first_id DESC", args):
            rows = _decode(first_id, text)
            if since is not None:
                rows = [row for row in rows if row[2] >= since]
            found.append(rows)
            count += len(rows)
            if max_events is not None and count >= max_events:
                break
        rows = [row for segment in reversed(found) for row in segment]
        return rows[-max_events:] if max_events is not None and len(rows) > max_events else rows

    def last_id(self) -> int:
        """The highest stored id (0 when empty)."""
        return self._conn.execute("SELECT COALESCE(MAX(last_id), 0) FROM segments").fetchone()[0]

    def prune_before(self, event_id: int) -> None:
        """Delete segments whose events all have ids below ``event_id`` (retention)."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM segments WHERE last_id < ?", (event_id,))

    def close(self) -> None:
        """Close the file (committed data is already safe)."""
        self._conn.close()
