"""The flow facts of one module: what the call-graph solver (:mod:`scope_ext.code._callgraph`) needs
to know of its assignments, returns and call arguments, as plain strings.

A *value text* names where a value comes from, as a chain: a name, then ``.attr`` (an attribute),
``()`` (the result of calling it) and ``[]`` (an element of it), e.g. ``self.parser().parse``; or an
import, ``@`` and the module as written with its leading dots, then ``:name`` for a ``from``
import (``@..pkg.mod:name``). A *target text* is a name, an attribute of a value text
(``self.handler``) or an element of one (``self.handlers[]``).

Each fact is ``(scope, target, value)``, ``scope`` a function's or class's qualified name, or ""
for the module:

- ``x = f()`` in ``g`` is ``("g", "x", "f()")``; several values give several facts
  (``x = a or b``, ``x = [a, b]``: containers are transparent, an element stands for the list);
- ``return v`` (and ``yield v``) in ``g`` is ``("g", "", "v")``;
- the argument ``v`` of ``f.m(..., key=v)`` in ``g`` is ``("g", "f.m(key", "v")`` and the second
  positional one ``("g", "f.m(1", "v")``, the callee written as its call's record writes it;
- each name in the module's ``__all__ = [...]`` is read: ``("", "__all__", "name")``.

Each scope also lists the names it binds (a function's locals, a class body's names, the module's
globals) so the solver follows Python's scoping rules. Comprehension variables count as the
enclosing scope's, which is what their values need and harmless otherwise.
"""

from __future__ import annotations

import ast

from ._extract_ast import header, text
from ._records import Flow

#: A value text of a literal list or dict holds at most this many elements' values.
MAX_ELEMENTS = 1000


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def values(node: ast.expr) -> list[str]:
    """The value texts an expression may evaluate to (none for literals and lambdas)."""
    kind = type(node)
    if kind is ast.Name:
        return [node.id]  # type: ignore[attr-defined]
    if kind is ast.Attribute:
        return [f"{v}.{node.attr}" for v in values(node.value)]  # type: ignore[attr-defined]
    if kind is ast.Call:
        return [v + "()" for v in values(node.func)]  # type: ignore[attr-defined]
    if kind is ast.Subscript:
        return [v + "[]" for v in values(node.value)]  # type: ignore[attr-defined]
    if kind is ast.Await or kind is ast.NamedExpr or kind is ast.Starred:
        return values(node.value)  # type: ignore[attr-defined]
    if kind is ast.IfExp:
        return values(node.body) + values(node.orelse)  # type: ignore[attr-defined]
    if kind is ast.BoolOp:
        return [v for part in node.values for v in values(part)]  # type: ignore[attr-defined]
    if kind is ast.List or kind is ast.Tuple or kind is ast.Set:
        return _elements(node.elts, node.elts)  # type: ignore[attr-defined]
    if kind is ast.Dict:
        return _elements(node.values, node.keys)  # type: ignore[attr-defined]
    if kind is ast.ListComp or kind is ast.SetComp or kind is ast.GeneratorExp:
        return [v + "{}" for v in values(node.elt)]  # type: ignore[attr-defined]
    if kind is ast.DictComp:
        return [v + "{}" for v in values(node.value)]  # type: ignore[attr-defined]
    return []


def _elements(parts: list[ast.expr], keys: list[ast.expr | None]) -> list[str]:
    """A literal container's value texts (``keys`` are a dict's, else the parts again): each
    element's, one container deeper; a splat's (``*a``, ``**d``) elements are its own."""
    found = []
    for part, key in zip(parts[:MAX_ELEMENTS], keys[:MAX_ELEMENTS], strict=False):
        if type(part) is ast.Starred:
            found += values(part.value)  # type: ignore[attr-defined]
        elif key is None:  # {**d}
            found += values(part)
        else:
            found += [v + "{}" for v in values(part)]
    return found


def exported(value: ast.expr | None) -> list[str]:
    """The names a module's ``__all__ = [...]`` (or ``+=``) lists: each one is read as a value,
    so what it names counts as used."""
    if type(value) not in (ast.List, ast.Tuple):
        return []
    found = [e.value for e in value.elts if type(e) is ast.Constant]  # type: ignore[union-attr]
    return [v for v in found if isinstance(v, str) and v.isidentifier()]


def element(text: str) -> str:
    """The value text of an element of ``text``."""
    return text[:-2] if text.endswith("{}") else text + "[]"


#: The expressions that can be assigned to (a name, an attribute, an element).
_TARGETS = (ast.Name, ast.Attribute, ast.Subscript)


def _names(node: ast.expr) -> list[str]:
    """The names an assignment target binds."""
    return [n.id for n in ast.walk(node) if type(n) is ast.Name and type(n.ctx) is ast.Store]  # type: ignore[attr-defined]


class _Scope:
    __slots__ = ("qualname", "bound", "declared")

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname
        self.bound: set[str] = set()
        self.declared: set[str] = set()  # global or nonlocal: not this scope's


def flow(tree: ast.Module) -> Flow:
    """The flow facts of a module parsed by CPython (the reference the tree-sitter reading,
    :func:`scope_ext.code._extract_tree.flow`, is tested against)."""
    facts: list[tuple[str, str, str]] = []
    module = _Scope("")
    scopes = {"": module}  # a function defined twice (in an if and its else) is one scope
    # (node, scope): nodes still to visit, with the scope they run in
    stack: list[tuple[ast.AST, _Scope]] = [(child, module) for child in reversed(tree.body)]

    def assign(scope: _Scope, target: ast.expr, value: ast.expr | None, each: bool = False) -> None:
        """``target = value`` (``for target in value`` when ``each``)."""
        if scope is module and type(target) is ast.Name and target.id == "__all__" and not each:
            facts.extend(("", "__all__", name) for name in exported(value))
        if not each and type(target) in (ast.Tuple, ast.List) and type(value) in (ast.Tuple, ast.List):
            left, right = target.elts, value.elts  # type: ignore[attr-defined,union-attr]
            if len(left) == len(right) and not any(type(e) is ast.Starred for e in left + right):
                for one, other in zip(left, right, strict=True):
                    assign(scope, one, other)
                return
        found = values(value) if value is not None else []
        unpack(scope, target, [element(v) for v in found] if each else found)

    def unpack(scope: _Scope, target: ast.expr, found: list[str]) -> None:
        kind = type(target)
        if kind is ast.Tuple or kind is ast.List:
            for part in target.elts:  # type: ignore[attr-defined]
                if type(part) is ast.Starred:  # a, *rest = x: rest holds x's elements
                    unpack(scope, part.value, found)  # type: ignore[attr-defined]
                else:
                    unpack(scope, part, [element(v) for v in found])
            return
        scope.bound.update(_names(target))
        facts.extend(
            (scope.qualname, t, v) for t in (values(target) if type(target) in _TARGETS else []) for v in found
        )

    while stack:
        node, scope = stack.pop()
        kind = type(node)
        if kind in _FUNCTIONS or kind is ast.ClassDef:
            scope.bound.add(node.name)  # type: ignore[attr-defined]
            qualname = f"{scope.qualname}.{node.name}" if scope.qualname else node.name  # type: ignore[attr-defined]
            inner = scopes.get(qualname) or scopes.setdefault(qualname, _Scope(qualname))
            if kind is ast.ClassDef:
                outside: list[ast.AST] = [*node.decorator_list, *node.bases, *node.keywords]  # type: ignore[attr-defined]
            else:
                arguments: ast.arguments = node.args  # type: ignore[attr-defined]
                every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
                every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
                inner.bound.update(a.arg for a in every)
                outside = list(header(node))  # type: ignore[arg-type]
                positional = [*arguments.posonlyargs, *arguments.args]
                for param, default in zip(
                    positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
                ):
                    facts.extend((qualname, param.arg, v) for v in values(default))
                for param, given in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
                    if given is not None:
                        facts.extend((qualname, param.arg, v) for v in values(given))
            stack.extend((child, inner) for child in reversed(node.body))  # type: ignore[attr-defined]
            stack.extend((child, scope) for child in reversed(outside))
            continue
        if kind is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                assign(scope, target, node.value)  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign or kind is ast.AugAssign or kind is ast.NamedExpr:
            assign(scope, node.target, node.value)  # type: ignore[attr-defined]
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
            assign(scope, node.target, node.iter, each=True)  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            if node.optional_vars is not None:  # type: ignore[attr-defined]
                assign(scope, node.optional_vars, node.context_expr)  # type: ignore[attr-defined]
        elif kind is ast.Return:
            if node.value is not None:  # type: ignore[attr-defined]
                facts.extend((scope.qualname, "", v) for v in values(node.value))  # type: ignore[attr-defined]
        elif kind is ast.Yield:  # a generator is a container of what it yields
            if node.value is not None:  # type: ignore[attr-defined]
                facts.extend((scope.qualname, "", v + "{}") for v in values(node.value))  # type: ignore[attr-defined]
        elif kind is ast.YieldFrom:
            facts.extend((scope.qualname, "", v) for v in values(node.value))  # type: ignore[attr-defined]
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                name = alias.asname or alias.name.partition(".")[0]
                scope.bound.add(name)
                facts.append((scope.qualname, name, "@" + (alias.name if alias.asname else name)))
        elif kind is ast.ImportFrom:
            source = "@" + "." * node.level + (node.module or "") + ":"  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name != "*":
                    scope.bound.add(alias.asname or alias.name)
                facts.append((scope.qualname, alias.asname or alias.name, source + alias.name))
        elif kind is ast.Global or kind is ast.Nonlocal:
            scope.declared.update(node.names)  # type: ignore[attr-defined]
            if kind is ast.Global:
                module.bound.update(node.names)  # type: ignore[attr-defined]
        elif kind is ast.ExceptHandler:
            if node.name:  # type: ignore[attr-defined]
                scope.bound.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            callee = text(node.func)  # type: ignore[attr-defined]
            for index, arg in enumerate(node.args):  # type: ignore[attr-defined]
                if type(arg) is ast.Starred:
                    break
                facts.extend((scope.qualname, f"{callee}({index}", v) for v in values(arg))
            for keyword in node.keywords:  # type: ignore[attr-defined]
                if keyword.arg is not None:
                    facts.extend((scope.qualname, f"{callee}({keyword.arg}", v) for v in values(keyword.value))
        stack.extend((child, scope) for child in reversed(list(ast.iter_child_nodes(node))))
    return Flow(
        tuple((s.qualname, " " + " ".join(sorted(s.bound - s.declared)) + " ") for s in scopes.values()),
        tuple(facts),
    )
