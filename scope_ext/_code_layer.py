"""The code layer (L2) of a namespace: index a Python codebase and ask it questions.

``await start_code_layer(ns, root)`` starts a ``code`` supervisor (rest_for_one: repository,
tasks, parser, analysis, query, and sync when watching) under the namespace's root; the namespace needs its Foundation, whose config
(``code.parser.max_workers``), events and telemetry the layer uses. ``code_layer(ns)`` returns
the :class:`CodeLayer` handle:

- ``await code.index()`` starts an index run and returns its :class:`IndexRun` (await
  ``run.wait()``, or ``run.cancel()``); files are parsed in worker processes, in chunks, through
  the task supervisor; unchanged files (same size and modification time) are skipped.
- ``await code.query("functions where complexity > 10 order by complexity desc limit 20")``
  answers a question in the query language (``_code_query``) as a :class:`QueryResult`;
  results are cached until the index changes.
- ``await code.sql(query, params)`` reads the index (read-only).

After every index run the analysis service resolves imports and call targets (``_code_analysis``).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from ._code_analysis import cycles, module_graph, resolve_imports, unused_functions
from ._code_files import FileFilter, discover
from ._code_grep import Match, check_pattern, identifiers
from ._code_query import QueryError, QueryResult, compile_query
from ._code_repository import IndexedFile, Repository, connect, file_uri, index_files
from ._code_trees import TreeCache
from ._code_workers import DaskPool, WorkerPool
from ._exceptions import NamespaceError, ScopeError
from ._namespace import Namespace
from ._registry import namespace_of
from ._service import Service, call
from ._supervisor import ChildSpec, Supervisor
from ._task_supervisor import TaskSupervisor, task_map

if TYPE_CHECKING:
    from ._foundation import Foundation

CHUNK_FILES = 16
#: An incremental run of at most this many files parses in the kernel's process, through the
#: tree cache, instead of the worker pool.
LOCAL_FILES = 8
_memory_indexes = itertools.count(1)


class CodeError(ScopeError):
    """A code-layer request was refused: no layer in the namespace, a bad root, a bad query."""


class IndexRun:
    """One index run: progress counters, ``await wait()``, ``cancel()``."""

    def __init__(self, run_id: int, root: str) -> None:
        self.id = run_id
        self.root = root
        self.status = "running"
        self.files_total = 0
        self.files_done = 0
        self.files_skipped = 0
        self.files_removed = 0
        self.bytes_done = 0
        self.errors = 0
        self.started = time.time()
        self.finished: float | None = None
        self.error: BaseException | None = None
        self._done = trio.Event()
        self._scope = trio.CancelScope()

    def __repr__(self) -> str:
        return (f"<IndexRun {self.id} {self.status}: {self.files_done}/{self.files_total} files, "
                f"{self.errors} errors, {self.files_skipped} unchanged>")

    @property
    def rate(self) -> float:
        """Files per second so far."""
        elapsed = (self.finished or time.time()) - self.started
        return self.files_done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the first files are done)."""
        rate = self.rate
        return (self.files_total - self.files_done) / rate if rate > 0 else None

    def cancel(self) -> None:
        """Stop the run; what was already indexed stays."""
        self._scope.cancel()

    async def wait(self) -> IndexRun:
        """Wait for the run to end; raises what made it fail."""
        await self._done.wait()
        if self.error is not None:
            raise self.error
        return self


class _Write(NamedTuple):
    batch: Sequence[tuple[IndexedFile, int]]


class _Reserve(NamedTuple):
    files: int


class _Forget(NamedTuple):
    paths: list[str]


class _Known(NamedTuple):
    pass


class _Bulk(NamedTuple):
    starting: bool  # True before a full run, False after it


class _Resolve(NamedTuple):
    paths: list[str] | None = None  # relative paths of the changed modules; None: all


class _Ask(NamedTuple):
    text: str


class _Refused(NamedTuple):
    error: Exception


class RepositoryService(Service):
    """Owns the index writer; serializes writes (in a worker thread) in mailbox order."""

    async def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.repo = await trio.to_thread.run_sync(Repository, layer.index_uri, layer.root)
        self.bulk = False

    async def handle_call(self, request: Any, caller: Any) -> Any:
        kind = type(request)
        if kind is _Write:
            written = await trio.to_thread.run_sync(self.repo.write, request.batch)
        elif kind is _Forget:
            written = await trio.to_thread.run_sync(self.repo.forget, request.paths)
        elif kind is _Known:
            return await trio.to_thread.run_sync(self.repo.known)
        elif kind is _Reserve:
            return self.repo.reserve(request.files)
        elif kind is _Bulk:
            if request.starting:
                self.bulk = await trio.to_thread.run_sync(self.repo.begin_bulk)
            elif self.bulk:
                await trio.to_thread.run_sync(self.repo.end_bulk)
                self.bulk = False
            return self.bulk
        elif kind is _Resolve:
            counts = await trio.to_thread.run_sync(self._resolve, request.paths)
            self.layer.version = self.repo.version
            return counts
        else:
            return Service.handle_call(self, request, caller)
        self.layer.version = self.repo.version
        return written

    def _resolve(self, paths: list[str] | None) -> dict[str, int]:
        with self.repo.conn:
            self.repo.conn.execute("BEGIN")
            counts = {"imports": resolve_imports(self.repo.conn, paths)}
        self.repo.version += 1
        return counts

    async def terminate(self, reason: Any) -> None:
        await trio.to_thread.run_sync(self.repo.close)


class AnalysisService(Service):
    """Resolves imports and calls after index runs; answers graph questions (cycles, unused)."""

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is _Resolve:
            return await call(self.layer.namespace.via("code.repository"), request, None)
        if type(request) is _Ask:
            kind, prefix = request.text.split(":", 1)
            return await trio.to_thread.run_sync(self._read, kind, prefix)
        return Service.handle_call(self, request, caller)

    def _read(self, kind: str, prefix: str) -> list[tuple[Any, ...]]:
        conn = self.layer._reader()
        try:
            if kind == "cycles":
                return [(i + 1, " -> ".join(cycle)) for i, cycle in enumerate(cycles(module_graph(conn)))]
            return unused_functions(conn, prefix)
        finally:
            conn.close()


class QueryService(Service):
    """Compiles and runs queries; caches results until the index version changes."""

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.cache: dict[str, tuple[int, QueryResult]] = {}

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is not _Ask:
            return Service.handle_call(self, request, caller)
        text = " ".join(request.text.split())
        cached = self.cache.get(text)
        if cached is not None and cached[0] == self.layer.version:
            return cached[1]
        try:
            compiled = compile_query(text)
        except QueryError as exc:
            return _Refused(exc)
        version = self.layer.version
        if compiled.kind == "sql":
            rows = await self.layer.sql(compiled.sql, compiled.params)
        else:
            question = _Ask(f"{compiled.kind}:{compiled.params[0] if compiled.params else ''}")
            rows = await call(self.layer.namespace.via("code.analysis"), question, None)
        result = QueryResult(text, compiled.columns, rows)
        if len(self.cache) > 256:
            self.cache.clear()
        self.cache[text] = (version, result)
        return result


class _Index(NamedTuple):
    paths: list[str] | None = None  # absolute paths that changed; None: the whole root


class _Grep(NamedTuple):
    pattern: str
    paths: list[str]  # absolute


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
            return await self._grep(request)
        if type(request) is not _Index:
            return Service.handle_call(self, request, caller)
        run = IndexRun(next(self.runs), self.layer.root)
        self.start_soon(self._run, run, request.paths)
        return run

    async def _grep(self, request: _Grep) -> list[Match]:
        pool = await self._workers()
        chunks = [request.paths[i:i + CHUNK_FILES * 4] for i in range(0, len(request.paths), CHUNK_FILES * 4)]

        async def search(chunk: list[str]) -> list[Match]:
            return await pool.run(("grep", request.pattern, chunk))  # type: ignore[no-any-return]

        matches: list[Match] = []
        async with task_map(self.layer.namespace.via("code.tasks"), search, chunks, max_concurrency=pool.size) as results:
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
        try:
            repo = layer.namespace.via("code.repository")
            bulk = paths is None and await call(repo, _Bulk(True), None)
            try:
                with run._scope:
                    changed = await self._index(run, paths)
                run.status = "cancelled" if run._scope.cancelled_caught else "done"
                if run.files_done or run.files_removed:  # something changed: resolve imports again
                    scope = None if paths is None or run._scope.cancelled_caught else changed
                    await call(layer.namespace.via("code.analysis"), _Resolve(scope), None)
                    layer.version += 1
            finally:
                if bulk:  # after resolving: updating rows is cheaper before their indexes exist
                    with trio.CancelScope(shield=True):
                        await call(repo, _Bulk(False), None)
        except Exception as exc:  # the run failed, not the service: the caller sees it through the run
            run.status, run.error = "failed", exc
        finally:
            run.finished = time.time()
            run._done.set()
            f.report("scope.code.index.finished", {
                "root": run.root, "run": run.id, "status": run.status, "files": run.files_done,
                "skipped": run.files_skipped, "removed": run.files_removed, "errors": run.errors,
                "seconds": round(run.finished - run.started, 3),
                "error": None if run.error is None else f"{type(run.error).__name__}: {run.error}"})

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
            stats = found.files
            for loop in found.loops:
                layer.foundation.report("scope.code.file.failed",
                                        {"path": loop, "line": None, "message": "symlink loop"})
        else:
            stats = await trio.to_thread.run_sync(_stat_all, paths)
            current = {os.path.relpath(p, root): p for p in paths if p in stats}
            gone = [os.path.relpath(p, root) for p in paths if p not in stats]
            known = {}
        if gone:
            run.files_removed = await call(repo, _Forget(gone), None)
            for rel in gone:
                layer.trees.forget(os.path.join(root, rel))
        todo = [path for rel, path in current.items()
                if known.get(rel, (None, None, None))[:2] != stats[path] or stats[path][0] < 0]
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
        chunks = [numbered[i:i + CHUNK_FILES] for i in range(0, len(numbered), CHUNK_FILES)]
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

        async with task_map(layer.namespace.via("code.tasks"), parse, chunks, max_concurrency=pool.size if pool else 1,
                            ordered=False) as results:
            async for result in results:
                if not result.ok:
                    raise CodeError(f"a parser worker failed: {result.error!r}") from result.error
                indexed: list[IndexedFile] = result.value
                await call(repo, _Write([(fa, stats[fa.path][1]) for fa in indexed]), None)
                failed = [fa for fa in indexed if fa.error is not None]
                for fa in failed:
                    layer.foundation.report("scope.code.file.failed", {
                        "path": fa.path, "line": fa.error.line, "message": fa.error.message})  # type: ignore[union-attr]
                run.errors += len(failed)
                run.files_done += len(indexed)
                run.bytes_done += sum(fa.size for fa in indexed)
                telemetry.execute("scope.code.parse.progress", {
                    "files": run.files_done, "total": run.files_total, "bytes": run.bytes_done,
                    "rate": run.rate, "eta": run.eta or 0.0}, {"root": root, "run": run.id})
        return changed

    async def terminate(self, reason: Any) -> None:
        if self.pool is not None:
            await self.pool.aclose()


def _stat_all(paths: list[str]) -> dict[str, tuple[int, int]]:
    """``path -> (size, mtime_ns)`` of the paths that exist (files only)."""
    found = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        if not os.path.isdir(path):
            found[path] = (info.st_size, info.st_mtime_ns)
    return found


class SyncService(Service):
    """Watches the root (watchfiles) and re-indexes what changed, a debounced batch at a time.

    ``.gitignore`` edits reload the file filter; created, modified, deleted and renamed files are
    re-indexed incrementally (a rename is a deletion and a creation).
    """

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.start_soon(self._watch)

    async def _watch(self) -> None:
        from watchfiles import awatch

        layer = self.layer
        config = layer.foundation.config
        async for changes in awatch(layer.root, debounce=config.get(("code", "sync", "debounce_ms")),
                                    step=config.get(("code", "sync", "step_ms")), recursive=True):
            paths = sorted({path for _, path in changes})
            wanted: list[str] | None
            if any(os.path.basename(p) == ".gitignore" for p in paths):
                layer.files = layer.files.reloaded()
                wanted = None  # what is indexed may have changed anywhere: a full (incremental) run
            else:
                wanted = [p for p in paths if layer.files.wants(os.path.relpath(p, layer.root))]
            layer.foundation.report("scope.code.change.seen", {
                "paths": len(paths), "indexed": "all" if wanted is None else len(wanted)})
            if wanted is None or wanted:
                run = await call(layer.namespace.via("code.parser"), _Index(wanted), None)
                await run.wait()


class CodeLayer:
    """The code layer of one namespace (see the module docstring)."""

    def __init__(self, namespace: Namespace, foundation: Foundation, root: str, index_path: str | None,
                 files: FileFilter) -> None:
        self.namespace = namespace
        self.foundation = foundation
        self.root = root
        self.files = files
        self.index_path = index_path
        #: What SQLite opens: the file, or a named shared in-memory database.
        self.index_uri = (file_uri(index_path) if index_path is not None
                          else f"file:scope_ext_code_{next(_memory_indexes)}?mode=memory&cache=shared")
        self.version = 0
        self.trees = TreeCache(foundation.config.get("code.cache.max_mb") * 1024 * 1024)
        self._keepalive: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"<CodeLayer of {self.namespace.name!r} on {self.root}>"

    async def index(self) -> IndexRun:
        """Start an index run of the root (see the module docstring)."""
        return await call(self.namespace.via("code.parser"), _Index())  # type: ignore[no-any-return]

    async def query(self, text: str) -> QueryResult:
        """Answer a question in the query language; raises :class:`QueryError` for a bad one."""
        result = await call(self.namespace.via("code.query"), _Ask(text), None)
        if type(result) is _Refused:
            raise result.error
        return result  # type: ignore[no-any-return]

    def _reader(self) -> sqlite3.Connection:
        conn = connect(self.index_uri, readonly=True)
        conn.execute("PRAGMA query_only = ON")  # also for the in-memory index, which cannot be opened read-only
        return conn

    async def grep(self, pattern: str) -> QueryResult:
        """Every match of a structural pattern (ast-grep syntax, e.g. ``$X.append($Y)``), searching
        only the files whose identifiers make a match possible."""
        check_pattern(pattern)
        words = identifiers(pattern)
        if words:
            rows = await self.sql("SELECT m.path FROM identifiers i JOIN modules m ON m.id = i.module_id WHERE "
                                  + " AND ".join(["instr(i.words, ?) > 0"] * len(words)), [f" {w} " for w in words])
        else:
            rows = await self.sql("SELECT path FROM modules WHERE error IS NULL")
        paths = sorted(os.path.join(self.root, path) for (path,) in rows)
        matches = await call(self.namespace.via("code.parser"), _Grep(pattern, paths), None)
        shown = sorted((os.path.relpath(m.path, self.root), m.line, m.text, m.captures) for m in matches)
        return QueryResult(f"grep {pattern}", ("path", "line", "match", "captures"), shown)

    async def sql(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only SQL query over the index schema (see ``_code_repository.SCHEMA``)."""
        return (await self.table(query, params)).rows

    async def table(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> QueryResult:
        """The same, as a table with the query's column names."""

        def run() -> QueryResult:
            conn = self._reader()
            try:
                cursor = conn.execute(query, params)
                return QueryResult(query, [d[0] for d in cursor.description or ()], cursor.fetchall())
            except sqlite3.Error as exc:
                raise CodeError(f"SQL error: {exc}") from None
            finally:
                conn.close()

        return await trio.to_thread.run_sync(run)


async def start_code_layer(namespace: Namespace | str | None, root: str | os.PathLike[str], *,
                           index_path: str | os.PathLike[str] | None = None,
                           include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                           watch: bool = False, dask: str | None = None) -> CodeLayer:
    """Start the code layer for ``root`` in a namespace that has its Foundation.

    ``index_path`` is the SQLite file (None: in memory); ``include`` / ``exclude`` are gitignore-style
    globs added to ``*.py`` and the usual excluded folders, and ``.gitignore`` is honoured. With
    ``watch``, a sync service re-indexes files as they change. ``dask`` (a scheduler address) parses
    on that Dask cluster instead of local worker processes (it sets ``code.parser.dask``).
    """
    ns = namespace_of(namespace)
    if ns.foundation is None:
        raise NamespaceError(f"namespace {ns.name!r} needs its Foundation before the code layer")
    if ns.code is not None:
        raise NamespaceError(f"namespace {ns.name!r} already has a code layer")
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        raise CodeError(f"cannot index {root}: not a folder")
    files = FileFilter(root, include or ("*.py",), (*(exclude or ()), ".git/", "__pycache__/", ".scope_ext/"))
    if dask is not None:
        await ns.foundation.config.update("code.parser.dask", dask)
    layer = CodeLayer(ns, ns.foundation, root, None if index_path is None else os.fspath(index_path), files)
    ns.foundation.register_cache("code.trees", layer.trees)
    if layer.index_path is None:  # a shared in-memory database lives while one connection is open
        layer._keepalive = sqlite3.connect(layer.index_uri, uri=True, check_same_thread=False)
    specs = [
        ChildSpec("code.repository", RepositoryService, (layer,), name="code.repository"),
        ChildSpec("code.tasks", TaskSupervisor, (), name="code.tasks"),
        ChildSpec("code.parser", ParserService, (layer,), name="code.parser"),
        ChildSpec("code.analysis", AnalysisService, (layer,), name="code.analysis"),
        ChildSpec("code.query", QueryService, (layer,), name="code.query"),
    ]
    if watch:
        specs.append(ChildSpec("code.sync", SyncService, (layer,), name="code.sync"))
    await ns.start_child(ChildSpec("code", Supervisor, (specs, "rest_for_one", 10, 5.0)))
    ns.code = layer
    return layer


def code_layer(namespace: Namespace | str | None = None) -> CodeLayer:
    """The code layer of a namespace (default: the current one)."""
    ns = namespace_of(namespace)
    layer = ns.code
    if layer is None:
        raise NamespaceError(f"namespace {ns.name!r} has no code layer; start it with start_code_layer()")
    return layer
