"""Whole-program call resolution: which functions each call may reach.

An inclusion-based (Andersen-style) points-to analysis over the flow facts of every module
(:mod:`scope_ext.code._flow`), in the spirit of PyCG and Jarvis: flow- and context-insensitive,
field-sensitive on modules, classes and instances. Every variable, parameter, return value,
module global, class attribute and instance attribute is a node; a node holds the abstract values
that may reach it: modules, functions, classes, instances of a class, methods bound to an instance
or class, and names outside the index (``re.compile``). Assignments copy values between nodes;
attribute reads, stores and calls add edges as values arrive (a call binds arguments to the
parameters of each function it may reach and copies that function's return value back;
``C()`` reaches ``C.__init__`` found along ``C``'s MRO and gives an instance of ``C``). Containers
are transparent: an element stands for its container, so callables kept in lists and dicts and
called later resolve.

Class hierarchies are read first (imports, definitions and module-level aliases solved), then
frozen as C3 linearisations; ``super().m`` looks after the defining class in its MRO.
"""

from __future__ import annotations

import builtins
import marshal
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from ._analysis import package_of, resolve_relative
from ._facts import facts_of
from ._records import CallFact, ClassFact, FileFacts, Flow, FunctionFact

#: A value's key: its kind, then names (a bound method's: function, class, receiver kind).
Key = tuple[Any, ...]
#: What a node's arriving values do: ("attr", name, out), ("call", out), ("arg", key, source),
#: ("store", name, source).
Watcher = tuple[Any, ...]

#: Builtin classes: a base written as one of these, and bound nowhere in its module, is it.
_BUILTIN_CLASSES = frozenset(name for name, value in vars(builtins).items() if isinstance(value, type))
#: The values of a node no value reached (most nodes): one shared empty set.
_NONE: frozenset[int] = frozenset()
#: Names outside the index are followed this many attributes deep (``os.path.join``: 2).
MAX_EXTERNAL_DEPTH = 3
#: Containers are followed this many levels deep (a dict of lists of functions: 2); deeper ones
#: count as this deep.
MAX_DEPTH = 3
#: A node reached by more values than this is an over-general helper's (``repr(x)``, ``wraps(f)``)
#: and holds none: calls through it are left unresolved rather than sent everywhere.
MAX_VALUES = 64

# Kinds of abstract values (the first field of a value's tuple).
MODULE, FUNCTION, CLASS, INSTANCE, BOUND, EXTERNAL, SUPER = range(7)

#: Calling ``x.<name>(v)`` puts ``v`` into ``x`` (containers are transparent); the argument's position.
_PUTS = {"append": "0", "add": "0", "appendleft": "0", "insert": "1", "setdefault": "1", "extend": "0", "update": "0"}
#: Calling ``x.<name>()`` gives ``x``'s elements back.
#: Calling ``x.<name>()`` gives what ``x`` holds, this many containers deeper: an element of it (-1),
#: another container of its elements (0), or a container of (key, element) pairs (+1).
_GETS = {
    "get": -1,
    "pop": -1,
    "popleft": -1,
    "setdefault": -1,
    "__getitem__": -1,
    "values": 0,
    "keys": 0,
    "copy": 0,
    "items": 1,
}
#: Decorators that make a method a property: reading the attribute calls it.
_PROPERTIES = frozenset({"property", "cached_property", "functools.cached_property", "abc.abstractproperty"})


class Module(NamedTuple):
    """What the solver reads of one module."""

    name: str
    is_package: bool
    classes: Sequence[ClassFact]
    functions: Sequence[FunctionFact]
    calls: Sequence[CallFact]
    flow: Flow


class _Function(NamedTuple):
    module: str
    scope: str  # its own qualname: the scope of its parameters
    positional: tuple[str, ...]
    keywords: frozenset[str]
    star: str | None
    double_star: str | None
    kind: str  # "function", "method", "classmethod", "staticmethod", "property", "setter"
    cls: str | None  # fullname of the class it is defined in
    names: frozenset[str]  # every parameter's name


class _Class(NamedTuple):
    module: str
    qualname: str
    enclosing: str
    bases: tuple[str, ...]


def _function(module: str, fact: FunctionFact) -> _Function:
    positional: list[str] = []
    keywords: set[str] = set()
    star = double_star = None
    for arg in fact.args:
        if arg.startswith("**"):
            double_star = arg[2:]
        elif arg.startswith("*"):
            star = arg[1:]
        else:
            keywords.add(arg)
            if star is None:
                positional.append(arg)
    decorators = set(fact.decorators)
    if fact.cls is None:
        kind = "function"
    elif decorators & _PROPERTIES or any(d.endswith(".getter") for d in decorators):
        kind = "property"
    elif any(d.endswith((".setter", ".deleter")) for d in decorators):
        kind = "setter"
    elif "staticmethod" in decorators:
        kind = "staticmethod"
    elif "classmethod" in decorators:
        kind = "classmethod"
    else:
        kind = "method"
    cls = f"{module}.{fact.cls}" if fact.cls is not None else None
    names = frozenset(keywords | {n for n in (star, double_star) if n})
    return _Function(module, fact.qualname, tuple(positional), frozenset(keywords), star, double_star, kind, cls, names)


class Solver:
    """The points-to graph of a set of modules, solved to a fixed point by :meth:`solve`."""

    def __init__(self, modules: Iterable[Module]) -> None:
        self.modules = {m.name: m for m in modules}
        self.functions: dict[str, _Function] = {}
        self.classes: dict[str, _Class] = {}
        self.scopes: dict[tuple[str, str], tuple[set[str], bool]] = {}  # (module, qualname) -> (bound, is_class)
        self.values: list[Key] = []  # value id -> its key: (kind, name, ...)
        self.depth: list[int] = []  # value id -> how many containers deep it is held
        self._value_ids: dict[tuple[Key, int], int] = {}
        self.pts: list[set[int] | frozenset[int]] = []  # the values reaching each node (_NONE: none yet)
        # What a node's new values go on to, by node (only nodes that have any):
        self._copies: dict[int, set[int]] = {}  # destinations
        self._edges: dict[int, set[tuple[int, int, int]]] = {}  # (destination, mode, class value): bindings
        self._shifts: dict[int, set[tuple[int, int]]] = {}  # (destination, depth change): into and out of containers
        self._watchers: dict[int, list[Watcher]] = {}  # attribute reads and stores, calls, arguments
        self._externals: set[int] = set()  # the ids of names outside the index
        self._nodes: dict[Key, int] = {}
        self._pending: dict[int, set[int]] = {}
        self._mro: dict[str, list[str]] = {}
        self._mro_ready = False
        self._deferred: list[tuple[int, str, int]] = []
        self._arguments: set[tuple[int, str, int]] = set()
        self._readers: dict[int, tuple[str, str]] = {}  # attribute nodes: the module and scope reading
        self._mentions: list[tuple[str, str, int]] = []  # names and attributes read: (module, scope, node)
        #: Properties read: (module, scope reading, the property's fullname).
        self.reads: set[tuple[str, str, str]] = set()
        self._methods: dict[str, list[str]] = {}  # class fullname -> its methods' fullnames
        #: Decorators applied: (module, scope applying, line of the definition, the decorator's
        #: node, its text).
        self._decorations: list[tuple[str, str, int, int, str]] = []
        #: Parameters, return values and instance attributes: names outside the index do not
        #: flow into them (they would reach every generic helper and say nothing).
        self._closed: set[int] = set()
        #: Nodes that were reached by more than MAX_VALUES values: they hold none from then on.
        self.saturated: set[int] = set()
        self.empty = self._node()
        for module in self.modules.values():
            self._read(module)

    # -- values and nodes -------------------------------------------------------------------------
    def value(self, *key: object, depth: int = 0) -> int:
        """The id of an abstract value (interned), held ``depth`` containers deep."""
        found = self._value_ids.get((key, depth))
        if found is None:
            found = self._value_ids[(key, depth)] = len(self.values)
            self.values.append(key)
            self.depth.append(depth)
            if key[0] == EXTERNAL:
                self._externals.add(found)
            if key[0] == BOUND and depth == 0:  # the receiver reaches the method's first parameter
                function = self.functions[key[1]]  # type: ignore[index]
                if function.positional:
                    receiver = self.value(CLASS if key[3] == CLASS else INSTANCE, key[2])
                    self._add(self.var(function.module, function.scope, function.positional[0]), (receiver,))
        return found

    def _node(self) -> int:
        self.pts.append(_NONE)
        return len(self.pts) - 1

    def var(self, module: str, scope: str, name: str) -> int:
        """The node of a variable (``name`` "" is a function's return value)."""
        key = (module, scope, name)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = self._node()
            if not module or not name:
                self._closed.add(node)
            elif scope:
                function = self.functions.get(f"{module}.{scope}")
                if function is not None and name in function.names:
                    self._closed.add(node)
        return node

    def _constant(self, value: int) -> int:
        key = ("=", value)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = self._node()
            self._add(node, (value,))
        return node

    def _add(self, node: int, values: Iterable[int]) -> None:
        held = self.pts[node]
        new = set(values).difference(held)
        if not new:
            return
        if node in self._closed:
            new -= self._externals
            if not new:
                return
        if len(held) + len(new) > MAX_VALUES:
            if node not in self.saturated:  # an over-general helper: it says nothing any more
                self.saturated.add(node)
                self.pts[node] = _NONE
                self._pending.pop(node, None)
            return
        if held is _NONE:
            self.pts[node] = set(new)
        else:
            held |= new  # type: ignore[operator]
        pending = self._pending.get(node)
        if pending is None:
            self._pending[node] = new
        else:
            pending |= new

    def _copy(self, source: int, destination: int) -> None:
        copies = self._copies.get(source)
        if copies is None:
            copies = self._copies[source] = set()
        elif destination in copies:
            return
        if destination != source:
            copies.add(destination)
            if self.pts[source]:
                self._add(destination, self.pts[source])

    def _shift(self, source: int, change: int) -> int:
        """A node holding ``source``'s values put into a container (+1) or taken out of one (-1;
        values not in a container have no elements)."""
        key = ("shift", source, change)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = self._node()
            self._shifts.setdefault(source, set()).add((node, change))
            self._add(node, self._shifted(self.pts[source], change))
        return node

    def _shifted(self, values: Iterable[int], change: int) -> list[int]:
        out = []
        for value in values:
            depth = self.depth[value] + change
            if depth >= 0:
                out.append(self.value(*self.values[value], depth=min(depth, MAX_DEPTH)))
        return out

    def _bind(self, source: int, destination: int, mode: int, cls: str) -> None:
        """Copy ``source`` (a class attribute) to ``destination`` as read through ``cls`` (mode
        INSTANCE or CLASS): functions become bound methods as Python binds them."""
        edge = (destination, mode, self.value(CLASS, cls))
        edges = self._edges.setdefault(source, set())
        if edge not in edges:
            edges.add(edge)
            self._through(self.pts[source], destination, mode, cls)

    def _through(self, values: Iterable[int], destination: int, mode: int, cls: str) -> None:
        """Class attribute ``values`` read through ``cls`` arrive at ``destination``: a function
        read through an instance is a bound method, a classmethod binds the class, and a property
        read through an instance is a call whose result arrives."""
        arriving = []
        for value in values:
            key = self.values[value]
            kind = self.functions[key[1]].kind if key[0] == FUNCTION and not self.depth[value] else ""
            if kind == "property" and mode == INSTANCE:
                function = self.functions[key[1]]
                self.value(BOUND, key[1], cls, INSTANCE)  # binds self
                self._copy(self.var(function.module, function.scope, ""), destination)
                reader = self._readers.get(destination)
                if reader is not None:
                    self.reads.add((*reader, key[1]))
            elif kind == "classmethod" or kind in ("method", "property", "setter") and mode == INSTANCE:
                arriving.append(self.value(BOUND, key[1], cls, CLASS if kind == "classmethod" else INSTANCE))
            else:
                arriving.append(value)
        self._add(destination, arriving)

    def _watch(self, node: int, watcher: Watcher) -> None:
        self._watchers.setdefault(node, []).append(watcher)
        for value in list(self.pts[node]):
            self._react(watcher, value)

    # -- reading the facts --------------------------------------------------------------------------
    def _read(self, module: Module) -> None:
        name = module.name
        for qualname, names in module.flow.scopes:
            self.scopes[(name, qualname)] = (set(names.split()), False)
        for cls in module.classes:
            fullname = f"{name}.{cls.qualname}"
            enclosing = cls.qualname.rpartition(".")[0]
            self.classes[fullname] = _Class(name, cls.qualname, enclosing, cls.bases)
            bound, _ = self.scopes.get((name, cls.qualname), (set(), True))
            self.scopes[(name, cls.qualname)] = (bound, True)
        for fact in module.functions:
            function = self.functions[f"{name}.{fact.qualname}"] = _function(name, fact)
            if function.cls is not None:
                self._methods.setdefault(function.cls, []).append(f"{name}.{fact.qualname}")

    def _define(self, module: Module) -> None:
        """Definitions, imports and module-level aliases: what class hierarchies need."""
        name = module.name
        for cls in module.classes:
            enclosing, _, short = cls.qualname.rpartition(".")
            self._add(self.var(name, enclosing, short), (self.value(CLASS, f"{name}.{cls.qualname}"),))
        for fact in module.functions:
            fullname = f"{name}.{fact.qualname}"
            enclosing = fact.qualname.rpartition(".")[0]
            self._add(self.var(name, enclosing, fact.name), (self.value(FUNCTION, fullname),))
            function = self.functions[fullname]
            if function.kind not in ("function", "staticmethod") and function.positional and function.cls:
                receiver = self.value(CLASS if function.kind == "classmethod" else INSTANCE, function.cls)
                self._add(self.var(name, fact.qualname, function.positional[0]), (receiver,))
        for scope, target, text in module.flow.facts:
            if _early(scope, target, text):
                self._assign(name, scope, target, text)

    def _connect(self, module: Module) -> None:
        """Everything else: assignments, returns, arguments, decorators."""
        name = module.name
        for scope, target, text in module.flow.facts:
            if not _early(scope, target, text):
                self._assign(name, scope, target, text)
        for call in module.calls:  # every call site is called: C() reaches C.__init__ with or without arguments
            self._result(self.expr(name, "" if call.caller == "<module>" else call.caller, _normal(call.callee)))
        definitions = [(f, FUNCTION) for f in module.functions] + [(c, CLASS) for c in module.classes]
        for fact, kind in definitions:
            if not fact.decorators:
                continue
            enclosing = fact.qualname.rpartition(".")[0]
            current = self._constant(self.value(kind, f"{name}.{fact.qualname}"))
            for decorator in reversed(fact.decorators):  # the innermost applies first
                callee = self.expr(name, enclosing, _normal(decorator))
                self._decorations.append((name, enclosing, fact.lineno, callee, decorator))
                self._argument(callee, "0", current)
                current = self._result(callee)
            self._copy(current, self.var(name, enclosing, fact.name))

    def _assign(self, module: str, scope: str, target: str, value: str) -> None:
        source = self.expr(module, scope, value)
        if not target:
            self._copy(source, self.var(module, scope, ""))
            return
        callee, paren, key = target.rpartition("(")
        if paren:
            callee = _normal(callee)
            node = self.expr(module, scope, callee)
            self._argument(node, key, source)
            container, _, method = callee.rpartition(".")
            if _PUTS.get(method) == key and container:
                self._store(module, scope, container + "[]", source)
            return
        self._store(module, scope, target, source)

    def _store(self, module: str, scope: str, target: str, source: int) -> None:
        while True:  # an element of x, or of x.get(...), is kept in x
            container, _, method = target[:-2].rpartition(".")
            if target.endswith("[]") and target[:-2] == self._receiver(module, scope):
                target = target[:-2] + ".[]"  # self[k] = v in a container class's method: its elements
                break
            if target.endswith("[]"):
                target = target[:-2]
                source = self._shift(source, 1)
            elif target.endswith("()") and _GETS.get(method) == -1 and container:
                target = container
                source = self._shift(source, 1)
            else:
                break
        if target.endswith(")"):
            return  # an element of a call's result: nowhere to keep it
        base, dot, attr = target.rpartition(".")
        if not dot:
            self._copy(source, self.var(module, *self._scope_of(module, scope, target)))
            return
        self._watch(self.expr(module, scope, base), ("store", attr, source))

    def _receiver(self, module: str, scope: str) -> str | None:
        """The name of the instance parameter when ``scope`` is a method (``self``)."""
        function = self.functions.get(f"{module}.{scope}")
        if function is None or function.kind in ("function", "staticmethod", "classmethod") or not function.positional:
            return None
        return function.positional[0]

    def _scope_of(self, module: str, scope: str, name: str) -> tuple[str, str]:
        """Where ``name`` read in ``scope`` lives, by Python's rules (class bodies are not
        enclosing scopes of the functions in them)."""
        current, first = scope, True
        while current:
            found = self.scopes.get((module, current))
            if found is not None and name in found[0] and (first or not found[1]):
                return current, name
            current, first = current.rpartition(".")[0], False
        return "", name

    def expr(self, module: str, scope: str, text: str) -> int:
        """The node of a value text read in ``scope``."""
        key = ("read", module, scope, text)  # not a variable's key: the first read is a mention
        node = self._nodes.get(key)
        if node is not None:
            return node
        if text[0] == "<":
            node = self.empty
        elif text[0] == "@":
            node = self._import(module, text)
        elif text.endswith("()"):
            if text == "super()" and "super" not in self.scopes.get((module, ""), ((), False))[0]:
                node = self._super(module, scope)
            else:
                node = self._result(self.expr(module, scope, text[:-2]))
                container, _, method = text[:-2].rpartition(".")
                if method in _GETS and container:
                    self._copy(self._shift(self.expr(module, scope, container), _GETS[method]), node)
        elif text.endswith("[]"):
            if text[:-2] == self._receiver(module, scope):  # self[k] in a container class's method
                node = self._node()
                self._watch(self.expr(module, scope, text[:-2]), ("attr", "[]", node))
            else:
                node = self._shift(self.expr(module, scope, text[:-2]), -1)
        elif text.endswith("{}"):
            node = self._shift(self.expr(module, scope, text[:-2]), 1)
        else:
            base, dot, attr = text.rpartition(".")
            if dot:
                node = self._node()
                self._readers[node] = (module, scope)
                self._watch(self.expr(module, scope, base), ("attr", attr, node))
            else:
                node = self.var(module, *self._scope_of(module, scope, text))
            self._mentions.append((module, scope, node))
        self._nodes[key] = node
        return node

    def _super(self, module: str, scope: str) -> int:
        """``super()`` in a method: the method's class, looked past."""
        parts = scope.split(".")
        while parts:
            fullname = f"{module}.{'.'.join(parts)}"
            if fullname in self.classes:
                return self._constant(self.value(SUPER, fullname))
            parts.pop()
        return self.empty

    def _import(self, module: str, text: str) -> int:
        """The node an import binds: a constant module (or outside name), or for ``from m import
        x`` with ``m`` indexed and ``x`` not a submodule, ``m``'s global ``x`` itself."""
        is_package = self.modules[module].is_package if module in self.modules else False
        base, name = _imported(package_of(module, is_package), text)
        if base is None:
            return self.empty
        if name is None:
            return self._constant(self.value(MODULE if base in self.modules else EXTERNAL, base))
        full = f"{base}.{name}" if base else name
        if full in self.modules:
            return self._constant(self.value(MODULE, full))
        if base in self.modules:
            return self.var(base, "", name)
        return self._constant(self.value(EXTERNAL, full))

    def _result(self, callee: int) -> int:
        key = ("()", callee)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = self._node()
            self._watch(callee, ("call", node))
        return node

    def _argument(self, callee: int, key: str, source: int) -> None:
        if (callee, key, source) not in self._arguments:
            self._arguments.add((callee, key, source))
            self._watch(callee, ("arg", key, source))

    # -- reacting to a value arriving at a watched node -----------------------------------------------
    def _react(self, watcher: Watcher, value: int) -> None:
        if self.depth[value]:
            return  # a container of it: no attributes, not callable
        kind = watcher[0]
        if kind == "attr":
            self._attribute(value, watcher[1], watcher[2])
        elif kind == "call":
            self._call(value, watcher[1])
        elif kind == "arg":
            self._pass(value, watcher[1], watcher[2])
        else:
            self._put(value, watcher[1], watcher[2])

    def _attribute(self, value: int, attr: str, out: int) -> None:
        found = self.values[value]
        kind = found[0]
        if kind == MODULE:
            full = f"{found[1]}.{attr}"
            if full in self.modules:
                self._add(out, (self.value(MODULE, full),))
            else:
                self._copy(self.var(found[1], "", attr), out)
        elif kind == EXTERNAL:
            full = f"{found[1]}.{attr}"
            if full in self.modules:
                self._add(out, (self.value(MODULE, full),))
            elif full.count(".") < MAX_EXTERNAL_DEPTH:  # x = x.parent in a loop would go on forever
                self._add(out, (self.value(EXTERNAL, full),))
        elif kind in (CLASS, INSTANCE, SUPER):
            if not self._mro_ready:
                self._deferred.append((value, attr, out))
                return
            cls = found[1]
            if kind == INSTANCE:
                self._copy(self.var("", cls, attr), out)  # instance attributes live under ("", cls)
            if attr == "[]":
                return  # elements of a container instance: only what was put there
            order = self.mro(cls)[1:] if kind == SUPER else self.mro(cls)
            for owner in order:
                info = self.classes[owner]
                if attr in self.scopes.get((info.module, info.qualname), ((), True))[0]:
                    self._bind(
                        self.var(info.module, info.qualname, attr), out, CLASS if kind == CLASS else INSTANCE, cls
                    )
                    break

    def _call(self, value: int, out: int) -> None:
        found = self.values[value]
        kind = found[0]
        if kind == FUNCTION or kind == BOUND:
            function = self.functions[found[1]]
            self._copy(self.var(function.module, function.scope, ""), out)
        elif kind == CLASS:
            self._add(out, (self.value(INSTANCE, found[1]),))
            self._call_through(self.value(INSTANCE, found[1]), "__init__", None)
        elif kind == INSTANCE:
            self._call_through(value, "__call__", ("call", out))

    def _call_through(self, value: int, attr: str, watcher: Watcher | None) -> None:
        """Call ``value.attr`` (``__init__`` of a new instance, ``__call__`` of an instance)."""
        key = (".", value, attr)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = self._node()
            self._attribute(value, attr, node)
        if watcher is None:
            return
        if watcher[0] == "arg":
            self._argument(node, watcher[1], watcher[2])
        else:
            self._watch(node, watcher)

    def _pass(self, value: int, key: str, source: int) -> None:
        found = self.values[value]
        kind = found[0]
        if kind == FUNCTION or kind == BOUND:
            function = self.functions[found[1]]
            param = _parameter(function, key, 1 if kind == BOUND else 0)
            if param is not None:
                if param == function.star or param == function.double_star:
                    source = self._shift(source, 1)  # *args is a tuple of them, **kwargs a dict
                self._copy(source, self.var(function.module, function.scope, param))
        elif kind == CLASS:
            self._call_through(self.value(INSTANCE, found[1]), "__init__", ("arg", key, source))
        elif kind == INSTANCE:
            self._call_through(value, "__call__", ("arg", key, source))

    def _put(self, value: int, attr: str, source: int) -> None:
        found = self.values[value]
        kind = found[0]
        if kind == INSTANCE:
            self._copy(source, self.var("", found[1], attr))
        elif kind == CLASS:
            info = self.classes[found[1]]
            self._copy(source, self.var(info.module, info.qualname, attr))
        elif kind == MODULE and found[1] in self.modules:
            self._copy(source, self.var(found[1], "", attr))

    # -- class hierarchy ------------------------------------------------------------------------------
    def mro(self, cls: str) -> list[str]:
        """The C3 linearisation of an indexed class over its indexed bases (depth-first order
        where C3 has none)."""
        found = self._mro.get(cls)
        if found is not None:
            return found
        self._mro[cls] = [cls]  # a cycle through bad input ends here
        info = self.classes[cls]
        bases: list[str] = []
        for base in info.bases:
            if base[0] == "<":
                continue
            for value in self.pts[self.expr(info.module, info.enclosing, _normal(base))]:
                key = self.values[value]
                if key[0] == CLASS and not self.depth[value] and key[1] != cls and key[1] not in bases:
                    bases.append(key[1])
        order = _c3([cls], [self.mro(b) for b in bases] + [bases])
        self._mro[cls] = order
        return order

    # -- solving ---------------------------------------------------------------------------------------
    def solve(self) -> None:
        """Propagate to the fixed point: definitions and imports first, then class hierarchies,
        then everything else."""
        for module in self.modules.values():
            self._define(module)
        self._run()
        self._mro_ready = True
        for cls in self.classes:  # a method's receiver may be an instance of any subclass
            for owner in self.mro(cls)[1:]:
                for method in self._methods.get(owner, ()):
                    function = self.functions[method]
                    if function.kind != "staticmethod" and function.positional:
                        receiver = self.value(CLASS if function.kind == "classmethod" else INSTANCE, cls)
                        self._add(self.var(function.module, function.scope, function.positional[0]), (receiver,))
        deferred, self._deferred = self._deferred, []
        for value, attr, out in deferred:
            self._attribute(value, attr, out)
        for module in self.modules.values():
            self._connect(module)
        self._run()

    def _run(self) -> None:
        pending = self._pending
        while pending:
            node, new = pending.popitem()
            if node in self.saturated:
                continue
            for destination in list(self._copies.get(node, ())):
                self._add(destination, new)
            for destination, change in list(self._shifts.get(node, ())):
                self._add(destination, self._shifted(new, change))
            for destination, mode, cls in list(self._edges.get(node, ())):
                self._through(new, destination, mode, self.values[cls][1])
            for watcher in list(self._watchers.get(node, ())):
                for value in new:
                    self._react(watcher, value)

    def targets(self, module: str, call: CallFact) -> list[str]:
        """What one call of ``module`` may reach: functions, classes (and their ``__init__``),
        and names outside the index, each once, sorted."""
        scope = "" if call.caller == "<module>" else call.caller
        return self._targets(self.expr(module, scope, _normal(call.callee)))

    def _targets(self, callee: int) -> list[str]:
        found: set[str] = set()
        for value in self.pts[callee]:
            if self.depth[value]:
                continue
            key = self.values[value]
            kind = key[0]
            if kind == FUNCTION or kind == BOUND or kind == EXTERNAL:
                found.add(key[1])
            elif kind == CLASS:
                found.add(key[1])
                found.update(self._reached(self.value(INSTANCE, key[1]), "__init__"))
            elif kind == INSTANCE:
                found.update(self._reached(value, "__call__"))
        return sorted(found)

    def edges(self) -> Iterator[tuple[str, str, int | None, str, str | None]]:
        """Every resolved call: (module, caller's fullname, line, target, the callee as written),
        decorators applied included (at their definition's line), and property reads with the
        line and callee None."""
        for module in self.modules.values():
            for call in module.calls:
                caller = f"{module.name}.{call.caller}"  # module-level code is the caller "<module>"
                for target in self.targets(module.name, call):
                    yield module.name, caller, call.lineno, target, call.callee
        for module_name, scope, line, callee, text in self._decorations:
            for target in self._targets(callee):
                yield module_name, f"{module_name}.{scope or '<module>'}", line, target, "@" + text
        for module_name, scope, target in sorted(self.reads):
            yield module_name, f"{module_name}.{scope or '<module>'}", None, target, None

    def references(self) -> Iterator[tuple[str, str, str]]:
        """(module, scope's fullname, target): each function and class a scope reads as a value
        (called, passed, stored, returned or aliased), once per scope."""
        seen: set[tuple[str, str, str]] = set()
        for module, scope, node in self._mentions:
            for value in self.pts[node]:
                key = self.values[value]
                if key[0] in (FUNCTION, CLASS, BOUND) and (module, scope, key[1]) not in seen:
                    seen.add((module, scope, key[1]))
                    yield module, f"{module}.{scope or '<module>'}", key[1]

    def bases(self) -> Iterator[tuple[str, str, str]]:
        """(module, class, base): each base a class statement names, resolved through imports and
        aliases to an indexed class, a name outside the index or a builtin class."""
        for cls, info in self.classes.items():
            for base in info.bases:
                if base[0] == "<":
                    continue
                node = self.expr(info.module, info.enclosing, _normal(base))
                found = {
                    self.values[v][1]
                    for v in self.pts[node]
                    if not self.depth[v] and self.values[v][0] in (CLASS, EXTERNAL)
                }
                if not found and base in _BUILTIN_CLASSES and node not in self.saturated and not self.pts[node]:
                    if base not in self.scopes.get((info.module, ""), ((), False))[0]:
                        found = {"builtins." + base}
                for name in sorted(found):
                    yield info.module, cls, name

    def exports(self) -> Iterator[tuple[str, str, str]]:
        """(module, name, target): module globals that hold a function, class or module
        defined under another name (``json.JSONDecoder`` is ``json.decoder.JSONDecoder``)."""
        for module in self.modules:
            for name in sorted(self.scopes.get((module, ""), ((), False))[0]):
                node = self._nodes.get((module, "", name))
                for value in self.pts[node] if node is not None else ():
                    key = self.values[value]
                    if not self.depth[value] and key[0] in (FUNCTION, CLASS, MODULE) and key[1] != f"{module}.{name}":
                        yield module, f"{module}.{name}", key[1]

    def _reached(self, value: int, attr: str) -> list[str]:
        node = self._nodes.get((".", value, attr))
        if node is None:
            return []
        return [
            self.values[v][1] for v in self.pts[node] if self.values[v][0] in (FUNCTION, BOUND) and not self.depth[v]
        ]


def pack(facts: FileFacts) -> bytes:
    """What the solver reads of a file's facts, as the index keeps it (``flows.data``)."""
    is_package = os.path.basename(facts.path) == "__init__.py"
    return marshal.dumps(
        (
            is_package,
            [tuple(c) for c in facts.classes],
            [tuple(f) for f in facts.functions],
            [tuple(c) for c in facts.calls],
            facts.flow.scopes,
            facts.flow.facts,
        )
    )


def unpack(name: str, data: bytes) -> Module:
    """A module as :func:`pack` kept it."""
    is_package, classes, functions, calls, scopes, facts = marshal.loads(data)
    return Module(
        name,
        is_package,
        [ClassFact._make(c) for c in classes],
        [FunctionFact._make(f) for f in functions],
        [CallFact._make(c) for c in calls],
        Flow(scopes, facts),
    )


def _imported(package: str, text: str) -> tuple[str | None, str | None]:
    """An import's value text (``@..pkg.mod:name``) read in ``package``: the absolute module it
    names (None past the top-level package) and the name imported from it (None for ``import m``)."""
    spec, colon, name = text[1:].partition(":")
    stripped = spec.lstrip(".")
    return resolve_relative(package, len(spec) - len(stripped), stripped), name if colon else None


def import_groups(modules: list[Module]) -> list[list[Module]]:
    """The modules in groups that import one another (directly or not, either way): what one
    solver must see together. Biggest first."""
    names = {m.name: m for m in modules}
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for module in modules:
        package = package_of(module.name, module.is_package)
        above = module.name.rpartition(".")[0]
        while above and above not in names:
            above = above.rpartition(".")[0]
        if above:  # import a.b binds a: a.b is reached through its package
            parent[root(above)] = root(module.name)
        for _, _, text in module.flow.facts:
            if text[0] != "@":
                continue
            imported, name = _imported(package, text)
            if imported and name and f"{imported}.{name}" in names:
                imported = f"{imported}.{name}"
            while imported and imported not in names:  # a name inside a module: the module
                imported = imported.rpartition(".")[0]
            if imported:
                parent[root(imported)] = root(module.name)
    groups: dict[str, list[Module]] = {}
    for module in names.values():
        groups.setdefault(root(module.name), []).append(module)
    return sorted(groups.values(), key=lambda group: (-len(group), group[0].name))


def program(root: str, paths: Iterable[str]) -> list[Module]:
    """The modules of files under ``root`` as the solver reads them (files that do not parse
    are left out)."""
    modules = []
    for path in paths:
        facts = facts_of(root, path)
        if facts.error is None:
            is_package = os.path.basename(path) == "__init__.py"
            modules.append(Module(facts.module, is_package, facts.classes, facts.functions, facts.calls, facts.flow))
    return modules


def _early(scope: str, target: str, text: str) -> bool:
    """Imports and module-level aliases (``Error = error``): read before class hierarchies."""
    return text[0] == "@" or not scope and bool(target) and "." not in target and "(" not in text


def _parameter(function: _Function, key: str, shift: int) -> str | None:
    """The parameter an argument binds to: by position (after the receiver) or by keyword."""
    if key.isdigit():
        index = int(key) + shift
        if index < len(function.positional):
            return function.positional[index]
        return function.star
    if key in function.keywords:
        return key
    return function.double_star


def _normal(text: str) -> str:
    """A call record's text (``f(...).m``, ``a[...]``) as a value text (``f().m``, ``a[]``)."""
    return text.replace("(...)", "()").replace("[...]", "[]")


def _c3(head: list[str], sequences: list[list[str]]) -> list[str]:
    order = list(head)
    rest = [list(s) for s in sequences if s]
    while rest:
        for sequence in rest:
            candidate = sequence[0]
            if not any(candidate in s[1:] for s in rest):
                break
        else:  # no C3 order: take the first remaining head (depth-first)
            candidate = rest[0][0]
        order.append(candidate)
        rest = [[c for c in s if c != candidate] for s in rest]
        rest = [s for s in rest if s]
    return order
