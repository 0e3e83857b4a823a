"""A hostile-file corpus: FIFOs, sockets and folders named like modules, names that are not UTF-8,
virtual environments and node_modules. None of them hangs, breaks or pollutes an index run, full or
incremental (watch mode), and each file that cannot be indexed says why."""

from __future__ import annotations

import os
import socket

import trio
from code_project import with_code

import scope_ext as sx


def hostile_tree(root) -> None:
    root.mkdir(exist_ok=True)
    (root / "good.py").write_text("def fine():\n    return 1\n")
    os.mkfifo(root / "pipe.py")  # reading it would wait for a writer forever
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock.py"))
    server.close()
    (root / "folder.py").mkdir()  # a folder named like a module, holding no Python
    (root / "folder.py" / "notes.txt").write_text("not python\n")
    (root / "folder.py" / "inside.py").write_text("def inner():\n    pass\n")  # a real module in it
    os.makedirs(os.fsencode(root) + b"/latin", exist_ok=True)
    with open(os.fsencode(root) + b"/latin/caf\xe9.py", "wb") as file:  # not UTF-8
        file.write(b"def x():\n    pass\n")
    for folder in (".venv/lib", "node_modules/pkg", ".tox/py311", "build.egg-info"):
        (root / folder).mkdir(parents=True)
        (root / folder / "vendored.py").write_text("def vendored():\n    pass\n")


def test_a_full_run_indexes_what_it_can_and_says_why_for_the_rest(tmp_path):
    hostile_tree(tmp_path)

    async def main(rt, code):
        with trio.fail_after(60):  # a FIFO read would hang here for good
            run = await (await code.index()).wait()
        assert run.status == "done"
        rows = dict(await code.sql("SELECT path, error FROM modules ORDER BY path"))
        assert rows == {
            "folder.py/inside.py": None,
            "good.py": None,
            "pipe.py": "not a regular file (a FIFO, socket or device)",
            "sock.py": "not a regular file (a FIFO, socket or device)",
        }
        failed = await sx.foundation().events.query(types="scope.code.file.failed")
        assert any("caf\\xe9.py" in e.data["path"] and "not valid UTF-8" in e.data["message"] for e in failed)
        again = await (await code.index()).wait()  # incremental: nothing changed, nothing breaks
        assert again.status == "done" and again.files_done == 2  # the two error entries are retried

    with_code(tmp_path, main)


def test_watch_mode_meets_the_same_files_without_breaking(tmp_path):
    (tmp_path / "good.py").write_text("def fine():\n    return 1\n")

    async def main(rt, code):
        await (await code.index()).wait()
        hostile_tree(tmp_path / "later")
        (tmp_path / "later" / "marker.py").write_text("def marker():\n    pass\n")
        await until(code, "later/marker.py")
        paths = {path for (path,) in await code.sql("SELECT path FROM modules")}
        assert not [p for p in paths if "vendored" in p or p.endswith("notes.txt")]
        with open(os.fsencode(tmp_path) + b"/na\xefve.py", "wb") as file:  # watchfiles cannot decode it
            file.write(b"x = 1\n")
        await trio.sleep(0.3)
        (tmp_path / "after.py").write_text("def after():\n    pass\n")
        await until(code, "after.py")
        os.rename(tmp_path / "later", tmp_path / "moved")  # a folder moves: its modules move with it
        await until(code, "moved/marker.py")
        paths = {path for (path,) in await code.sql("SELECT path FROM modules")}
        assert not [p for p in paths if p.startswith("later/")]
        assert not rt.crashes

    with_code(tmp_path, main, watch=True)


async def until(code, path: str) -> None:
    with trio.fail_after(30):
        while (path,) not in await code.sql("SELECT path FROM modules"):
            await trio.sleep(0.05)
