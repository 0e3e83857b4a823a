"""The parser service: index runs and grep searches on a pool of worker processes."""

from __future__ import annotations

import itertools
import os
import time
from typing import TYPE_CHECKING, Any

import trio

from ..runtime._exceptions import NotRunning, ServiceExited
from ..runtime._process import Refused
from ..runtime._service import Service, call
from ..runtime._task_supervisor import task_map
from ._errors import CodeError
from ._files import discover, stat_paths, storable
from ._grep import Match
from ._index_run import IndexRun
from ._repository import IndexedFile, index_files
from ._requests import _Bulk, _Forget, _Grep, _Index, _Known, _Reserve, _Resolve, _Write
from ._worker_pool import DaskPool, WorkerPool

if TYPE_CHECKING:
    from ._layer import CodeLayer

CHUNK_FILES = 16
#: An incremental run of at most this many files parses in the kernel's process, through the
#: tree cache, instead of the worker pool.
LOCAL_FILES = 8


class ParserService(Service):
    """Runs index runs with a pool of worker processes (kept warm between runs)."""

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.pool: WorkerPool | DaskPool | None = None
        self.runs = itertools.count(1)
        self.start_soon(self._warm)

    async def _warm(self) -> None:
        """Start the local workers now, so the first run does not wait for them."""
        if self.layer.foundation.config.get(("code", "parser", "dask")) is None:
            await (await self._workers()).warm()  # type: ignore[union-attr]

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is _Grep:
            try:
                return await self._grep(request)
            except CodeError as exc:  # the search failed, not the service (an index run may be under way)
                return Refused(exc)
        if type(request) is not _Index:
            return Service.handle_call(self, request, caller)
        run = IndexRun(next(self.runs), self.layer.root)
        self.start_soon(self._run, run, request.paths)
        return run

    async def _grep(self, request: _Grep) -> list[Match]:
        pool = await self._workers()
        chunks = [request.paths[i : i + CHUNK_FILES * 4] for i in range(0, len(request.paths), CHUNK_FILES * 4)]

        async def search(chunk: list[str]) -> list[Match]:
            return await pool.run(("grep", request.pattern, chunk))  # type: ignore[no-any-return]

        matches: list[Match] = []
        async with task_map(
            self.layer.namespace.via("code.tasks"), search, chunks, max_concurrency=pool.size
        ) as results:
            async for result in results:
                if not result.ok:
                    raise CodeError(f"a search worker failed: {result.error!r}") from result.error
                matches.extend(result.value)
        return matches

    async def _workers(self) -> WorkerPool | DaskPool:
        """The pool for the current settings: ``code.parser.dask`` (a scheduler address) or
        ``code.parser.max_workers`` local processes; a change of either replaces it."""
        config = self.layer.foundation.config
        address = config.get(("code", "parser", "dask"))
        size = config.get(("code", "parser", "max_workers"))
        current = self.pool
        if isinstance(current, DaskPool) and current.address == address:
            return current
        if isinstance(current, WorkerPool) and address is None and current.size == size:
            return current
        if current is not None:
            await current.aclose()
        self.pool = DaskPool(address) if address is not None else WorkerPool(size)
        if isinstance(self.pool, DaskPool):
            await self.pool._connect()
        return self.pool

    async def _run(self, run: IndexRun, paths: list[str] | None) -> None:
        layer = self.layer
        f = layer.foundation
        f.report("scope.code.index.started", {"root": run.root, "run": run.id})
        outcome = "failed"  # the run's status changes once, when everything below is over
        try:
            repo = layer.namespace.via("code.repository")
            bulk = paths is None and await call(repo, _Bulk(True), None)
            try:
                with run._scope:
                    changed = await self._index(run, paths)
                if run.files_done or run.files_removed:  # something changed: resolve imports again
                    scope = None if paths is None or run._scope.cancelled_caught else changed
                    await call(layer.namespace.via("code.analysis"), _Resolve(scope), None)
                    layer.changed()
                outcome = "cancelled" if run._scope.cancelled_caught else "done"
            finally:
                if bulk:  # after resolving: updating rows is cheaper before their indexes exist
                    with trio.CancelScope(shield=True):
                        await call(repo, _Bulk(False), None)
        except (NotRunning, ServiceExited) as exc:  # a service it needs stopped under it: the layer stops
            outcome, run.error = "failed", CodeError(f"the index run was interrupted: {exc}")
            run.error.__cause__ = exc
        except Exception as exc:  # the run failed, not the service: the caller sees it through the run
            outcome, run.error = "failed", exc
        finally:
            if outcome == "failed" and run.error is None:  # cancelled from outside: the service is stopping
                run.error = CodeError("the index run was interrupted: the parser service stopped")
            run.finished = time.time()
            run.status = outcome
            run._done.set()
            f.report(
                "scope.code.index.finished",
                {
                    "root": run.root,
                    "run": run.id,
                    "status": run.status,
                    "files": run.files_done,
                    "skipped": run.files_skipped,
                    "removed": run.files_removed,
                    "errors": run.errors,
                    "seconds": round(run.finished - run.started, 3),
                    "error": None if run.error is None else f"{type(run.error).__name__}: {run.error}",
                },
            )

    async def _index(self, run: IndexRun, paths: list[str] | None) -> list[str]:
        """Index the root (or just ``paths``); returns the relative paths that changed."""
        layer = self.layer
        repo = layer.namespace.via("code.repository")
        root = layer.root
        if paths is None:
            found = await trio.to_thread.run_sync(discover, layer.files)
            known: dict[str, tuple[int, int, str]] = await call(repo, _Known(), None)
            current = {os.path.relpath(p, root): p for p in found.files}
            gone = [rel for rel in known if rel not in current]
        else:
            found = await trio.to_thread.run_sync(stat_paths, paths)
            current = {os.path.relpath(p, root): p for p in paths if p in found.files}
            gone = [os.path.relpath(p, root) for p in paths if p not in found.files and storable(p)]
            known = {}
        stats = found.files
        for loop in found.loops:
            layer.foundation.report("scope.code.file.failed", {"path": loop, "line": None, "message": "symlink loop"})
        for name in found.bad_names:
            layer.foundation.report(
                "scope.code.file.failed",
                {"path": name, "line": None, "message": "the file name is not valid UTF-8 (renamed, it is indexed)"},
            )
        if gone:
            run.files_removed = await call(repo, _Forget(gone), None)
            for rel in gone:
                layer.trees.forget(os.path.join(root, rel))
        todo = [
            path
            for rel, path in current.items()
            if known.get(rel, (None, None, None))[:2] != stats[path] or stats[path][0] < 0
        ]
        run.files_skipped = len(current) - len(todo)
        run.files_total = len(todo)
        changed = gone + [os.path.relpath(p, root) for p in todo]
        if not todo:
            return changed
        local = paths is not None and len(todo) <= LOCAL_FILES
        pool = None if local else await self._workers()
        todo.sort(key=lambda p: -stats[p][0])  # biggest first: no straggler at the end
        first_id = await call(repo, _Reserve(len(todo)), None)
        numbered = list(zip(todo, range(first_id, first_id + len(todo)), strict=True))
        chunks = [numbered[i : i + CHUNK_FILES] for i in range(0, len(numbered), CHUNK_FILES)]
        strict = layer.foundation.config.get("code.parser.strict")
        telemetry = layer.foundation.telemetry

        queued = len(chunks)

        async def parse(chunk: list[tuple[str, int]]) -> list[IndexedFile]:
            nonlocal queued
            queued -= 1
            telemetry.execute("scope.code.parse.queue", {"chunks": queued}, {"root": root, "run": run.id})
            with telemetry.span("scope.code.parse.chunk", {"root": root, "files": len(chunk)}):
                if pool is None:
                    return await trio.to_thread.run_sync(index_files, root, chunk, strict, layer.trees)
                return await pool.run(("index", root, chunk, strict))  # type: ignore[no-any-return]

        async with task_map(
            layer.namespace.via("code.tasks"), parse, chunks, max_concurrency=pool.size if pool else 1, ordered=False
        ) as results:
            async for result in results:
                if not result.ok:
                    raise CodeError(f"a parser worker failed: {result.error!r}") from result.error
                indexed: list[IndexedFile] = result.value
                await call(repo, _Write([(fa, stats[fa.path][1]) for fa in indexed]), None)
                failed = [(fa.path, fa.error) for fa in indexed if fa.error is not None]
                for path, error in failed:
                    layer.foundation.report(
                        "scope.code.file.failed", {"path": path, "line": error.line, "message": error.message}
                    )
                run.errors += len(failed)
                run.files_done += len(indexed)
                run.bytes_done += sum(fa.size for fa in indexed)
                telemetry.execute(
                    "scope.code.parse.progress",
                    {
                        "files": run.files_done,
                        "total": run.files_total,
                        "bytes": run.bytes_done,
                        "rate": run.rate,
                        "eta": run.eta or 0.0,
                    },
                    {"root": root, "run": run.id},
                )
        return changed

    async def terminate(self, reason: Any) -> None:
        if self.pool is not None:
            await self.pool.aclose()
