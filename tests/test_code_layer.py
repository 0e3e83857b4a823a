"""Code layer: indexing a tree with worker processes, incremental re-index, read-only SQL, caching, telemetry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio
from code_project import with_code

import scope_ext as sx
from scope_ext import CodeError, start_code_layer


def make_tree(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("from .core import run\n")
    (root / "pkg" / "core.py").write_text(
        "import json\n\nclass Engine(Exception):\n    def go(self, x):\n        if x:\n            return json.dumps(x)\n"
        "\n\ndef run():\n    return Engine().go(1)\n"
    )
    (root / "pkg" / "sub" / "broken.py").write_text("def nope(:\n")
    (root / "pkg" / "sub" / "binary.py").write_bytes(b"\x00\x01")
    (root / "pkg" / "ignored_by_git.py").write_text("x = 1\n")
    (root / ".gitignore").write_text("ignored_by_git.py\n")
    (root / "notes.txt").write_text("not python\n")
    os.symlink(root / "pkg", root / "pkg" / "sub" / "loop")  # a folder symlink back up: a loop


def test_index_records_facts_errors_and_skips_what_it_should(tmp_path):
    make_tree(tmp_path)

    async def main(rt, code):
        run = await (await code.index()).wait()
        assert (run.status, run.files_total, run.files_done, run.errors) == ("done", 4, 4, 2)
        assert await code.sql("SELECT path FROM modules ORDER BY path") == [
            ("pkg/__init__.py",),
            ("pkg/core.py",),
            ("pkg/sub/binary.py",),
            ("pkg/sub/broken.py",),
        ]
        errors = dict((path, (line, message)) for path, _, line, message in await code.sql("SELECT * FROM errors"))
        assert errors["pkg/sub/broken.py"][0] == 1 and "binary" in errors["pkg/sub/binary.py"][1]
        assert await code.sql("SELECT fullname, complexity, class FROM functions ORDER BY fullname") == [
            ("pkg.core.Engine.go", 2, "Engine"),
            ("pkg.core.run", 1, None),
        ]
        assert await code.sql(
            "SELECT c.fullname FROM classes c JOIN class_bases b ON b.class_id = c.id WHERE b.base = ?", ["Exception"]
        ) == [("pkg.core.Engine",)]
        assert ("pkg.core.Engine.go", "json.dumps") in await code.sql("SELECT caller, callee FROM calls")
        f = sx.foundation()
        failed = await f.events.query(types="scope.code.file.failed")
        assert {e.data["message"] for e in failed} >= {"symlink loop"}
        (finished,) = await f.events.query(types="scope.code.index.finished")
        assert finished.data["files"] == 4 and finished.data["errors"] == 2

    with_code(tmp_path, main)


def test_reindex_parses_only_changed_files_and_forgets_removed_ones(tmp_path):
    make_tree(tmp_path)
    index = tmp_path / "index.sqlite"

    async def first(rt, code):
        await (await code.index()).wait()

    async def second(rt, code):
        run = await (await code.index()).wait()
        assert (run.files_skipped, run.files_done) == (4, 0)  # reopened: nothing to parse
        core = tmp_path / "pkg" / "core.py"
        core.write_text(core.read_text() + "\ndef added():\n    pass\n")
        (tmp_path / "pkg" / "sub" / "broken.py").unlink()
        run = await (await code.index()).wait()
        assert (run.files_done, run.files_removed, run.files_skipped) == (1, 1, 2)
        assert ("pkg.core.added",) in await code.sql("SELECT fullname FROM functions")
        assert await code.sql("SELECT count(*) FROM errors") == [(1,)]

    with_code(tmp_path, first, index_path=index, exclude=["index.sqlite*"])
    with_code(tmp_path, second, index_path=index, exclude=["index.sqlite*"])


def test_sql_is_read_only_and_errors_are_clear(tmp_path):
    make_tree(tmp_path)

    async def main(rt, code):
        await (await code.index()).wait()
        with pytest.raises(CodeError, match="SQL refused: not authorized"):
            await code.sql("DELETE FROM functions")
        with pytest.raises(CodeError, match="no such table: funcs"):
            await code.sql("SELECT * FROM funcs")
        assert await code.sql("SELECT count(*) FROM functions") == [(2,)]

    with_code(tmp_path, main)


def test_a_bad_root_is_refused(tmp_path):
    async def main(rt):
        await sx.start_foundation(rt.production)
        with pytest.raises(CodeError, match="not a folder"):
            await start_code_layer(rt.production, tmp_path / "missing")

    sx.run(main)


def test_cancelling_a_run_keeps_what_was_indexed(tmp_path):
    for i in range(200):
        (tmp_path / f"m{i}.py").write_text("def f():\n    return 1\n" * 200)

    async def main(rt, code):
        run = await code.index()
        while run.files_done == 0:
            await trio.sleep(0.01)
        run.cancel()
        await run.wait()
        assert run.status == "cancelled" and 0 < run.files_done < 200
        again = await (await code.index()).wait()  # only what the cancelled run did not finish
        assert again.files_skipped >= run.files_done and again.files_skipped + again.files_done == 200
        assert await code.sql("SELECT count(*) FROM modules") == [(200,)]

    with_code(tmp_path, main)


def test_old_index_files_are_refused_clearly(tmp_path):
    import sqlite3

    (tmp_path / "a.py").write_text("x = 1\n")
    index = tmp_path / "old.sqlite"

    async def first(rt, code):
        await (await code.index()).wait()

    with_code(tmp_path, first, index_path=index, exclude=["old.sqlite*"])
    conn = sqlite3.connect(index)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()

    async def second(rt):
        await sx.start_foundation(rt.production)
        with pytest.raises(sx.StartError, match="schema version 0"):
            await start_code_layer(rt.production, tmp_path, index_path=index)

    sx.run(second)


def test_query_results_are_cached_until_the_index_changes(tmp_path):
    (tmp_path / "a.py").write_text("def one():\n    pass\n")

    async def main(rt, code):
        await (await code.index()).wait()
        first = await code.query("functions")
        assert await code.query("functions   ") is first  # same question: served from the cache
        (tmp_path / "a.py").write_text("def one():\n    pass\n\n\ndef two():\n    pass\n")
        await (await code.index()).wait()
        second = await code.query("functions")
        assert second is not first and [r["fullname"] for r in second] == ["a.one", "a.two"]

    with_code(tmp_path, main)


def test_progress_parse_times_and_queue_go_out_as_telemetry(tmp_path):
    for i in range(40):
        (tmp_path / f"m{i}.py").write_text("x = 1\n")

    async def main(rt, code):
        t = sx.foundation().telemetry
        progress = t.last_value("scope.code.parse.progress", "files")
        durations = t.distribution("scope.code.parse.chunk.stop", "duration")
        queue = t.last_value("scope.code.parse.queue", "chunks")
        await (await code.index()).wait()
        assert progress.value == 40 and queue.value == 0
        assert durations.summary().observed == 3 and durations.summary().p50 > 0  # 40 files in chunks of 16

    with_code(tmp_path, main)


def test_readers_query_while_the_writer_indexes(tmp_path):
    for i in range(300):
        (tmp_path / f"m{i}.py").write_text("def f():\n    return 1\n" * 100)

    async def main(rt, code):
        run = await code.index()
        counts = []
        while run.status == "running":
            counts.append((await code.sql("SELECT count(*) FROM modules"))[0][0])
            await trio.sleep(0.01)
        await run.wait()
        assert len(counts) > 3 and counts == sorted(counts)  # reads succeed while writes land
        assert any(0 < c < 300 for c in counts)

    with_code(tmp_path, main, index_path=tmp_path / "i.sqlite", exclude=["i.sqlite*"])


def test_oversized_files_are_error_entries(tmp_path, monkeypatch):
    import scope_ext.code._facts as facts

    monkeypatch.setattr(facts, "MAX_BYTES", 100)
    (tmp_path / "big.py").write_text("x = 1\n" * 50)
    result = facts.facts_of(str(tmp_path), str(tmp_path / "big.py"))
    assert result.error.message == "file too large (300 bytes)"


def test_first_full_index_builds_secondary_indexes_once_at_the_end(tmp_path):
    (tmp_path / "a.py").write_text("import json\n\n\ndef f():\n    return json.dumps(1)\n")

    async def main(rt, code):
        await (await code.index()).wait()
        indexes = {name for (name,) in await code.sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        from scope_ext.code._repository import SECONDARY_INDEXES

        assert {s.split()[5] for s in SECONDARY_INDEXES} <= indexes
        # ANALYZE ran (a one-row table is scanned), and the index serves the lookup when asked to
        assert await code.sql("SELECT count(*) FROM sqlite_stat1 WHERE idx = 'calls_callee_name'") == [(1,)]
        plan = await code.sql(
            "EXPLAIN QUERY PLAN SELECT * FROM calls INDEXED BY calls_callee_name WHERE callee_name = 'dumps'"
        )
        assert "calls_callee_name" in " ".join(str(row) for row in plan)

    with_code(tmp_path, main)


def test_a_run_ends_only_when_its_index_is_ready_and_says_so_when_interrupted(tmp_path):
    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(f"import json\n\n\ndef f{i}():\n    return json.dumps({i})\n")

    async def main(rt, code):
        run = await code.index()
        statuses = []
        while not run._done.is_set():  # the status changes once, when the resolved index is ready
            statuses.append(run.status)
            await trio.sleep(0)
        assert set(statuses) <= {"running"} and run.status == "done" and run.finished is not None
        assert len(await code.query("callers of json.dumps")) == 30
        for i in range(30):  # enough changed files for the worker processes: the run takes a while
            (tmp_path / f"m{i}.py").write_text(f"x = {i}\n")
        second = await code.index()
        await sx.terminate_child(rt.production.root, "code")  # the layer stops under the run
        with pytest.raises(sx.CodeError, match="interrupted"):
            await second.wait()
        assert second.status == "failed"

    with_code(tmp_path, main)


def test_cached_answers_follow_every_change_even_across_a_repository_restart(tmp_path):
    (tmp_path / "a.py").write_text("def one():\n    pass\n")

    async def main(rt, code):
        await (await code.index()).wait()
        assert [r["fullname"] for r in await code.query("functions")] == ["a.one"]  # now cached
        before = code.version
        (layer,) = [c for c in await sx.which_children(rt.production.root) if c.id == "code"]
        await sx.terminate_child(layer.process, "code.repository")
        await sx.restart_child(layer.process, "code.repository")  # a new writer: its counts start over
        (tmp_path / "b.py").write_text("def two():\n    pass\n")
        await (await code.index()).wait()
        assert code.version > before  # the layer's version never goes back
        assert [r["fullname"] for r in await code.query("functions")] == ["a.one", "b.two"]

    with_code(tmp_path, main)


def test_spacing_inside_a_quoted_value_is_part_of_the_value(tmp_path):
    (tmp_path / "m.py").write_text('def f():\n    """two  spaces"""\n\n\ndef g():\n    """two spaces"""\n')

    async def main(rt, code):
        await (await code.index()).wait()
        assert [r["fullname"] for r in await code.query("functions where doc = 'two  spaces'")] == ["m.f"]
        assert [r["fullname"] for r in await code.query("functions  where doc = 'two spaces'")] == ["m.g"]

    with_code(tmp_path, main)
