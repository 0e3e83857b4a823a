"""Facts of one Python file: what the parser's worker processes send back instead of syntax trees.

A :class:`FileFacts` is a compact record (tuples of strings and ints) of a module's classes,
functions, calls and imports, or of why the file could not be parsed. Trees never leave the
worker: pickling them costs several times more than parsing again.

Cyclomatic complexity follows radon's rules exactly (radon 6 ``ComplexityVisitor``): a function
starts at 1 and its body (not its decorators or defaults, not nested functions or classes) adds
1 per ``if`` / conditional expression, ``for`` / ``while`` (+1 with ``else``), ``except``
handler, ``try``'s ``else``, boolean operator operand beyond the first, comprehension (+1 per
``if``), ``assert`` (its expression unvisited), and ``match`` case (a catch-all case not
counted). ``with`` and ``except*`` count nothing, as in radon.
"""

from __future__ import annotations

import ast
import hashlib
import os
from typing import NamedTuple

#: Files larger than this are recorded as errors instead of parsed.
MAX_BYTES = 20 * 1024 * 1024


class ClassFact(NamedTuple):
    qualname: str
    name: str
    lineno: int
    end_lineno: int
    bases: tuple[str, ...]
    decorators: tuple[str, ...]
    methods: tuple[str, ...]
    doc: str | None


class FunctionFact(NamedTuple):
    qualname: str
    name: str
    cls: str | None  # the qualified name of the class for a method
    lineno: int
    end_lineno: int
    args: tuple[str, ...]
    decorators: tuple[str, ...]
    is_async: bool
    doc: str | None
    complexity: int


class CallFact(NamedTuple):
    caller: str  # qualified name of the enclosing function, class, or "<module>"
    callee: str  # as written: a dotted name, or "<expr>" for calls of computed values
    lineno: int


class ImportFact(NamedTuple):
    module: str  # as written ("" for "from . import x")
    name: str | None  # None for "import module"
    alias: str | None
    level: int
    lineno: int


class ErrorFact(NamedTuple):
    line: int | None
    message: str


class FileFacts(NamedTuple):
    """Everything the index keeps of one file."""

    path: str
    module: str
    digest: str
    size: int
    lines: int
    error: ErrorFact | None
    classes: tuple[ClassFact, ...] = ()
    functions: tuple[FunctionFact, ...] = ()
    calls: tuple[CallFact, ...] = ()
    imports: tuple[ImportFact, ...] = ()
    #: Every identifier the module uses (names, attributes, definitions, imports): narrows searches.
    identifiers: frozenset[str] = frozenset()


def module_name(root: str, path: str) -> str:
    """The dotted module name of ``path`` under ``root`` (``pkg/__init__.py`` is ``pkg``)."""
    rel = os.path.relpath(path, root)
    parts = rel[:-3].split(os.sep) if rel.endswith(".py") else rel.split(os.sep)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts else os.path.basename(os.path.abspath(root))


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _text(node: ast.expr) -> str:
    """A call target or decorator as written: ``a.b``, ``f(...).m``, ``x[...].m``, else ``<expr>``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        base = node.id
    elif isinstance(node, ast.Call):
        inner = dotted(node.func)
        base = f"{inner}(...)" if inner else "<expr>"
    elif isinstance(node, ast.Subscript):
        inner = dotted(node.value)
        base = f"{inner}[...]" if inner else "<expr>"
    else:
        base = "<expr>"
    parts.append(base)
    return ".".join(reversed(parts))


def _doc(body: list[ast.stmt]) -> str | None:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        value = body[0].value.value
        if isinstance(value, str):
            stripped = value.strip()
            return stripped.splitlines()[0] if stripped else ""
    return None


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def complexity(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Cyclomatic complexity of one function, as radon computes it (see the module docstring)."""
    total = 1
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _SCOPES:
            continue
        if kind is ast.Assert:
            total += 1
            continue
        if kind is ast.If or kind is ast.IfExp:
            total += 1
        elif kind is ast.For or kind is ast.While or kind is ast.AsyncFor:
            total += 1 + bool(node.orelse)  # type: ignore[attr-defined]
        elif kind is ast.Try:
            total += len(node.handlers) + bool(node.orelse)  # type: ignore[attr-defined]
        elif kind is ast.BoolOp:
            total += len(node.values) - 1  # type: ignore[attr-defined]
        elif kind is ast.comprehension:
            total += len(node.ifs) + 1  # type: ignore[attr-defined]
        elif kind is ast.Match:
            cases = node.cases  # type: ignore[attr-defined]
            catch_all = any(getattr(case.pattern, "pattern", False) is None for case in cases)
            total += max(0, len(cases) - catch_all)
        stack.extend(ast.iter_child_nodes(node))
    return total


def extract(tree: ast.Module) -> tuple[tuple[ClassFact, ...], tuple[FunctionFact, ...], tuple[CallFact, ...],
                                        tuple[ImportFact, ...], frozenset[str]]:
    """Classes, functions, calls, imports and identifiers of a parsed module, in one walk."""
    classes: list[ClassFact] = []
    functions: list[FunctionFact] = []
    calls: list[CallFact] = []
    imports: list[ImportFact] = []
    names: set[str] = set()
    # (node, qualified name of the enclosing scope, enclosing class qualname or None, caller name)
    stack: list[tuple[ast.AST, str, str | None, str]] = [(child, "", None, "<module>") for child in tree.body]
    stack.reverse()
    while stack:
        node, scope, cls, caller = stack.pop()
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            fn: ast.FunctionDef = node  # type: ignore[assignment]
            names.add(fn.name)
            qualname = f"{scope}.{fn.name}" if scope else fn.name
            arguments = fn.args
            params = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
            if arguments.vararg:
                params.append("*" + arguments.vararg.arg)
            params.extend(a.arg for a in arguments.kwonlyargs)
            if arguments.kwarg:
                params.append("**" + arguments.kwarg.arg)
            names.update(p.lstrip("*") for p in params)
            functions.append(FunctionFact(
                qualname, fn.name, cls, fn.lineno, fn.end_lineno or fn.lineno, tuple(params),
                tuple(_text(d) for d in fn.decorator_list), kind is ast.AsyncFunctionDef, _doc(fn.body),
                complexity(fn)))
            outside = [*fn.decorator_list, *arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
            stack.extend((child, scope, cls, caller) for child in reversed(outside))
            stack.extend((child, qualname, None, qualname) for child in reversed(fn.body))
        elif kind is ast.ClassDef:
            cd: ast.ClassDef = node  # type: ignore[assignment]
            names.add(cd.name)
            qualname = f"{scope}.{cd.name}" if scope else cd.name
            methods = tuple(s.name for s in cd.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
            classes.append(ClassFact(
                qualname, cd.name, cd.lineno, cd.end_lineno or cd.lineno, tuple(_text(b) for b in cd.bases),
                tuple(_text(d) for d in cd.decorator_list), methods, _doc(cd.body)))
            outside = [*cd.decorator_list, *cd.bases, *(k.value for k in cd.keywords)]
            stack.extend((child, scope, cls, caller) for child in reversed(outside))
            stack.extend((child, qualname, qualname, qualname) for child in reversed(cd.body))
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                names.update(alias.name.split("."))
                imports.append(ImportFact(alias.name, None, alias.asname, 0, node.lineno))  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom:
            names.update((node.module or "").split("."))  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                names.add(alias.name)
                imports.append(ImportFact(node.module or "", alias.name, alias.asname, node.level,  # type: ignore[attr-defined]
                                          node.lineno))  # type: ignore[attr-defined]
        else:
            if kind is ast.Name:
                names.add(node.id)  # type: ignore[attr-defined]
            elif kind is ast.Attribute:
                names.add(node.attr)  # type: ignore[attr-defined]
            elif kind is ast.arg:
                names.add(node.arg)  # type: ignore[attr-defined]
            elif kind is ast.keyword and node.arg:  # type: ignore[attr-defined]
                names.add(node.arg)  # type: ignore[attr-defined]
            if kind is ast.Call:
                calls.append(CallFact(caller, _text(node.func), node.lineno))  # type: ignore[attr-defined]
            children = list(ast.iter_child_nodes(node))
            children.reverse()
            stack.extend((child, scope, cls, caller) for child in children)
    names.discard("")
    return tuple(classes), tuple(functions), tuple(calls), tuple(imports), frozenset(names)


def facts_of(root: str, path: str) -> FileFacts:
    """Read, parse and extract one file. Never raises: bad input becomes ``error``."""
    module = module_name(root, path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return FileFacts(path, module, "", size, 0, ErrorFact(None, f"file too large ({size} bytes)"))
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        return FileFacts(path, module, "", 0, 0, ErrorFact(None, f"unreadable: {exc.strerror or exc}"))
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if b"\0" in data:
        return FileFacts(path, module, digest, len(data), lines, ErrorFact(None, "binary file (contains NUL bytes)"))
    try:
        tree = ast.parse(data, filename=path)
    except SyntaxError as exc:
        return FileFacts(path, module, digest, len(data), lines, ErrorFact(exc.lineno, exc.msg))
    except (ValueError, UnicodeDecodeError) as exc:
        return FileFacts(path, module, digest, len(data), lines, ErrorFact(None, str(exc)))
    except (RecursionError, MemoryError) as exc:
        return FileFacts(path, module, digest, len(data), lines, ErrorFact(None, f"too deeply nested: {type(exc).__name__}"))
    try:
        classes, functions, calls, imports, identifiers = extract(tree)
    except RecursionError:
        return FileFacts(path, module, digest, len(data), lines, ErrorFact(None, "too deeply nested to analyse"))
    return FileFacts(path, module, digest, len(data), lines, None, classes, functions, calls, imports, identifiers)


def facts_of_many(root: str, paths: list[str]) -> list[FileFacts]:
    """Worker entry point: the facts of a chunk of files."""
    return [facts_of(root, path) for path in paths]
