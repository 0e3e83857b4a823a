"""A damaged events file never stops the Foundation: the file is named, what can be read is kept,
the rest is set aside (never deleted), and the new events go on being stored."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from services import with_foundation

import scope_ext as sx
from scope_ext.foundation_layer._event_db import EventDB


def _write_events(path: Path, batches: int = 6, per_batch: int = 50) -> None:
    db = EventDB(path)
    next_id, now = 1, time.time() - 60
    for b in range(batches):
        rows = [
            (next_id + i, "old", now + b, "production", None, None, None, {"n": next_id + i}) for i in range(per_batch)
        ]
        db.write([row[:7] for row in rows], [row[7] for row in rows])
        next_id += per_batch
    db.close()


async def _report(rt, f):
    """What a Foundation on the file reports and keeps, and whether it stores new events."""
    recovered = await f.events.query(types="scope.events.recovered")
    old = await f.events.query(types="old")
    await f.events.store("new", {"ok": True})
    await f.events.flush()
    return recovered, old


def _reopened_new(path: Path) -> int:
    async def count(rt, f):
        return len(await f.events.query(types="new"))

    return with_foundation(count, **{"events.path": str(path)})


def test_a_file_that_is_not_a_database_is_set_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "events.sqlite"
    garbage = b"this is not SQLite {} '\\x00\n" * 500
    path.write_bytes(garbage)
    recovered, old = with_foundation(_report, **{"events.path": str(path)})
    assert old == [] and len(recovered) == 1
    report = recovered[0].data
    assert report["path"] == str(path) and str(path) in report["message"]
    assert Path(report["set_aside"]).read_bytes() == garbage  # nothing lost: moved, not deleted
    assert _reopened_new(path) == 1  # the new file works and is kept


def test_segments_that_do_not_decode_are_set_aside_and_the_rest_restored(tmp_path):
    path = tmp_path / "events.sqlite"
    _write_events(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE segments SET events = '{\"count\": 3, broken' WHERE first_id = 101")
    conn.execute("UPDATE segments SET events = '[1, 2]' WHERE first_id = 201")
    conn.commit()
    conn.close()
    recovered, old = with_foundation(_report, **{"events.path": str(path)})
    assert [e.data["n"] for e in old] == [n for n in range(1, 301) if not (101 <= n < 151 or 201 <= n < 251)]
    assert recovered[0].data["bad_segments"] == 2 and recovered[0].data["set_aside"] is None
    conn = sqlite3.connect(path)
    kept = conn.execute("SELECT first_id, events FROM set_aside ORDER BY first_id").fetchall()
    conn.close()
    assert [first for first, _ in kept] == [101, 201] and kept[1][1] == "[1, 2]"
    assert _reopened_new(path) == 1


def test_a_malformed_database_image_keeps_every_segment_still_readable(tmp_path):
    path = tmp_path / "events.sqlite"
    _write_events(path, batches=40, per_batch=200)  # several pages of segments
    size = path.stat().st_size
    with open(path, "r+b") as file:  # scribble over a page in the middle of the table
        file.seek((size // 4096 // 2) * 4096)
        file.write(b"\xff" * 4096)
    recovered, old = with_foundation(_report, **{"events.path": str(path)})
    assert len(recovered) == 1, "the damage was reported"
    report = recovered[0].data
    ids = [e.data["n"] for e in old]
    assert report["kept_events"] == len(ids) and ids == sorted(ids)
    assert 0 < len(ids) < 8000 and ids[0] == 1 and ids[-1] == 8000  # both ends of the damage are kept
    assert report["set_aside"] is not None and Path(report["set_aside"]).exists()
    assert _reopened_new(path) == 1


def test_a_path_that_cannot_be_opened_is_an_error_naming_it_and_is_left_alone(tmp_path):
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(sx.EventDBError, match="a folder"):
        EventDB(folder)
    assert folder.is_dir() and list(tmp_path.iterdir()) == [folder]
