"""Code-layer scale benchmark: ten copies of the standard library in one index.

The anchor is one copy, indexed in the same run: ten copies (about 18,000 files) should take at
most 10.5 times as long (facts and call resolution alike), keep the kernel's memory within
300 MB, and answer the everyday queries within 20 ms (median, answer cache defeated). With
``--dask`` the ten copies are also indexed on a Dask ``LocalCluster`` (2 workers), and every
answer must equal the local one. Needs the ``bench`` extra for ``--dask``.

    python bench/code_scale.py [--quick] [--dask]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from code import corpus, corpus_folder, timed_queries
from typing import Any

from _report import Rows, run_bench

import scope_ext as sx
from scope_ext import start_code_layer
from scope_ext.foundation_layer._memory import resident_bytes

COPIES = 10
QUERIES = (
    "functions where complexity > 10 order by complexity desc limit 20",
    "functions where name = 'dumps'",
    "callers of c3.json.dumps",
    "callees of c3.json.dumps",
    "classes deriving from Exception",
    "subclasses of c3.unittest.case.TestCase",
    "references to c3.json.decoder.JSONDecoder",
    "unused functions in c3.json",
    "unused classes",
)


async def index(
    folder: str, path: str, dask: str | None = None
) -> tuple[float, int, dict[str, tuple[float, list[tuple[Any, ...]]]]]:
    """Index ``folder`` with call resolution: (seconds, kernel memory after, each query's median
    time in ms and its rows)."""
    async with sx.open_runtime(foundation=True) as rt:
        code = await start_code_layer(rt.production, folder, index_path=path, dask=dask)
        start = time.perf_counter()
        await (await code.index()).wait()
        await code.resolved()
        seconds = time.perf_counter() - start
        memory = resident_bytes()
        answers = await timed_queries(code, QUERIES)
    return seconds, memory, answers


async def bench(quick: bool) -> Rows:
    root, files = corpus(quick)
    with tempfile.TemporaryDirectory() as tmp:
        one = corpus_folder(root, files, os.path.join(tmp, "one", "c3"))
        many = os.path.join(tmp, "many")
        for copy in range(COPIES):
            corpus_folder(root, files, os.path.join(many, f"c{copy}"))
        single_s, _, _ = await index(os.path.dirname(one), os.path.join(tmp, "one.sqlite"))
        many_s, memory, answers = await index(many, os.path.join(tmp, "many.sqlite"))
        rows: Rows = [
            (
                f"{COPIES} copies ({len(files) * COPIES:,} files) {many_s:.1f} s, one copy {single_s:.1f} s: "
                f"{many_s / single_s:.2f}x (target <= 10.5x)",
                many_s <= 10.5 * single_s,
            ),
            (f"kernel memory after indexing {memory / 1e6:.0f} MB (target <= 300 MB)", memory <= 300e6),
        ]
        for query in QUERIES:
            ms = answers[query][0]
            rows.append((f"query {query[:52]:<52} {ms:>6.1f} ms (median, uncached; target <= 20 ms)", ms <= 20))
        if DASK:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                dask_s, _, dask_answers = await index(many, os.path.join(tmp, "dask.sqlite"), cluster.scheduler_address)
            same = all(dask_answers[q][1] == answers[q][1] for q in QUERIES)
            rows.append((f"on a Dask LocalCluster {dask_s:.1f} s: the same answers (target: all)", same))
    return rows


#: Also index on a Dask LocalCluster and compare (``--dask``).
DASK = "--dask" in sys.argv

if __name__ == "__main__":
    if DASK:
        sys.argv.remove("--dask")
    run_bench("code scale", __doc__.splitlines()[0], bench)
