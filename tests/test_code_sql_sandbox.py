"""SQL over the code index reads and nothing else, within bounds: no files made or attached, no
writes, no functions with side effects; a runaway query stops at its time limit or when its caller
is cancelled; results keep at most code.sql.max_rows rows (and say so) and refuse oversized values."""

from __future__ import annotations

import time

import pytest
import trio
from code_project import with_code

import scope_ext as sx

FOREVER = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH DATABASE '{tmp}/attached.db' AS other",
        "VACUUM INTO '{tmp}/copy.db'",
        "VACUUM",
        "DELETE FROM modules",
        "INSERT INTO modules (path, name) VALUES ('x', 'x')",
        "UPDATE modules SET name = 'x'",
        "CREATE TABLE planted (x)",
        "DROP TABLE modules",
        "PRAGMA writable_schema = ON",
        "PRAGMA journal_mode = DELETE",
        "SELECT fts3_tokenizer('simple')",
        "SELECT load_extension('/lib/x.so')",
        "BEGIN",
    ],
)
def test_sql_that_would_change_anything_is_refused_and_makes_no_file(tmp_path, sql):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("def f():\n    return 1\n")

    async def main(rt, code):
        await (await code.index()).wait()
        before = await code.sql("SELECT count(*) FROM modules")
        with pytest.raises(sx.CodeError, match="SQL (refused|error)"):
            await code.sql(sql.format(tmp=tmp_path))
        assert await code.sql("SELECT count(*) FROM modules") == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]

    with_code(tmp_path / "src", main)


def test_reading_the_schema_and_recursive_queries_are_allowed(tmp_path):
    async def main(rt, code):
        columns = [row[1] for row in await code.sql("PRAGMA table_info(modules)")]
        assert "path" in columns
        assert await code.sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 5) SELECT sum(i) FROM n"
        ) == [(15,)]

    with_code(tmp_path, main)


def test_a_runaway_query_stops_at_its_time_limit_and_the_layer_goes_on(tmp_path):
    async def main(rt, code):
        await sx.foundation().config.update("code.sql.timeout", 0.2)
        with pytest.raises(sx.CodeError, match=r"ran past code.sql.timeout \(0.2 s\)"):
            await code.sql(FOREVER)
        assert await code.sql("SELECT 1") == [(1,)]
        assert not rt.crashes

    with_code(tmp_path, main)


def test_a_cancelled_query_returns_at_once_and_stops_its_thread(tmp_path):
    async def main(rt, code):
        started = time.monotonic()
        with trio.move_on_after(0.2):
            await code.sql(FOREVER)  # the default time limit is 10 s
        assert time.monotonic() - started < 5  # returned at the cancellation, not at the limit
        await trio.sleep(0.2)
        cpu = time.process_time()
        await trio.sleep(0.5)
        assert time.process_time() - cpu < 0.3  # nothing left spinning in a worker thread

    with_code(tmp_path, main)


def test_results_are_capped_in_rows_and_in_value_size(tmp_path):
    async def main(rt, code):
        f = sx.foundation()
        await f.config.update_many({"code.sql.max_rows": 10, "code.sql.max_bytes": 4096})
        table = await code.table(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100) SELECT i FROM n"
        )
        assert len(table) == 10 and table.truncated
        assert "the first 10 rows; the rest were cut" in repr(table)
        small = await code.table("SELECT 1 AS one")
        assert not small.truncated and repr(small).endswith("1 row>")
        with pytest.raises(sx.CodeError, match="too big"):
            await code.sql("SELECT randomblob(1000000000)")

    with_code(tmp_path, main)


def test_a_capped_query_says_so_and_grep_still_searches_every_file(tmp_path):
    for i in range(15):
        (tmp_path / f"m{i}.py").write_text(f"items = []\n\n\ndef f{i}():\n    items.append({i})\n")

    async def main(rt, code):
        await sx.foundation().config.update("code.sql.max_rows", 10)
        await (await code.index()).wait()
        functions = await code.query("functions")
        assert len(functions) == 10 and functions.truncated  # cut, and it says so
        matches = await code.grep("$X.append($Y)")
        assert len(matches) == 15  # the files to search are ours to read, not a capped result

    with_code(tmp_path, main)
