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


def test_modules_that_come_and_go_change_what_imports_elsewhere_mean(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (tmp_path / "user.py").write_text("from pkg import newmod\n")

    async def importers(code, module):
        return sorted(row[0] for row in (await code.query(f"importers of {module}")).rows)

    async def until(code, module, expected):
        with trio.fail_after(10):
            while await importers(code, module) != expected:
                await trio.sleep(0.02)

    async def main(rt, code):
        await (await code.index()).wait()
        assert await importers(code, "pkg.newmod") == []  # no such module yet: a name in pkg
        await trio.sleep(0.2)  # the watcher is up
        (pkg / "newmod.py").write_text("X = 1\n")  # user.py itself is untouched
        await until(code, "pkg.newmod", ["user"])
        (pkg / "newmod.py").rename(pkg / "other.py")
        await until(code, "pkg.newmod", [])
        await until(code, "pkg", ["user"])

    with_code(tmp_path, main, watch=True)
