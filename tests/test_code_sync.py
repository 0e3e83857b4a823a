"""The sync service: watching re-indexes created, modified, deleted and renamed files."""

from __future__ import annotations

import trio
from code_project import with_code

import scope_ext as sx


def test_watching_reindexes_created_modified_deleted_and_renamed_files(tmp_path):
    (tmp_path / "a.py").write_text("def first():\n    pass\n")

    async def functions(code):
        return sorted(name for (name,) in await code.sql("SELECT fullname FROM functions"))

    async def until(code, expected):
        with trio.fail_after(10):
            while await functions(code) != expected:
                await trio.sleep(0.02)

    async def main(rt, code):
        await (await code.index()).wait()
        await until(code, ["a.first"])
        await trio.sleep(0.2)  # the watcher is up
        (tmp_path / "b.py").write_text("def second():\n    pass\n")
        await until(code, ["a.first", "b.second"])
        (tmp_path / "a.py").write_text("def first_changed():\n    pass\n")
        await until(code, ["a.first_changed", "b.second"])
        (tmp_path / "b.py").rename(tmp_path / "c.py")
        await until(code, ["a.first_changed", "c.second"])
        (tmp_path / ".gitignore").write_text("c.py\n")
        (tmp_path / "c.py").write_text("def ignored():\n    pass\n")
        (tmp_path / "a.py").unlink()
        await until(code, [])  # a.py deleted; c.py newly ignored, so forgotten
        changes = await sx.foundation().events.query(types="scope.code.change.seen")
        assert len(changes) >= 4

    with_code(tmp_path, main, watch=True)
