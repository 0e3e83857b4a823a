"""Facts from CPython's own tree (``ast``): the parser's path for files tree-sitter cannot be
trusted with (syntax errors, Python 2, other encodings), and the reference the fast path is
tested against.

Cyclomatic complexity follows radon's rules exactly (radon 6 ``ComplexityVisitor``): a function
starts at 1 and its body (not its decorators, defaults or annotations, not nested functions or
classes) adds 1 per ``if`` / ``elif`` / conditional expression, ``for`` / ``while`` (+1 with
``else``), ``except`` handler, ``try``'s ``else``, boolean operator, comprehension ``for`` and
``if``, ``assert`` (its expression unvisited), and ``match`` case (a catch-all case not counted).
``with`` and ``except*`` count nothing, as in radon.

Calls in decorators, defaults, annotations and base classes belong to the enclosing scope: that
is where they run.
"""

from __future__ import annotations

import ast
from typing import cast

from ._records import CallFact, ClassFact, Definitions, FunctionFact, ImportFact, first_line


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


def text(node: ast.expr) -> str:
    """A call target, base or decorator as written: ``a.b``, ``f(...).m``, ``x[...].m``, else ``<expr>``."""
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
            return first_line(value)
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


def _parameters(arguments: ast.arguments) -> tuple[str, ...]:
    params = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    if arguments.vararg:
        params.append("*" + arguments.vararg.arg)
    params.extend(a.arg for a in arguments.kwonlyargs)
    if arguments.kwarg:
        params.append("**" + arguments.kwarg.arg)
    return tuple(params)


def header(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """What a ``def`` statement evaluates in the enclosing scope."""
    arguments = fn.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    return [
        *fn.decorator_list,
        *arguments.defaults,
        *(d for d in arguments.kw_defaults if d is not None),
        *(a.annotation for a in every if a is not None and a.annotation is not None),
        *([fn.returns] if fn.returns is not None else []),
    ]


def extract(tree: ast.Module) -> Definitions:
    """Classes, functions, calls and imports of a parsed module, in one walk."""
    classes: list[ClassFact] = []
    functions: list[FunctionFact] = []
    calls: list[CallFact] = []
    imports: list[ImportFact] = []
    # (node, qualified name of the enclosing scope, enclosing class qualname or None, caller name)
    stack: list[tuple[ast.AST, str, str | None, str]] = [(child, "", None, "<module>") for child in tree.body]
    stack.reverse()
    while stack:
        node, scope, cls, caller = stack.pop()
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            fn: ast.FunctionDef = node  # type: ignore[assignment]
            qualname = f"{scope}.{fn.name}" if scope else fn.name
            functions.append(
                FunctionFact(
                    qualname,
                    fn.name,
                    cls,
                    fn.lineno,
                    fn.end_lineno or fn.lineno,
                    _parameters(fn.args),
                    tuple(text(d) for d in fn.decorator_list),
                    kind is ast.AsyncFunctionDef,
                    _doc(fn.body),
                    complexity(fn),
                )
            )
            stack.extend((child, scope, cls, caller) for child in reversed(header(fn)))
            stack.extend((child, qualname, None, qualname) for child in reversed(fn.body))
        elif kind is ast.ClassDef:
            cd: ast.ClassDef = node  # type: ignore[assignment]
            qualname = f"{scope}.{cd.name}" if scope else cd.name
            methods = tuple(s.name for s in cd.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
            classes.append(
                ClassFact(
                    qualname,
                    cd.name,
                    cd.lineno,
                    cd.end_lineno or cd.lineno,
                    tuple(text(b) for b in cd.bases),
                    tuple(text(d) for d in cd.decorator_list),
                    methods,
                    _doc(cd.body),
                )
            )
            outside = [*cd.decorator_list, *cd.bases, *(k.value for k in cd.keywords)]
            stack.extend((child, scope, cls, caller) for child in reversed(outside))
            stack.extend((child, qualname, qualname, qualname) for child in reversed(cd.body))
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                imports.append(ImportFact(alias.name, None, alias.asname, 0, node.lineno))  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom:
            found = cast(ast.ImportFrom, node)
            for alias in found.names:
                imports.append(ImportFact(found.module or "", alias.name, alias.asname, found.level, found.lineno))
        else:
            if kind is ast.Call:
                calls.append(CallFact(caller, text(node.func), node.lineno))  # type: ignore[attr-defined]
            children = list(ast.iter_child_nodes(node))
            children.reverse()
            stack.extend((child, scope, cls, caller) for child in children)
    return tuple(classes), tuple(functions), tuple(calls), tuple(imports)
