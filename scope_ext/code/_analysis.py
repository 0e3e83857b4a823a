"""Analysis over the index: import resolution, resolved call targets, the module graph and its
cycles, unused-definition candidates.

Resolution follows Python's rules as far as they can be known statically:
- ``import a.b as c`` binds ``c`` to ``a.b``; ``import a.b`` binds ``a``.
- ``from m import x as y`` binds ``y`` to ``m.x``.
- Relative imports resolve against the module's *package* (``pkg.sub`` for both
  ``pkg/sub/mod.py`` and ``pkg/sub/__init__.py``), then ``from . import x`` names the
  submodule ``pkg.sub.x`` when it is indexed, else the name ``x`` in ``pkg/sub/__init__``.
- A call ``a.b.c`` whose first name is bound by an import resolves through it; a bare name
  defined in the module resolves to it; ``self.m()`` / ``cls.m()`` inside a class resolves to
  that class's method ``m`` when the class defines it.

Call targets need only the module itself, so the parser's workers resolve them as they
extract; import targets need the whole index and are resolved after each run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ._records import FileFacts, ImportFact


def package_of(module: str, is_package: bool) -> str:
    """The package a module's relative imports resolve against."""
    return module if is_package else module.rpartition(".")[0]


def resolve_relative(package: str, level: int, module: str) -> str | None:
    """The absolute module of ``from <level dots><module> import ...`` in ``package``."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None  # beyond the top-level package
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) or None


def bindings(module: str, is_package: bool, imports: Iterable[ImportFact]) -> dict[str, str]:
    """Local name -> the fullname an import binds it to, in one module."""
    package = package_of(module, is_package)
    bound: dict[str, str] = {}
    for imp in imports:
        base = resolve_relative(package, imp.level, imp.module)
        if base is None:
            continue
        if imp.name is None:  # import a.b [as c]
            top = base.split(".")[0]
            bound[imp.alias or top] = base if imp.alias else top
        elif imp.name != "*":
            bound[imp.alias or imp.name] = f"{base}.{imp.name}" if base else imp.name
    return bound


def call_targets(module: str, is_package: bool, facts: FileFacts) -> list[str | None]:
    """The resolved target of each of a module's calls (None where unknown): everything it
    takes is in the module itself, so the parser's workers do it."""
    bound = bindings(module, is_package, facts.imports)
    functions = {f.qualname for f in facts.functions}
    classes = {c.qualname for c in facts.classes}
    prefix = module + "."
    known: dict[str, str | None] = {}  # callees repeat; only self.m() and cls.m() depend on the caller
    targets = []
    for caller, callee, _ in facts.calls:
        if callee.startswith(("self.", "cls.")):
            target = _target(callee, caller, bound, functions, classes, prefix)
        elif callee in known:
            target = known[callee]
        else:
            target = known[callee] = _target(callee, caller, bound, functions, classes, prefix)
        targets.append(target)
    return targets


def resolve_imports(conn: sqlite3.Connection, paths: Iterable[str] | None = None) -> int:
    """Fill ``imports.resolved`` of every module, or only of the modules at ``paths`` (relative):
    this one needs the whole index, to tell a submodule from a name in a package. Returns how
    many resolved."""
    by_id = {mid: (name, path) for mid, name, path in conn.execute("SELECT id, name, path FROM modules")}
    known = {name for name, _ in by_id.values()}
    if paths is None:
        scope, args = "", ()
    else:
        wanted = set(paths)
        ids = [mid for mid, (_, path) in by_id.items() if path in wanted]
        if not ids:
            return 0
        scope, args = f" WHERE module_id IN ({','.join('?' * len(ids))})", tuple(ids)
    resolved: list[tuple[str | None, int]] = []
    for import_id, module_id, module, name, level in conn.execute(
        "SELECT id, module_id, module, name, level FROM imports" + scope, args
    ):
        mod_name, path = by_id[module_id]
        base = resolve_relative(package_of(mod_name, path.endswith("__init__.py")), level, module)
        if base is not None and name is not None and name != "*":
            submodule = f"{base}.{name}" if base else name
            base = submodule if submodule in known else base
        resolved.append((base, import_id))
    conn.executemany("UPDATE imports SET resolved = ? WHERE id = ?", resolved)
    return sum(1 for r, _ in resolved if r)


def _target(
    callee: str, caller: str, bound: dict[str, str], functions: set[str], classes: set[str], prefix: str
) -> str | None:
    head, _, rest = callee.partition(".")
    if head.endswith(")") or head.endswith("]") or head == "<expr>":
        return None  # called on a computed value
    if head in ("self", "cls") and rest and "." not in rest:
        owner = caller.rpartition(".")[0]  # the method's class (caller is a qualname in the module)
        while owner and owner not in classes:
            owner = owner.rpartition(".")[0]
        if owner and f"{owner}.{rest}" in functions:
            return f"{prefix}{owner}.{rest}"
        return None
    if head in bound:
        return bound[head] + ("." + rest if rest else "")
    if not rest and (callee in functions or callee in classes):
        return prefix + callee
    return None


def module_graph(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """Indexed module -> the indexed modules it imports."""
    known = {name for (name,) in conn.execute("SELECT name FROM modules")}
    graph: dict[str, set[str]] = {name: set() for name in known}
    for importer, imported in conn.execute(
        "SELECT m.name, i.resolved FROM imports i JOIN modules m ON m.id = i.module_id WHERE i.resolved IS NOT NULL"
    ):
        while imported and imported not in known:  # a name inside a module: the module itself
            imported = imported.rpartition(".")[0]
        if imported and imported != importer:
            graph[importer].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)  # type: ignore[call-overload]
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


#: What counts as unused (see :func:`find_unused`): functions, then classes, each
#: ``(fullname, path, line)``.
_UNUSED = {
    "function": (
        "SELECT 'function', f.fullname, m.path, f.lineno FROM functions f JOIN modules m ON m.id = f.module_id "
        "WHERE f.decorators = '[]' AND f.name NOT LIKE 'test%' "
        "AND NOT (f.name LIKE '\\_\\_%\\_\\_' ESCAPE '\\') "
        "AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.callee_name = f.name) "
        "AND NOT EXISTS (SELECT 1 FROM imports i WHERE i.name = f.name) "
        "AND NOT EXISTS (SELECT 1 FROM edges e WHERE e.target = f.fullname AND e.caller != f.fullname) "
        "AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.target = f.fullname AND r.scope != f.fullname)"
    ),
    "class": (
        "WITH RECURSIVE tests(name) AS (SELECT class FROM inherits WHERE base IN "
        "('unittest.TestCase', 'unittest.case.TestCase', 'TestCase') "
        "UNION SELECT i.class FROM inherits i JOIN tests t ON i.base = t.name) "
        "SELECT 'class', c.fullname, m.path, c.lineno FROM classes c JOIN modules m ON m.id = c.module_id "
        "WHERE c.decorators = '[]' AND c.name NOT LIKE 'Test%' AND c.fullname NOT IN tests "
        "AND c.name NOT LIKE '%Test' AND c.name NOT LIKE '%Tests' "
        "AND NOT EXISTS (SELECT 1 FROM edges e WHERE e.target = c.fullname) "
        "AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.target = c.fullname AND r.scope != c.fullname) "
        "AND NOT EXISTS (SELECT 1 FROM inherits i WHERE i.base = c.fullname) "
        "AND NOT EXISTS (SELECT 1 FROM imports i WHERE i.name = c.name) "
        "AND NOT EXISTS (SELECT 1 FROM class_bases b WHERE b.base = c.name)"
    ),
}


def find_unused(conn: sqlite3.Connection) -> None:
    """Fill the ``unused`` table with every candidate, after call resolution (a whole-program
    question is answered once per resolution, not per asking).

    Unused functions: nothing uses them. A use is a call that resolves to it (or is written with
    its name), an import of its name, or a read of it as a value anywhere else (an alias, a
    callback, a dispatch table, a returned closure, ``__all__``). Unused classes: nothing
    instantiates, derives from, imports by name or reads them as a value. Dunder methods, tests
    (``test*`` functions; ``Test*``, ``*Test`` classes and what derives from ``unittest.TestCase``)
    and decorated definitions (often registered elsewhere) are left out. Dynamic use (getattr,
    strings) is invisible here, so these are candidates, not verdicts.
    """
    conn.execute("DELETE FROM unused")
    for query in _UNUSED.values():
        conn.execute("INSERT INTO unused (kind, fullname, path, line) " + query)


def unused(conn: sqlite3.Connection, kind: str, prefix: str = "") -> list[tuple[str, str, int]]:
    """The unused ``kind`` ("function" or "class") candidates under ``prefix``, as the last
    call resolution found them: ``(fullname, path, line)``."""
    return conn.execute(
        "SELECT fullname, path, line FROM unused WHERE kind = ? AND fullname LIKE ? ESCAPE '\\' ORDER BY fullname, path, line",
        (kind, _like_prefix(prefix)),
    ).fetchall()


#: A path search stops after visiting this many functions.
MAX_PATH_VISITS = 200_000


def shortest_path(conn: sqlite3.Connection, start: str, goal: str) -> list[tuple[int, str, str, int | None]]:
    """The shortest chain of resolved calls from ``start`` to ``goal`` (each a dotted name, read
    through re-exports): rows ``(step, caller, callee, line)``; empty when there is none."""
    start, goal = resolve_name(conn, start), resolve_name(conn, goal)
    parent: dict[str, tuple[str, int | None]] = {start: ("", None)}
    frontier = [start]
    while frontier and goal not in parent and len(parent) < MAX_PATH_VISITS:
        following = []
        for caller in frontier:
            for target, line in conn.execute(
                "SELECT target, min(lineno) FROM edges WHERE caller = ? GROUP BY target", (caller,)
            ):
                if target not in parent:
                    parent[target] = (caller, line)
                    following.append(target)
        frontier = following
    if goal not in parent or goal == start:
        return []
    steps = []
    node = goal
    while node != start:
        caller, line = parent[node]
        steps.append((caller, node, line))
        node = caller
    return [(i + 1, caller, callee, line) for i, (caller, callee, line) in enumerate(reversed(steps))]


def resolve_name(conn: sqlite3.Connection, name: str) -> str:
    """What a dotted name means through re-exports (itself when nothing else)."""
    found = conn.execute("SELECT target FROM names WHERE name = ?", (name,)).fetchone()
    return found[0] if found else name


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if not prefix else f"{escaped}.%"
