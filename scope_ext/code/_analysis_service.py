"""The analysis service: resolution after index runs, and graph questions."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from typing import TYPE_CHECKING, Any

import trio

from ..runtime._service import Service, call
from ..runtime._task_supervisor import start_task
from ._analysis import cycles, module_graph, shortest_path, unused
from ._requests import _Ask, _Flows, _Resolve, _Resolved
from ._worker_pool import WorkerFailed, WorkerPool

if TYPE_CHECKING:
    from ._layer import CodeLayer


class AnalysisService(Service):
    """Resolves imports and calls after index runs; answers graph questions (cycles, unused).

    Imports are resolved before a run ends. Calls need a whole-program analysis, which runs after
    it in the background, in a worker process of its own (its memory goes when it ends): runs that
    end while one is under way coalesce into one more.
    """

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.again = False  # a run ended while calls were being resolved: resolve once more

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is _Resolve:
            counts = await call(self.layer.namespace.via("code.repository"), request, None)
            if self.layer.calls_idle.is_set():
                self.layer.calls_idle = trio.Event()
                try:
                    await start_task(self.layer.namespace.via("code.tasks"), self._resolve_calls)
                except BaseException:
                    self.layer.calls_idle.set()
                    raise
            else:
                self.again = True
            return counts
        if type(request) is _Ask:
            kind, prefix = request.text.split(":", 1)
            return await self.layer._read(lambda conn: _answer(conn, kind, prefix))
        return Service.handle_call(self, request, caller)

    async def _resolve_calls(self) -> None:
        layer = self.layer
        repo = layer.namespace.via("code.repository")
        try:
            while True:
                self.again = False
                started = time.perf_counter()
                # A file index is read by the worker itself; one in memory is only ours to read.
                source = await call(repo, _Flows(), None) if "mode=memory" in layer.index_uri else layer.index_uri
                with tempfile.TemporaryDirectory(prefix="scope_ext_calls_") as folder:
                    out = os.path.join(folder, "resolved.sqlite")
                    pool = WorkerPool(1)
                    try:
                        await pool.run(("resolve", source, out))
                    except WorkerFailed as exc:  # calls as written still answer; the next run tries again
                        layer.foundation.report("scope.code.calls.failed", {"root": layer.root, "error": str(exc)})
                        return
                    finally:
                        with trio.CancelScope(shield=True):
                            await pool.aclose()
                    del source
                    edges = await call(repo, _Resolved(out), None)
                layer.foundation.report(
                    "scope.code.calls.resolved",
                    {"root": layer.root, "edges": edges, "seconds": round(time.perf_counter() - started, 3)},
                )
                if not self.again:
                    return
        finally:
            layer.calls_idle.set()


def _answer(conn: sqlite3.Connection, kind: str, argument: str) -> list[tuple[Any, ...]]:
    """A question only analysis answers: import cycles, a path of calls, unused candidates."""
    if kind == "cycles":
        return [(i + 1, " -> ".join(cycle)) for i, cycle in enumerate(cycles(module_graph(conn)))]
    if kind == "path":
        return shortest_path(conn, *argument.split(" "))
    return unused(conn, "class" if kind == "unused classes" else "function", argument)
