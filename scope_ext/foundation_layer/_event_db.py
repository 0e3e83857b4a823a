"""SQLite persistence of events: WAL, one segment per commit, a schema version, reopen and restore.

Each commit writes one row of the ``segments`` table holding that batch's events as columnar JSON:
one entry per field, ``{"all": value}`` when every event has the same value, timestamps as
``[[time, count], ...]`` runs, else the list of values. Encoding whole columns runs in C, about
ten times cheaper than a row per event with its own encoded values. WAL with ``synchronous=NORMAL`` keeps every committed segment
across a killed process; a segment is committed whole or not at all. Restored values are what
JSON gives back: tuples become lists and dict keys strings; a value JSON cannot hold at all is
stored as its ``repr``.

A damaged file never stops the Foundation: a file SQLite cannot read (not a database, a
malformed image) or of another schema version is renamed to ``<path>.set-aside-<time>`` and a new
file started with every segment that could still be read from it; a segment that does not decode
moves to the file's ``set_aside`` table. :attr:`EventDB.recovery` says what was done (the store
reports it as a ``scope.events.recovered`` event). Files that cannot be opened at all (a folder,
no permission, locked by another process) are errors naming the file, and are left as they are.

Used from worker threads (``trio.to_thread``), one call at a time, never from the trio thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple

from ..runtime._exceptions import ScopeError
from ._event_log import Entry, Event, Row, json_safe

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
CREATE TABLE IF NOT EXISTS set_aside (first_id INTEGER, events TEXT, error TEXT NOT NULL);
"""
#: What SQLite says of a file it cannot read as a database (as opposed to one it cannot open).
_DAMAGED = frozenset(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
_FIELDS = Event._fields
_encoder = json.JSONEncoder(default=repr, separators=(",", ":"), check_circular=False)


class EventDBError(ScopeError):
    """The events file cannot be opened (a folder, no permission, locked by another process)."""


class _Unreadable(Exception):
    """The file is there but cannot be read as our events: damaged (``salvage``: read what is
    left of it), or of another schema version (set aside whole)."""

    def __init__(self, reason: str, salvage: bool) -> None:
        super().__init__(reason)
        self.salvage = salvage


class Recovery(NamedTuple):
    """What opening an events file set aside so the Foundation could start."""

    path: str
    #: Where the unreadable file went (None when only some segments were set aside in it).
    set_aside: str | None
    reason: str
    #: Events read back from the set-aside file, or kept in place.
    kept_events: int
    #: Segments that could not be decoded, now in the ``set_aside`` table.
    bad_segments: int

    def describe(self) -> str:
        """One line for logs and the event feed."""
        if self.set_aside is not None:
            return (
                f"events file {self.path} could not be read ({self.reason}): moved to {self.set_aside}, "
                f"{self.kept_events} events recovered from it into a new file"
            )
        return (
            f"events file {self.path}: {self.bad_segments} damaged segment(s) moved to its set_aside "
            f"table ({self.reason}); {self.kept_events} events kept"
        )


def _compact(column: tuple[Any, ...]) -> Any:
    return {"all": column[0]} if column.count(column[0]) == len(column) else column


def _expand(encoded: Any, count: int) -> Sequence[Any]:
    return [encoded["all"]] * count if isinstance(encoded, dict) else encoded


def _encode(entries: Sequence[Entry], data: Sequence[Any]) -> str:
    _, types, stamps, namespaces, corrs, parents, sources, *_ = zip(*entries, strict=True)
    datas = tuple(data)
    columns: dict[str, Any] = {
        "count": len(entries),
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
            columns[name] = [json_safe(value) for value in _expand(columns[name], len(entries))]
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
    """One SQLite file of events (see the module docstring for damaged files)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        #: What had to be set aside to open the file, if anything.
        self.recovery: Recovery | None = None
        try:
            self._conn = self._open()
        except _Unreadable as exc:
            self._start_over(str(exc), exc.salvage)

    def _start_over(self, reason: str, salvage: bool) -> None:
        """Set the unreadable file aside and start a new one (with what could be read from it)."""
        aside = self._move_aside()
        self._conn = self._open()
        kept, bad = self._copy_readable(aside) if salvage else (0, 0)
        self.recovery = Recovery(self.path, aside, reason, kept, bad)

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise EventDBError(f"cannot open events file {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise _Unreadable(
                    f"schema version {row[0]}, and this scope_ext reads version {SCHEMA_VERSION}", salvage=False
                )
        except sqlite3.Error as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", None) in _DAMAGED:
                raise _Unreadable(str(exc), salvage=True) from None
            raise EventDBError(f"cannot open events file {self.path}: {exc}") from None
        except _Unreadable:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> str:
        """Rename the file (and its WAL and shared-memory files) out of the way; returns its new path."""
        aside = f"{self.path}.set-aside-{time.strftime('%Y%m%d-%H%M%S')}"
        while os.path.lexists(aside):
            aside += "-1"
        for suffix in ("", "-wal", "-shm"):
            if os.path.lexists(self.path + suffix):
                try:
                    os.replace(self.path + suffix, aside + suffix)
                except OSError as exc:
                    raise EventDBError(
                        f"events file {self.path} is unreadable and cannot be set aside: {exc}"
                    ) from None
        return aside

    def _copy_readable(self, aside: str) -> tuple[int, int]:
        """Copy every segment of the set-aside file that can still be read and decoded into this
        one (the undecodable ones to ``set_aside``); returns the events recovered and the bad segments."""
        try:
            old = sqlite3.connect(Path(aside).absolute().as_uri() + "?mode=ro", uri=True)
        except sqlite3.Error:
            return 0, 0
        try:
            found = dict(_readable_segments(old, "ASC"))
            found.update(_readable_segments(old, "DESC"))  # what lies after a damaged page
        finally:
            old.close()
        return self._keep([(first_id, text) for first_id, text in sorted(found.items())], insert=True)

    def _keep(self, segments: Iterable[tuple[int, str]], insert: bool) -> tuple[int, int]:
        """Decode ``segments``; with ``insert``, copy the good ones into ``segments``; move the bad
        ones to ``set_aside``. Returns the events the good ones hold and the number of bad ones."""
        kept = bad = 0
        with self._conn:
            self._conn.execute("BEGIN")
            for first_id, text in segments:
                try:
                    rows = _decode(first_id, text)
                except Exception as exc:
                    bad += 1
                    self._conn.execute("INSERT INTO set_aside VALUES (?, ?, ?)", (first_id, text, f"{exc!r}"))
                    if not insert:
                        self._conn.execute("DELETE FROM segments WHERE first_id = ?", (first_id,))
                    continue
                kept += len(rows)
                if insert and rows:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?)",
                        (first_id, rows[-1][0], rows[0][2], rows[-1][2], text),
                    )
        return kept, bad

    def write(self, entries: Sequence[Entry], data: Sequence[Any]) -> int:
        """Commit events (in id order) as one segment: their fields but ``data`` (an :data:`Entry`'s
        first seven, or more) and their data; returns how many."""
        if not entries:
            return 0
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?)",
                (entries[0][0], entries[-1][0], entries[0][2], entries[-1][2], _encode(entries, data)),
            )
        return len(entries)

    def restore(self, max_events: int | None, since: float | None) -> tuple[int, list[Row]]:
        """The next id (after everything ever stored) and the newest ``max_events`` rows at or
        after ``since``, oldest first. Damage found on the way is set aside (see
        :attr:`recovery`), never raised."""
        try:
            return self.last_id() + 1, self.load(max_events, since)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", None) not in _DAMAGED:
                raise
            reason = str(exc)
        self._conn.close()
        self._start_over(reason, salvage=True)
        return self.last_id() + 1, self.load(max_events, since)

    def load(self, max_events: int | None, since: float | None) -> list[Row]:
        """The newest ``max_events`` rows at or after ``since``, oldest first (segments that do not
        decode move to ``set_aside``)."""
        sql, args = "SELECT first_id, events FROM segments", []
        if since is not None:
            sql += " WHERE last_timestamp >= ?"
            args.append(since)
        found: list[list[Row]] = []
        bad: list[tuple[int, str]] = []
        count = 0
        for first_id, text in self._conn.execute(sql + " ORDER BY first_id DESC", args):
            try:
                rows = _decode(first_id, text)
            except Exception:
                bad.append((first_id, text))
                continue
            if since is not None:
                rows = [row for row in rows if row[2] >= since]
            found.append(rows)
            count += len(rows)
            if max_events is not None and count >= max_events:
                break
        rows = [row for segment in reversed(found) for row in segment]
        if bad:
            self._keep(bad, insert=False)
            first = self.recovery
            self.recovery = Recovery(
                self.path,
                first.set_aside if first else None,
                first.reason if first else "segments that do not decode",
                len(rows),
                len(bad) + (first.bad_segments if first else 0),
            )
        return rows[-max_events:] if max_events is not None and len(rows) > max_events else rows

    def last_id(self) -> int:
        """The highest id ever stored (0 when empty)."""
        return int(self._conn.execute("SELECT COALESCE(MAX(last_id), 0) FROM segments").fetchone()[0])

    def prune_before(self, event_id: int) -> None:
        """Delete segments whose events all have ids below ``event_id`` (retention)."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM segments WHERE last_id < ?", (event_id,))

    def close(self) -> None:
        """Close the file (committed data is already safe)."""
        self._conn.close()


def _readable_segments(conn: sqlite3.Connection, order: str) -> list[tuple[int, str]]:
    """The segments a damaged file still gives, read in ``order`` of id until the first error."""
    found: list[tuple[int, str]] = []
    try:
        for first_id, text in conn.execute(f"SELECT first_id, events FROM segments ORDER BY first_id {order}"):
            found.append((first_id, text))
    except sqlite3.Error:  # a damaged page: the other direction reads what lies beyond it
        pass
    return found
