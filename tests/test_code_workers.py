"""Parser worker processes: cancellation kills a worker's job, and workers import only the parser."""

from __future__ import annotations

import subprocess
import sys

import trio

from scope_ext.code._worker_pool import WorkerPool


def test_worker_pool_kills_a_worker_whose_job_is_cancelled(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")

    async def main():
        pool = WorkerPool(1)
        one = [(str(tmp_path / "a.py"), 1)]
        indexed = await pool.run(("index", str(tmp_path), one))
        assert indexed[0].module == "a" and pool.workers == 1
        with trio.move_on_after(0.001):
            await pool.run(("index", str(tmp_path), one * 2000))
        assert pool.workers == 0  # killed mid-job, replaced on demand
        assert (await pool.run(("index", str(tmp_path), one)))[0].error is None
        await pool.aclose()
        assert pool.workers == 0

    trio.run(main)


def test_workers_import_the_parser_without_the_runtime():
    from scope_ext.code._worker_pool import WORKER_PROGRAM

    # The worker's own program: serve() returns at the end of its (empty) input, then we look.
    shown = subprocess.run(
        [sys.executable, "-c", WORKER_PROGRAM + "; print(sorted(sys.modules))"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'scope_ext.code._repository'" in shown and "'tree_sitter'" in shown
    assert "'trio'" not in shown and "'IPython'" not in shown and "'scope_ext.runtime._runtime'" not in shown
