"""The code index: one SQLite file (or memory) of modules, classes, functions, calls, imports and
parse errors.

WAL lets readers query while the writer indexes. Each module's facts replace the previous ones in
one transaction. A schema version guards files written by another version; reopening re-parses
only files whose size, modification time or content changed.

The writer methods run in worker threads (``trio.to_thread``), one at a time; readers open their
own connections.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from urllib.request import pathname2url

from ._code_facts import FileFacts
from ._exceptions import ScopeError

SCHEMA_VERSION = 2

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
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    caller TEXT NOT NULL,           -- fullname of the calling function or class, or module.<module>
    callee TEXT NOT NULL,           -- as written, e.g. self.save or json.dumps
    callee_name TEXT NOT NULL,      -- its last name: save, dumps
    lineno INTEGER NOT NULL,
    target TEXT                     -- resolved fullname when known (filled by analysis)
);
CREATE INDEX IF NOT EXISTS calls_module ON calls (module_id);
CREATE INDEX IF NOT EXISTS calls_callee ON calls (callee);
CREATE INDEX IF NOT EXISTS calls_target ON calls (target);
CREATE INDEX IF NOT EXISTS calls_caller ON calls (caller);
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
CREATE TABLE IF NOT EXISTS identifiers (
    module_id INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    name TEXT NOT NULL              -- an identifier the module uses anywhere
);
CREATE INDEX IF NOT EXISTS identifiers_name ON identifiers (name);
CREATE INDEX IF NOT EXISTS identifiers_module ON identifiers (module_id);
CREATE VIEW IF NOT EXISTS errors AS
    SELECT path, name AS module, error_line AS line, error AS message FROM modules WHERE error IS NOT NULL;
"""



#: The secondary indexes: dropped for a first bulk load into an empty index, built once after it.
SECONDARY_INDEXES = [line.strip() for line in SCHEMA.splitlines() if line.strip().startswith("CREATE INDEX")]


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
            self.conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                  [("schema_version", str(SCHEMA_VERSION)), ("root", self.root)])
        elif int(found.get("schema_version", -1)) != SCHEMA_VERSION:
            self.conn.close()
            raise CodeIndexError(f"code index {uri} has schema version {found.get('schema_version')}; this "
                              f"scope_ext writes version {SCHEMA_VERSION}: delete it to index again")
        self.version = 0  # bumped on every write, so query caches know when to forget

    def begin_bulk(self) -> bool:
        """Before a full index run: if the index is empty, drop the secondary indexes (building
        them once afterwards is several times cheaper than updating them row by row)."""
        if self.conn.execute("SELECT 1 FROM modules LIMIT 1").fetchone() is not None:
            return False
        for statement in SECONDARY_INDEXES:
            self.conn.execute("DROP INDEX IF EXISTS " + statement.split()[5])
        return True

    def end_bulk(self) -> None:
        """After a bulk load: build the secondary indexes (also after a cancelled or failed run)."""
        self.conn.executescript(";\n".join(SECONDARY_INDEXES) + ";")

    def known(self) -> dict[str, tuple[int, int, str]]:
        """``relative path -> (size, mtime_ns, digest)`` of every indexed file."""
        return {p: (s, m, d) for p, s, m, d in self.conn.execute("SELECT path, size, mtime_ns, digest FROM modules")}

    def write(self, batch: Sequence[tuple[FileFacts, int]]) -> int:
        """Replace the facts of each file in ``batch`` (facts, mtime_ns) in one transaction."""
        conn = self.conn
        with conn:
            conn.execute("BEGIN")
            for facts, mtime_ns in batch:
                rel = os.path.relpath(facts.path, self.root)
                conn.execute("DELETE FROM modules WHERE path = ?", (rel,))
                error = facts.error
                module_id = conn.execute(
                    "INSERT INTO modules (path, name, digest, size, mtime_ns, lines, error_line, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (rel, facts.module, facts.digest, facts.size, mtime_ns, facts.lines,
                     error.line if error else None, error.message if error else None)).lastrowid
                prefix = facts.module + "."
                for c in facts.classes:
                    class_id = conn.execute(
                        "INSERT INTO classes (module_id, qualname, fullname, name, lineno, end_lineno, bases, "
                        "decorators, methods, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (module_id, c.qualname, prefix + c.qualname, c.name, c.lineno, c.end_lineno,
                         json.dumps(c.bases), json.dumps(c.decorators), json.dumps(c.methods), c.doc)).lastrowid
                    conn.executemany("INSERT INTO class_bases VALUES (?, ?)", [(class_id, b) for b in c.bases])
                conn.executemany(
                    "INSERT INTO functions (module_id, qualname, fullname, name, class, lineno, end_lineno, args, "
                    "decorators, is_async, doc, complexity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(module_id, f.qualname, prefix + f.qualname, f.name, f.cls, f.lineno, f.end_lineno,
                      json.dumps(f.args), json.dumps(f.decorators), f.is_async, f.doc, f.complexity)
                     for f in facts.functions])
                conn.executemany(
                    "INSERT INTO calls (module_id, caller, callee, callee_name, lineno) VALUES (?, ?, ?, ?, ?)",
                    [(module_id, prefix + c.caller, c.callee, c.callee.rpartition(".")[2], c.lineno)
                     for c in facts.calls])
                conn.executemany(
                    "INSERT INTO imports (module_id, module, name, alias, level, lineno) VALUES (?, ?, ?, ?, ?, ?)",
                    [(module_id, i.module, i.name, i.alias, i.level, i.lineno) for i in facts.imports])
                conn.executemany("INSERT INTO identifiers VALUES (?, ?)", [(module_id, n) for n in facts.identifiers])
        self.version += 1
        return len(batch)

    def forget(self, paths: Iterable[str]) -> int:
        """Remove files (relative paths) from the index; returns how many were there."""
        paths = list(paths)
        with self.conn:
            self.conn.execute("BEGIN")
            removed = sum(self.conn.execute("DELETE FROM modules WHERE path = ?", (p,)).rowcount for p in paths)
        self.version += 1
        return removed

    def close(self) -> None:
        """Close the writer connection."""
        self.conn.close()
