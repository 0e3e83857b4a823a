"""The code layer (L2) of a namespace: index a Python codebase and ask it questions.

``await start_code_layer(ns, root)`` starts a ``code`` supervisor (rest_for_one: repository,
tasks, parser, analysis, query, and sync when watching) under the namespace's root; the namespace needs its Foundation, whose config
(``code.parser.max_workers``), events and telemetry the layer uses. ``code_layer(ns)`` returns
the :class:`CodeLayer` handle:

- ``await code.index()`` starts an index run and returns its :class:`IndexRun` (await
  ``run.wait()``, or ``run.cancel()``); files are parsed in worker processes, in chunks, through
  the task supervisor; unchanged files (same size and modification time) are skipped.
- ``await code.query("functions where complexity > 10 order by complexity desc limit 20")``
  answers a question in the query language (``_query_language``) as a :class:`QueryResult`;
  results are cached until the index changes.
- ``await code.sql(query, params)`` reads the index (read-only).

After every index run the analysis service resolves imports and call targets (``_analysis``)."""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import trio

from .._result_table import QueryResult
from ..runtime._namespace import Namespace
from ..runtime._runtime import namespace_of
from ..runtime._service import call
from ._errors import CodeError
from ._files import FileFilter
from ._graphs import CodeGraph, code_graph
from ._grep import check_pattern, identifiers
from ._index_run import IndexRun
from ._repository import connect, file_uri
from ._requests import _Ask, _Grep, _Index
from ._tree_cache import TreeCache

if TYPE_CHECKING:
    from ..foundation_layer._foundation import Foundation

_memory_indexes = itertools.count(1)
T = TypeVar("T")


class CodeLayer:
    """The code layer of one namespace (see the module docstring)."""

    def __init__(
        self,
        namespace: Namespace,
        foundation: Foundation,
        root: str,
        index_path: str | None,
        files: FileFilter,
        watch: bool = False,
    ) -> None:
        self.namespace = namespace
        self.foundation = foundation
        self.root = root
        self.files = files
        self.index_path = index_path
        #: Whether a sync service re-indexes files as they change.
        self.watch = watch
        #: What SQLite opens: the file, or a named shared in-memory database.
        self.index_uri = (
            file_uri(index_path)
            if index_path is not None
            else f"file:scope_ext_code_{next(_memory_indexes)}?mode=memory&cache=shared"
        )
        #: Grows with every change of the index (never back, even across a repository restart),
        #: so a cached answer is reused only while nothing changed since it was computed.
        self.version = 0
        self.trees = TreeCache(foundation.config.get("code.cache.max_mb") * 1024 * 1024)
        self._keepalive: sqlite3.Connection | None = None
        #: Set while no call resolution is running or due (see :meth:`resolved`).
        self.calls_idle = trio.Event()
        self.calls_idle.set()

    def changed(self) -> None:
        """The index changed: answers cached before now are stale."""
        self.version += 1

    def __repr__(self) -> str:
        return f"<CodeLayer of {self.namespace.name!r} on {self.root}>"

    async def index(self) -> IndexRun:
        """Start an index run of the root (see the module docstring)."""
        return await call(self.namespace.via("code.parser"), _Index())  # type: ignore[no-any-return]

    async def resolved(self) -> None:
        """Wait until calls are resolved for what is indexed now: resolution follows each index
        run in the background (a whole-program analysis in a worker process), and until it ends
        ``callers of`` and ``callees of`` answer from the calls as written and the last resolution."""
        await self.calls_idle.wait()

    async def graph(self, kind: str, name: str, depth: int = 2, limit: int = 200) -> CodeGraph:
        """A focused picture of the code around ``name`` (see :mod:`scope_ext.code._graphs`):
        ``callers``, ``callees``, ``calls``, ``imports``, ``classes`` or ``complexity``, grown to
        ``depth`` and holding at most ``limit`` nodes (``left_out`` counts the rest). Pictures
        are of resolved calls: it waits for a resolution under way."""
        await self.resolved()
        return await self._read(lambda conn: code_graph(conn, kind, name, depth, limit))

    async def query(self, text: str) -> QueryResult:
        """Answer a question in the query language; raises :class:`QueryError` for a bad one."""
        return await call(self.namespace.via("code.query"), _Ask(text), None)  # type: ignore[no-any-return]

    async def _read(self, reader: Callable[[sqlite3.Connection], T]) -> T:
        """``reader(conn)`` in a worker thread, on a read-only connection of its own (the layer's
        own questions: not sandboxed or capped like :meth:`table`)."""

        def run() -> T:
            conn = self._reader()
            try:
                return reader(conn)
            finally:
                conn.close()

        return await trio.to_thread.run_sync(run)

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
            narrowing = (
                "SELECT m.path FROM identifiers i JOIN modules m ON m.id = i.module_id WHERE "
                + " AND ".join(["instr(i.words, ?) > 0"] * len(words)),
                [f" {w} " for w in words],
            )
        else:
            narrowing = ("SELECT path FROM modules WHERE error IS NULL", [])

        # our own query: every file, not a user's capped result
        rows = await self._read(lambda conn: conn.execute(*narrowing).fetchall())
        paths = sorted(os.path.join(self.root, path) for (path,) in rows)
        matches = await call(self.namespace.via("code.parser"), _Grep(pattern, paths), None)
        matches.sort(key=lambda m: (m.path, m.line, m.column))  # the same text can match twice on a line
        shown = [(os.path.relpath(m.path, self.root), m.line, m.column, m.text, m.captures) for m in matches]
        return QueryResult(f"grep {pattern}", ("path", "line", "column", "match", "captures"), shown)

    async def sql(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only SQL query over the index schema (see ``_repository.SCHEMA``)."""
        return (await self.table(query, params)).rows

    async def table(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> QueryResult:
        """The same, as a table with the query's column names.

        Bounded and sandboxed: it reads only (ATTACH, VACUUM, writes, writing PRAGMAs and functions
        with side effects are denied), stops after ``code.sql.timeout`` seconds or when the caller
        is cancelled, keeps ``code.sql.max_rows`` rows (``truncated`` says if more matched) and
        refuses values over ``code.sql.max_bytes``.
        """
        config = self.foundation.config
        limits = _Limits(
            config.get("code.sql.timeout"), config.get("code.sql.max_rows"), config.get("code.sql.max_bytes")
        )
        stop = threading.Event()

        def run() -> QueryResult:
            conn = self._reader()
            deadline = time.monotonic() + limits.seconds
            conn.set_authorizer(_authorize)
            conn.set_progress_handler(lambda: stop.is_set() or time.monotonic() > deadline, 1000)
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_bytes)
            try:
                cursor = conn.execute(query, params)
                rows = cursor.fetchmany(limits.max_rows + 1)
                columns = [d[0] for d in cursor.description or ()]
                return QueryResult(query, columns, rows[: limits.max_rows], len(rows) > limits.max_rows)
            except (sqlite3.Error, OverflowError, ValueError) as exc:  # also a parameter SQLite cannot hold
                if str(exc) == "interrupted":  # by the progress handler
                    message = f"SQL stopped: it ran past code.sql.timeout ({limits.seconds:g} s)"
                elif "not authorized" in str(exc):  # by the authorizer
                    message = f"SQL refused: {exc} (the index is read only, and files stay as they are)"
                else:
                    message = f"SQL error: {exc}"
                raise CodeError(message) from None
            finally:
                conn.close()

        try:  # cancelled (a deadline, Ctrl-C in the cell): return now; the flag stops SQLite at once
            return await trio.to_thread.run_sync(run, abandon_on_cancel=True)
        finally:
            stop.set()


class _Limits(NamedTuple):
    seconds: float
    max_rows: int
    max_bytes: int


#: What SQL over the index may do: read (and recurse), call functions without side effects, and
#: ask PRAGMAs that only describe the schema.
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_READ_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list", "table_list"}
)
_SIDE_EFFECTS = frozenset({"load_extension", "fts3_tokenizer", "fts5", "readfile", "writefile", "edit"})


def _authorize(action: int, first: str | None, second: str | None, _db: str | None, _trigger: str | None) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (second or "").lower() in _SIDE_EFFECTS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (first or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def find_code_layer(ns: Namespace) -> CodeLayer | None:
    """The code layer of ``ns``, or None if it has none."""
    return ns.layers.get("code")


def code_layer(namespace: Namespace | str | None = None) -> CodeLayer:
    """The code layer of a namespace (default: the current one)."""
    return namespace_of(namespace).layer("code", "start_code_layer()")  # type: ignore[no-any-return]
