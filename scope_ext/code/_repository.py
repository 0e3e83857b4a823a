"""The code index: one SQLite file (or memory) of modules, classes, functions, calls, imports and
parse errors.

WAL lets readers query while the writer indexes. The parser's workers build the rows
(:func:`index_files`, with module ids reserved here), so writing is plain ``executemany``; each
batch of modules replaces the previous rows of those files in one transaction. A schema version guards files written by another version; reopening re-parses
only files whose size, modification time or content changed.

The writer methods run in worker threads (``trio.to_thread``), one at a time; readers open their
own connections.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple
from urllib.request import pathname2url

from ..runtime._exceptions import ScopeError
from ._analysis import call_targets, find_unused
from ._callgraph import Solver, import_groups, pack, unpack
from ._facts import ErrorFact, FileFacts, facts_of
from ._tree_cache import TreeCache

SCHEMA_VERSION = 5

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS modules (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,      -- relative to the indexed root
    name TEXT NOT NULL,             -- dotted module name
    digest TEXT NOT NULL,           -- blake2b of the content ('' when unreadable)
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    error_line INTEGER,             -- set with error when the file could not be parsed
    error TEXT
);
CREATE INDEX IF NOT EXISTS modules_name ON modules (name);
CREATE TABLE IF NOT EXISTS classes (
    id INTEGER PRIMARY KEY,
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    qualname TEXT NOT NULL,         -- within the module, e.g. Outer.Inner
    fullname TEXT NOT NULL,         -- module.qualname
    name TEXT NOT NULL,
    lineno INTEGER NOT NULL,
    end_lineno INTEGER NOT NULL,
    bases TEXT NOT NULL,            -- JSON list, as written
    decorators TEXT NOT NULL,       -- JSON list, as written
    methods TEXT NOT NULL,          -- JSON list of method names
    doc TEXT                        -- first docstring line
);
CREATE INDEX IF NOT EXISTS classes_module ON classes (module_id);
CREATE INDEX IF NOT EXISTS classes_fullname ON classes (fullname);
CREATE INDEX IF NOT EXISTS classes_name ON classes (name);
CREATE TABLE IF NOT EXISTS class_bases (
    class_id INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    base TEXT NOT NULL              -- as written, e.g. Exception or abc.ABC
);
CREATE INDEX IF NOT EXISTS class_bases_base ON class_bases (base);
CREATE TABLE IF NOT EXISTS functions (
    id INTEGER PRIMARY KEY,
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    qualname TEXT NOT NULL,         -- within the module, e.g. Class.method or outer.inner
    fullname TEXT NOT NULL,         -- module.qualname
    name TEXT NOT NULL,
    class TEXT,                     -- qualname of the class, for methods
    lineno INTEGER NOT NULL,
    end_lineno INTEGER NOT NULL,
    args TEXT NOT NULL,             -- JSON list: a, *rest, key, **extra
    decorators TEXT NOT NULL,       -- JSON list, as written
    is_async INTEGER NOT NULL,
    doc TEXT,                       -- first docstring line
    complexity INTEGER NOT NULL     -- cyclomatic, as radon computes it
);
CREATE INDEX IF NOT EXISTS functions_module ON functions (module_id);
CREATE INDEX IF NOT EXISTS functions_fullname ON functions (fullname);
CREATE INDEX IF NOT EXISTS functions_complexity ON functions (complexity);
CREATE INDEX IF NOT EXISTS functions_name ON functions (name);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    caller TEXT NOT NULL,           -- fullname of the calling function or class, or module.<module>
    callee TEXT NOT NULL,           -- as written, e.g. self.save or json.dumps
    callee_name TEXT NOT NULL,      -- its last name: save, dumps
    lineno INTEGER NOT NULL,
    target TEXT                     -- resolved fullname when known (filled by analysis)
);
-- Callers of x: coalesce(target, callee) = x (resolved where known, else as written). Callees of
-- a function: its module's calls (calls_module) whose caller is its fullname.
CREATE INDEX IF NOT EXISTS calls_module ON calls (module_id);
CREATE INDEX IF NOT EXISTS calls_target_or_callee ON calls (coalesce(target, callee));
CREATE INDEX IF NOT EXISTS calls_callee_name ON calls (callee_name);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    module TEXT NOT NULL,           -- as written ('' for "from . import x")
    name TEXT,                      -- NULL for "import module"
    alias TEXT,
    level INTEGER NOT NULL,         -- dots of a relative import
    lineno INTEGER NOT NULL,
    resolved TEXT                   -- the absolute module imported (filled by analysis)
);
CREATE INDEX IF NOT EXISTS imports_module ON imports (module_id);
CREATE INDEX IF NOT EXISTS imports_resolved ON imports (resolved);
CREATE INDEX IF NOT EXISTS imports_name ON imports (name);
-- Every word of a module that could be an identifier (code, strings and comments alike), each
-- once, between spaces, for narrowing searches: instr(words, ' append ') > 0. A scan of this
-- table is a few milliseconds per thousand modules, much less than keeping a full-text index.
CREATE TABLE IF NOT EXISTS identifiers (
    module_id INTEGER PRIMARY KEY REFERENCES modules (id) ON DELETE CASCADE,
    words TEXT NOT NULL
);
-- What call resolution reads of each module (``_callgraph.pack``): kept so that resolving again
-- after an edit needs no other file parsed again.
CREATE TABLE IF NOT EXISTS flows (
    module_id INTEGER PRIMARY KEY REFERENCES modules (id) ON DELETE CASCADE,
    data BLOB NOT NULL
);
-- Resolved calls: every target a call may reach (filled by call resolution after index runs).
CREATE TABLE IF NOT EXISTS edges (
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,  -- the calling module
    caller TEXT NOT NULL,           -- fullname of the calling function or class, or the module
    target TEXT NOT NULL,           -- fullname of a function or class, or a name outside the index
    lineno INTEGER,                 -- the call's line (a decorator's: its definition's); NULL: a property read
    callee TEXT                     -- the call as written (NULL: a property read)
);
CREATE INDEX IF NOT EXISTS edges_target ON edges (target);
CREATE INDEX IF NOT EXISTS edges_caller ON edges (caller);
-- Also from call resolution: bases resolved through imports (a builtin is builtins.X), each
-- function and class a scope reads as a value, and module globals that name something defined
-- under another name (json.JSONDecoder is json.decoder.JSONDecoder).
CREATE TABLE IF NOT EXISTS inherits (
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    class TEXT NOT NULL,
    base TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inherits_base ON inherits (base);
CREATE INDEX IF NOT EXISTS inherits_class ON inherits (class);
CREATE TABLE IF NOT EXISTS refs (
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_target ON refs (target);
CREATE TABLE IF NOT EXISTS names (
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS names_name ON names (name);
-- Candidates for unused functions and classes, found after each call resolution (_analysis.find_unused).
CREATE TABLE IF NOT EXISTS unused (
    kind TEXT NOT NULL,             -- function or class
    fullname TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS unused_fullname ON unused (kind, fullname);
CREATE VIEW IF NOT EXISTS errors AS
    SELECT path, name AS module, error_line AS line, error AS message FROM modules WHERE error IS NOT NULL;
"""


#: The secondary indexes: dropped for a first bulk load into an empty index, built once after it.
SECONDARY_INDEXES = [line.strip() for line in SCHEMA.splitlines() if line.strip().startswith("CREATE INDEX")]


_INSERTS = (
    "INSERT INTO classes (module_id, qualname, fullname, name, lineno, end_lineno, bases, decorators, methods, doc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO functions (module_id, qualname, fullname, name, class, lineno, end_lineno, args, decorators, "
    "is_async, doc, complexity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO calls (module_id, caller, callee, callee_name, lineno, target) VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO imports (module_id, module, name, alias, level, lineno) VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO identifiers (module_id, words) VALUES (?, ?)",
    "INSERT INTO flows (module_id, data) VALUES (?, ?)",
)


class IndexedFile(NamedTuple):
    """What a parser worker sends back for one file: the module row's fields and, unless the
    file failed, the rows of every other table as plain tuples (cheap to pickle), in the order
    of ``_INSERTS``."""

    path: str
    module_id: int
    module: str
    digest: str
    size: int
    lines: int
    error: ErrorFact | None
    rows: tuple[list[tuple[Any, ...]], ...]


def index_files(
    root: str, files: list[tuple[str, int]], strict: bool = False, trees: TreeCache | None = None
) -> list[IndexedFile]:
    """Worker job: parse ``files`` (path, reserved module id) and build their rows (through the
    tree cache ``trees`` when it runs in the kernel's process)."""
    return [_rows(facts_of(root, path, strict, trees), module_id) for path, module_id in files]


def _names(names: tuple[str, ...]) -> str:
    """``json.dumps`` of a tuple of names and call texts (never a quote or backslash), faster."""
    return '["' + '", "'.join(names) + '"]' if names else "[]"


def _rows(facts: FileFacts, mid: int) -> IndexedFile:
    prefix = facts.module + "."
    targets = call_targets(facts.module, facts.path.endswith("__init__.py"), facts)
    rows = (
        [
            (
                mid,
                c.qualname,
                prefix + c.qualname,
                c.name,
                c.lineno,
                c.end_lineno,
                _names(c.bases),
                _names(c.decorators),
                _names(c.methods),
                c.doc,
            )
            for c in facts.classes
        ],
        [
            (
                mid,
                f.qualname,
                prefix + f.qualname,
                f.name,
                f.cls,
                f.lineno,
                f.end_lineno,
                _names(f.args),
                _names(f.decorators),
                f.is_async,
                f.doc,
                f.complexity,
            )
            for f in facts.functions
        ],
        [
            (mid, prefix + c.caller, c.callee, c.callee.rpartition(".")[2], c.lineno, target)
            for c, target in zip(facts.calls, targets, strict=True)
        ],
        [(mid, i.module, i.name, i.alias, i.level, i.lineno) for i in facts.imports],
        [(mid, facts.identifiers)] if facts.identifiers else [],
        [(mid, pack(facts))] if facts.error is None else [],
    )
    return IndexedFile(facts.path, mid, facts.module, facts.digest, facts.size, facts.lines, facts.error, rows)


class CodeIndexError(ScopeError):
    """The index file cannot be opened or was written by an incompatible version."""


def file_uri(path: str) -> str:
    """The SQLite URI of a file path (quoted, so any file name works)."""
    return "file:" + pathname2url(os.path.abspath(path))


def connect(uri: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the index at ``uri`` (a file URI, or a shared in-memory one)."""
    in_memory = "mode=memory" in uri
    if readonly and not in_memory:
        uri += ("&" if "?" in uri else "?") + "mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    if in_memory:
        conn.execute("PRAGMA read_uncommitted = ON")  # shared cache: readers never wait for the writer
    return conn


#: What call resolution writes, and each table's columns after ``module_id``.
RESOLVED = {
    "edges": ("caller", "target", "lineno", "callee"),
    "inherits": ("class", "base"),
    "refs": ("scope", "target"),
    "names": ("name", "target"),
}


def read_flows(conn: sqlite3.Connection) -> list[tuple[int, str, bytes]]:
    """Every parsed module's (id, name, packed flow facts): what :func:`resolve_flows` needs."""
    return conn.execute("SELECT m.id, m.name, f.data FROM modules m JOIN flows f ON f.module_id = m.id").fetchall()


def resolve_into(source: str | list[tuple[int, str, bytes]], out: str) -> int:
    """Worker job: resolve every call of an index (its URI, read here, or the flows
    :func:`read_flows` read from it) into a new SQLite file ``out`` holding the tables of
    :data:`RESOLVED`, which :meth:`Repository.load_resolution` takes in: nothing of it passes
    through the kernel's memory. One group of modules connected by imports at a time (no value
    crosses from one group to another; each group's analysis is freed before the next). Returns
    how many edges."""
    if isinstance(source, str):
        conn = connect(source, readonly=True)
        try:
            source = read_flows(conn)
        finally:
            conn.close()
    ids = {name: mid for mid, name, _ in source}
    # In name order: what the solver leaves unresolved (an over-general helper's calls) must not
    # depend on the order the files were parsed in (here, or on a Dask cluster).
    modules = [unpack(name, data) for _, name, data in sorted(source, key=lambda row: row[1])]
    del source
    found = sqlite3.connect(out, isolation_level=None)
    edges = 0
    try:
        found.execute("PRAGMA journal_mode = OFF")
        for table, columns in RESOLVED.items():
            found.execute(f"CREATE TABLE {table} (module_id, {', '.join(columns)})")
        found.execute("BEGIN")
        for group in import_groups(modules):
            solver = Solver(group)
            solver.solve()
            rows: dict[str, list[tuple[Any, ...]]] = {
                "edges": [(ids[m], c, t, line, callee) for m, c, line, t, callee in solver.edges()],
                "inherits": [(ids[m], *row) for m, *row in solver.bases()],
                "refs": [(ids[m], *row) for m, *row in solver.references()],
                "names": [(ids[m], *row) for m, *row in solver.exports()],
            }
            edges += len(rows["edges"])
            for table, columns in RESOLVED.items():
                found.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * (len(columns) + 1))})", rows[table])
            del solver, rows
        found.execute("COMMIT")
    finally:
        found.close()
    return edges


class Repository:
    """The writer side of one index (see the module docstring)."""

    def __init__(self, uri: str, root: str) -> None:
        self.uri = uri
        self.root = os.path.abspath(root)
        try:
            self.conn = connect(uri)
            if "mode=memory" not in uri:
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
            found = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise CodeIndexError(f"cannot open code index {uri}: {exc}") from None
        if not found:
            self.conn.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("schema_version", str(SCHEMA_VERSION)), ("root", self.root)]
            )
        elif int(found.get("schema_version", -1)) != SCHEMA_VERSION:
            self.conn.close()
            raise CodeIndexError(
                f"code index {uri} has schema version {found.get('schema_version')}; this "
                f"scope_ext writes version {SCHEMA_VERSION}: delete it to index again"
            )
        self._next_id: int | None = None

    def begin_bulk(self) -> bool:
        """Before a full index run: if the index is empty, drop the secondary indexes (building
        them once afterwards is several times cheaper than updating them row by row) and stop
        checking foreign keys (each batch writes its modules' rows itself)."""
        if self.conn.execute("SELECT 1 FROM modules LIMIT 1").fetchone() is not None:
            return False
        for statement in SECONDARY_INDEXES:
            self.conn.execute("DROP INDEX IF EXISTS " + statement.split()[5])
        self.conn.execute("PRAGMA foreign_keys = OFF")
        return True

    def end_bulk(self) -> None:
        """After a bulk load: build the secondary indexes and check foreign keys again (also
        after a cancelled or failed run)."""
        self.conn.executescript(";\n".join(SECONDARY_INDEXES) + ";")
        self.conn.execute("ANALYZE")  # the planner's statistics: which index narrows a query most
        self.conn.execute("PRAGMA foreign_keys = ON")

    def known(self) -> dict[str, tuple[int, int, str]]:
        """``relative path -> (size, mtime_ns, digest)`` of every indexed file."""
        return {p: (s, m, d) for p, s, m, d in self.conn.execute("SELECT path, size, mtime_ns, digest FROM modules")}

    def reserve(self, count: int) -> int:
        """The first of ``count`` new module ids, handed to the parser's workers with the files
        (so they can build every row) and never handed out twice."""
        if self._next_id is None:
            self._next_id = (self.conn.execute("SELECT max(id) FROM modules").fetchone()[0] or 0) + 1
        first, self._next_id = self._next_id, self._next_id + count
        return first

    def write(self, batch: Sequence[tuple[IndexedFile, int]]) -> int:
        """Replace each file of ``batch`` (indexed file, mtime_ns) in one transaction."""
        conn = self.conn
        tables: list[list[tuple[Any, ...]]] = [[] for _ in _INSERTS]
        with conn:
            conn.execute("BEGIN")
            for indexed, mtime_ns in batch:
                rel = os.path.relpath(indexed.path, self.root)
                self._delete(rel)
                error = indexed.error
                conn.execute(
                    "INSERT INTO modules (id, path, name, digest, size, mtime_ns, lines, error_line, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        indexed.module_id,
                        rel,
                        indexed.module,
                        indexed.digest,
                        indexed.size,
                        mtime_ns,
                        indexed.lines,
                        error.line if error else None,
                        error.message if error else None,
                    ),
                )
                for rows, table in zip(indexed.rows, tables, strict=True):
                    table.extend(rows)
            # New classes get ids above every id now (rowids count up from the maximum), so their
            # bases are found by the primary key: a bulk load has no index on module_id.
            last_class = conn.execute("SELECT coalesce(max(id), 0) FROM classes").fetchone()[0]
            for statement, rows in zip(_INSERTS, tables, strict=True):
                conn.executemany(statement, rows)
            conn.execute(
                "INSERT INTO class_bases SELECT c.id, b.value FROM classes c, json_each(c.bases) b WHERE c.id > ?",
                (last_class,),
            )
        return len(batch)

    def _delete(self, rel: str) -> int:
        found = self.conn.execute("SELECT id FROM modules WHERE path = ?", (rel,)).fetchone()
        if found is None:
            return 0
        self.conn.execute("DELETE FROM modules WHERE id = ?", found)
        return 1

    def load_resolution(self, path: str) -> int:
        """Replace what call resolution found with what :func:`resolve_into` wrote to ``path``, in
        one transaction (rows of modules gone since, re-indexed or removed, are left out);
        returns how many edges there are now."""
        conn = self.conn
        # Dropping the indexes and building them after the rows is several times cheaper, and
        # ANALYZE keeps plans right; but both change the schema, which a shared in-memory index
        # cannot do while readers ask (they would fail with "database schema is locked").
        shared = "mode=memory" in self.uri
        indexes = [] if shared else [i for i in SECONDARY_INDEXES if any(f" ON {t} " in i for t in RESOLVED)]
        conn.execute("ATTACH DATABASE ? AS found", (file_uri(path),))
        try:
            with conn:
                conn.execute("BEGIN")
                for statement in indexes:
                    conn.execute("DROP INDEX IF EXISTS " + statement.split()[5])
                for table, columns in RESOLVED.items():
                    names = ", ".join(("module_id", *columns))
                    conn.execute(f"DELETE FROM main.{table}")
                    conn.execute(
                        f"INSERT INTO main.{table} ({names}) SELECT {names} FROM found.{table} "
                        "WHERE module_id IN (SELECT id FROM main.modules)"
                    )
                for statement in indexes:
                    conn.execute(statement)
                if not shared:
                    conn.execute("ANALYZE main")
                find_unused(conn)
                return conn.execute("SELECT count(*) FROM main.edges").fetchone()[0]  # type: ignore[no-any-return]
        finally:
            conn.execute("DETACH DATABASE found")

    def forget(self, paths: Iterable[str]) -> int:
        """Remove files (relative paths) from the index; returns how many were there."""
        paths = list(paths)
        with self.conn:
            self.conn.execute("BEGIN")
            removed = sum(self._delete(p) for p in paths)
        return removed

    def close(self) -> None:
        """Close the writer connection."""
        self.conn.close()
