"""Parsing on a Dask cluster (a real LocalCluster on this machine) gives the same index and the
same resolved calls."""

from __future__ import annotations

import pytest

import scope_ext as sx


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield local.scheduler_address
    local.close()


def index(root, **options):
    async def main(rt):
        await sx.start_foundation(rt.production)
        code = await sx.start_code_layer(rt.production, root, **options)
        run = await (await code.index()).wait()
        await code.resolved()
        rows = await code.sql("SELECT fullname, complexity FROM functions ORDER BY fullname")
        rows += await code.sql("SELECT caller, target, lineno FROM edges ORDER BY caller, target, lineno")
        return run, rows

    return sx.run(main)


def test_dask_cluster_parses_like_local_workers(tmp_path, cluster):
    for i in range(40):  # each calls the one before through a callback: resolution sees it
        (tmp_path / f"m{i}.py").write_text(
            f"def f{i}(x):\n    if x:\n        return {i}\n    return 0\n"
            + (f"from m{i - 1} import f{i - 1}\ndef g{i}(run=f{i - 1}):\n    return run(1)\n" if i else "")
        )
    (tmp_path / "bad.py").write_text("def broken(:\n")
    local_run, local_rows = index(tmp_path)
    dask_run, dask_rows = index(tmp_path, dask=cluster)
    assert dask_rows == local_rows and len(dask_rows) == 79 + 39  # functions, then resolved calls
    assert ("m7.g7", "m6.f6", 7) in local_rows
    assert (dask_run.files_done, dask_run.errors) == (local_run.files_done, local_run.errors) == (41, 1)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")

    async def main(rt):
        await sx.start_foundation(rt.production)
        code = await sx.start_code_layer(rt.production, tmp_path, dask="tcp://127.0.0.1:9")
        run = await code.index()
        with pytest.raises(sx.ScopeError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
            await run.wait()
        assert run.status == "failed"
        parser = rt.production.whereis("code.parser")
        (finished,) = await sx.foundation().events.query(types="scope.code.index.finished")
        assert finished.data["status"] == "failed" and "cannot reach" in finished.data["error"]
        await sx.foundation().config.update("code.parser.dask", None)  # back to local workers
        assert (await (await code.index()).wait()).files_done == 1
        assert rt.production.whereis("code.parser") is parser  # a failed run is not a crash

    sx.run(main)
