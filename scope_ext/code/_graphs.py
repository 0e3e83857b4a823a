"""Focused pictures of a codebase, read from the index: the calls around a function, the imports
of a package with their cycles, a class's hierarchy, where a package's complexity sits.

Each starts from one name and grows to a depth, and never holds more than ``limit`` nodes: what
it leaves out is counted (``left_out``), never silently dropped. Names go through re-exports
(``json.JSONDecoder`` is ``json.decoder.JSONDecoder``).
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from .._result_table import QueryResult
from ._analysis import cycles, module_graph, resolve_name
from ._errors import CodeError

#: The pictures there are, and what each starts from.
KINDS = {
    "callers": "a function: who calls it, to a depth",
    "callees": "a function: what it calls, to a depth",
    "calls": "a function: its callers and callees, to a depth",
    "imports": "a package: its modules' imports, cycles marked",
    "classes": "a class: its bases and subclasses, to a depth",
    "complexity": "a package: its functions by lines and complexity",
}
#: The largest depth and node limit a picture takes.
MAX_DEPTH = 10
MAX_LIMIT = 10_000


class CodeGraph(NamedTuple):
    """A picture: nodes and edges as plain dicts (ready for JSON), and how many nodes did not fit."""

    kind: str
    focus: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    left_out: int

    def table(self) -> QueryResult:
        """The edges as a table: the text form of the picture."""
        rows = [(e["source"], e["target"], e.get("line"), "cycle" if e.get("cycle") else "") for e in self.edges]
        note = f" ({self.left_out} more not shown)" if self.left_out else ""
        return QueryResult(f"{self.kind} of {self.focus}{note}", ("from", "to", "line", "note"), rows)


def code_graph(conn: sqlite3.Connection, kind: str, name: str, depth: int = 2, limit: int = 200) -> CodeGraph:
    """The picture ``kind`` (see :data:`KINDS`) of ``name``; raises :class:`CodeError` for what
    it cannot draw."""
    if kind not in KINDS:
        raise CodeError(f"no picture {kind!r}; pictures: {', '.join(KINDS)}")
    if not 0 <= depth <= MAX_DEPTH:
        raise CodeError(f"depth takes 0 to {MAX_DEPTH}, not {depth}")
    if not 1 <= limit <= MAX_LIMIT:
        raise CodeError(f"limit takes 1 to {MAX_LIMIT}, not {limit}")
    focus = resolve_name(conn, name)
    if kind in ("imports", "complexity"):
        if conn.execute("SELECT 1 FROM modules WHERE name = ?1 OR name LIKE ?1 || '.%'", (focus,)).fetchone() is None:
            raise CodeError(f"no module or package {name!r} in the index")
        return _imports(conn, focus, limit) if kind == "imports" else _complexity(conn, focus, limit)
    if kind == "classes":
        if conn.execute("SELECT 1 FROM classes WHERE fullname = ?", (focus,)).fetchone() is None:
            raise CodeError(f"no class {name!r} in the index")
        steps = [  # edges point from a class to its base; bases sit above (negative depth)
            _Step("SELECT base, NULL FROM inherits WHERE class = ?", True, -1),
            _Step("SELECT class, NULL FROM inherits WHERE base = ?", False, 1),
        ]
    else:
        known = conn.execute(  # a name outside the index has callers too (json.dumps, say)
            "SELECT 1 FROM functions WHERE fullname = ?1 UNION SELECT 1 FROM classes WHERE fullname = ?1 "
            "UNION SELECT 1 FROM edges WHERE target = ?1",
            (focus,),
        ).fetchone()
        if known is None:
            raise CodeError(f"no function or class {name!r} in the index, and nothing calls it")
        steps = []  # edges point from caller to callee; callers sit above (negative depth)
        if kind in ("callees", "calls"):
            steps.append(_Step("SELECT target, min(lineno) FROM edges WHERE caller = ? GROUP BY target", True, 1))
        if kind in ("callers", "calls"):
            steps.append(_Step("SELECT caller, min(lineno) FROM edges WHERE target = ? GROUP BY caller", False, -1))
    return _grow(conn, kind, focus, steps, depth, limit)


class _Step(NamedTuple):
    query: str  # a node's neighbours (and the line that links them)
    outward: bool  # the edge points from the node to its neighbour
    sign: int  # neighbours sit below (1) or above (-1) the focus


def _grow(conn: sqlite3.Connection, kind: str, focus: str, steps: list[_Step], depth: int, limit: int) -> CodeGraph:
    """Breadth first from ``focus`` along each step to ``depth``, keeping at most ``limit`` nodes."""
    kept = {focus: 0}
    missed: set[str] = set()
    edges: list[dict[str, Any]] = []
    for step in steps:
        frontier = [focus]
        for level in range(1, depth + 1):
            following = []
            for node in frontier:
                for other, line in conn.execute(step.query, (node,)):
                    if other not in kept:
                        if len(kept) >= limit:
                            missed.add(other)
                            continue
                        kept[other] = level * step.sign
                        following.append(other)
                    source, target = (node, other) if step.outward else (other, node)
                    edges.append({"source": source, "target": target, "line": line})
            frontier = following
    return CodeGraph(
        kind,
        focus,
        [_node(conn, name, level) for name, level in kept.items()],
        _unique(edges),
        len(missed - kept.keys()),
    )


def _node(conn: sqlite3.Connection, name: str, level: int) -> dict[str, Any]:
    """What the index says of one name: its kind, file and line (a name outside the index has none)."""
    found = conn.execute(
        "SELECT 'function', m.path, f.lineno, f.complexity, f.end_lineno - f.lineno + 1 FROM functions f "
        "JOIN modules m ON m.id = f.module_id WHERE f.fullname = ?1 UNION ALL "
        "SELECT 'class', m.path, c.lineno, NULL, c.end_lineno - c.lineno + 1 FROM classes c "
        "JOIN modules m ON m.id = c.module_id WHERE c.fullname = ?1 LIMIT 1",
        (name,),
    ).fetchone()
    kind, path, line, complexity, lines = found if found else ("outside", None, None, None, None)
    return {
        "id": name,
        "kind": kind,
        "path": path,
        "line": line,
        "complexity": complexity,
        "lines": lines,
        "depth": level,
    }


def _unique(edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    found = []
    for edge in edges:
        key = (edge["source"], edge["target"])
        if key not in seen:
            seen.add(key)
            found.append(edge)
    return found


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _imports(conn: sqlite3.Connection, package: str, limit: int) -> CodeGraph:
    graph = {
        m: {t for t in targets if _inside(t, package)}
        for m, targets in module_graph(conn).items()
        if _inside(m, package)
    }
    looped = {m: i for i, component in enumerate(cycles(graph)) for m in component}
    ordered = sorted(graph, key=lambda m: (-len(graph[m]), m))  # the busiest first, when not all fit
    kept = set(ordered[:limit])
    paths = dict(conn.execute("SELECT name, path FROM modules"))
    nodes = [
        {"id": m, "kind": "module", "path": paths.get(m), "line": 1, "cycle": looped.get(m), "depth": 0}
        for m in sorted(kept)
    ]
    edges = [
        {"source": m, "target": t, "line": None, "cycle": m in looped and looped.get(t) == looped[m]}
        for m in sorted(kept)
        for t in sorted(graph[m])
        if t in kept
    ]
    return CodeGraph("imports", package, nodes, edges, len(graph) - len(kept))


def _complexity(conn: sqlite3.Connection, package: str, limit: int) -> CodeGraph:
    rows = conn.execute(
        "SELECT f.fullname, m.name, m.path, f.lineno, f.end_lineno - f.lineno + 1, f.complexity FROM functions f "
        "JOIN modules m ON m.id = f.module_id WHERE m.name = ?1 OR m.name LIKE ?1 || '.%' "
        "ORDER BY f.end_lineno - f.lineno DESC, f.fullname",
        (package,),
    ).fetchall()
    shown = rows[:limit]
    modules = sorted({module for _, module, *_ in shown})
    nodes = [{"id": m, "kind": "module", "path": None, "line": None, "depth": 0} for m in modules]
    nodes += [
        {
            "id": name,
            "kind": "function",
            "parent": module,
            "path": path,
            "line": line,
            "lines": lines,
            "complexity": complexity,
            "depth": 1,
        }
        for name, module, path, line, lines, complexity in shown
    ]
    return CodeGraph("complexity", package, nodes, [], len(rows) - len(shown))
