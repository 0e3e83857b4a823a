"""Facts from a tree-sitter tree: the parser's fast path.

tree-sitter parses into a compact C tree, and one query picks out every node the facts need, so
Python touches only definitions, calls, imports and decision points, never the whole tree. The
facts are exactly those :mod:`scope_ext.code._extract_ast` extracts from CPython's tree (a differential
test over the standard library holds the two together), including radon's complexity rules.

tree-sitter's grammar accepts some programs CPython rejects; :func:`extract` returns None for a
tree that cannot be trusted, and the caller asks CPython: syntax errors, Python 2 statements and
``type`` alias statements (3.12 syntax). Two misreadings of this grammar are read the way CPython
reads them instead: a splat taken as applying to a call's function, an attribute's object or a
subscript's value (``{*x.items()}`` read as ``(*x).items()``), and ``type(x).y = z`` read as a
``type`` alias statement (CPython: an assignment to an attribute of the call ``type(x)``).
"""

from __future__ import annotations

import ast
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from functools import partial
from operator import attrgetter

import tree_sitter
import tree_sitter_python

from ._flow import MAX_ELEMENTS, element
from ._records import CallFact, ClassFact, Extracted, Flow, FunctionFact, ImportFact, first_line

LANGUAGE = tree_sitter.Language(tree_sitter_python.language())

_QUERY = tree_sitter.Query(
    LANGUAGE,
    """
(function_definition) @function
(class_definition) @class
(decorated_definition) @decorated
(call function: (_) @callee)
[(import_statement) (import_from_statement) (future_import_statement)] @import
[(print_statement) (exec_statement)] @untrusted
(type_alias_statement) @alias
[(if_statement) (elif_clause) (conditional_expression) (boolean_operator) (for_in_clause)] @branch
(list_comprehension (if_clause) @branch)
(set_comprehension (if_clause) @branch)
(dictionary_comprehension (if_clause) @branch)
(generator_expression (if_clause) @branch)
[(for_statement) (while_statement)] @loop
(try_statement) @try
(match_statement) @match
(assert_statement) @assert
[(assignment) (augmented_assignment) (named_expression) (for_statement) (for_in_clause) (with_item)] @assign
[(return_statement) (yield)] @return
[(global_statement) (nonlocal_statement)] @declare
(except_clause) @except
(call arguments: (_) @arguments)
""",
)

_START = attrgetter("start_byte", "end_byte")  # captures come in match order; the sweeps need source order
_UNORDERED = {"function", "class", "decorated"}  # scopes (sorted by their own start) and a lookup
#: A call's record without the keyword handling of ``CallFact(...)``: there are hundreds of thousands.
_call = partial(tuple.__new__, CallFact)
_CONSTANTS = {b"True", b"False", b"None"}
_DOTTED = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PLAIN_STRING = re.compile(r"([rRuU]?)('''|\"\"\"|'|\")(.*)\2", re.DOTALL)


def parser() -> tree_sitter.Parser:
    """A Python parser (one per worker: parsers are not thread-safe)."""
    return tree_sitter.Parser(LANGUAGE)


class _Scope:
    """A function or class: where its whole statement (decorators included) and its body are."""

    __slots__ = (
        "node",
        "decorated",
        "start",
        "block",
        "body",
        "end",
        "name",
        "qualname",
        "cls",
        "is_function",
        "members",
        "parameters",
    )

    def __init__(self, node: tree_sitter.Node, is_function: bool, decorated: dict[int, tree_sitter.Node]) -> None:
        start = node.start_byte
        self.node = node
        self.decorated = decorated.get(start)  # the decorated_definition around it, if any
        self.start = start if self.decorated is None else self.decorated.start_byte
        self.block = _field(node, "body")
        self.body = self.block.start_byte
        self.end = node.end_byte
        self.is_function = is_function
        self.name = _name(_field(node, "name"))
        self.qualname = ""
        self.cls: str | None = None
        self.members: list[_Scope] = []  # the scopes directly inside this one
        #: A function's parameters as its record writes them (``a``, ``*rest``, ``**extra``).
        self.parameters = _parameters(_field(node, "parameters")) if is_function else ()


def _owners(
    scopes: list[_Scope], nodes: list[tree_sitter.Node]
) -> Iterator[tuple[tree_sitter.Node, _Scope | None, _Scope | None]]:
    """For each node (in source order): the innermost scope whose statement holds it, and the
    innermost scope whose *body* holds it (what a call inside a default or decorator belongs to)."""
    stack: list[_Scope] = []
    following = 0
    for node in nodes:
        at = node.start_byte
        while following < len(scopes) and scopes[following].start <= at:
            scope = scopes[following]
            while stack and stack[-1].end <= scope.start:
                stack.pop()
            stack.append(scope)
            following += 1
        while stack and stack[-1].end <= at:
            stack.pop()
        if not stack:
            yield node, None, None
        elif at >= stack[-1].body:
            yield node, stack[-1], stack[-1]
        else:
            yield node, stack[-1], stack[-2] if len(stack) > 1 else None


def _callers(scopes: list[_Scope]) -> tuple[list[int], list[str]]:
    """Where the innermost enclosing *body* changes, in source order: each position and the
    qualified name from there on ("<module>" outside every body). A call made at byte ``at`` is
    ``names[bisect_right(positions, at) - 1]``'s: a call in a decorator or default belongs to the
    scope around the definition, since that is where it runs."""
    positions, names = [0], ["<module>"]
    stack: list[_Scope] = []
    for scope in scopes:  # by start; bodies nest, and a header holds no other scope
        while stack and stack[-1].end <= scope.start:
            positions.append(stack.pop().end)
            names.append(stack[-1].qualname if stack else "<module>")
        stack.append(scope)
        positions.append(scope.body)
        names.append(scope.qualname)
    while stack:
        positions.append(stack.pop().end)
        names.append(stack[-1].qualname if stack else "<module>")
    return positions, names


def _field(node: tree_sitter.Node, name: str) -> tree_sitter.Node:
    """A field the grammar always fills in an error-free tree."""
    child = node.child_by_field_name(name)
    assert child is not None, (node.type, name)
    return child


def _nth(node: tree_sitter.Node, index: int) -> tree_sitter.Node:
    child = node.named_child(index)
    assert child is not None, (node.type, index)
    return child


def _name(node: tree_sitter.Node) -> str:
    """An identifier as CPython reads it (non-ASCII names are NFKC-normalised)."""
    raw = node.text or b""
    return raw.decode() if raw.isascii() else unicodedata.normalize("NFKC", raw.decode())


def _text(node: tree_sitter.Node) -> str:
    """A call target, base or decorator as written (the rules of ``_extract_ast.text``)."""
    raw = node.text or b""
    if _DOTTED.fullmatch(raw) and raw.partition(b".")[0] not in _CONSTANTS:
        return raw.decode()
    parts = []
    node = _unwrap(node)
    while node.type == "attribute":
        parts.append(_name(_field(node, "attribute")))
        node = _unwrap(_field(node, "object"))
    if node.type == "identifier":
        base = _name(node)
    elif node.type in ("call", "subscript"):
        inner = _dotted(_field(node, "function" if node.type == "call" else "value"))
        base = (f"{inner}(...)" if node.type == "call" else f"{inner}[...]") if inner else "<expr>"
    else:
        base = "<expr>"
    parts.append(base)
    return ".".join(reversed(parts))


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    """The expression inside parentheses, and inside a splat the grammar misread (``*x.y`` read
    as ``(*x).y``: a splat is never the object of an attribute, call or subscript in Python)."""
    while True:
        kind = node.type
        if kind == "list_splat" or kind == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
        else:
            return node


def _dotted(node: tree_sitter.Node) -> str | None:
    parts = []
    node = _unwrap(node)
    while node.type == "attribute":
        parts.append(_name(_field(node, "attribute")))
        node = _unwrap(_field(node, "object"))
    if node.type != "identifier":
        return None
    parts.append(_name(node))
    return ".".join(reversed(parts))


def _doc(block: tree_sitter.Node) -> str | None:
    """The first line of the docstring: the value of a string literal as the first statement."""
    first: tree_sitter.Node | None = block.named_child(0)
    while first is not None and first.type == "comment":
        first = first.next_named_sibling
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return None
    literal = _nth(first, 0)
    if literal.type not in ("string", "concatenated_string", "parenthesized_expression"):
        return None
    source = (literal.text or b"").decode()
    plain = _PLAIN_STRING.fullmatch(source) if literal.type == "string" else None
    if plain is not None and "\\" not in plain[3]:
        value: object = plain[3]
    else:
        try:
            value = ast.literal_eval(source)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    return first_line(value) if isinstance(value, str) else None


def _last_line(node: tree_sitter.Node) -> int:
    """The last line of a statement's code (tree-sitter's blocks also hold trailing comments)."""
    last = node.descendant_for_byte_range(node.end_byte - 1, node.end_byte)
    if last is not None and last.type != "comment":
        return last.end_point.row + 1
    while node.child_count:
        index = node.child_count - 1
        while index and node.child(index).type == "comment":
            index -= 1
        node = node.child(index)
    return node.end_point.row + 1


_PARAMETER_PREFIX = {"list_splat_pattern": "*", "dictionary_splat_pattern": "**"}


def _parameters(node: tree_sitter.Node) -> tuple[str, ...]:
    params = []
    for param in node.named_children:
        kind = param.type
        if kind == "identifier":
            params.append(_name(param))
        elif kind in ("default_parameter", "typed_default_parameter"):
            params.append(_name(_field(param, "name")))
        elif kind == "typed_parameter":
            inner = _nth(param, 0)
            params.append(
                _PARAMETER_PREFIX.get(inner.type, "") + _name(_nth(inner, 0))
                if inner.type in _PARAMETER_PREFIX
                else _name(inner)
            )
        elif kind in _PARAMETER_PREFIX:
            params.append(_PARAMETER_PREFIX[kind] + _name(_nth(param, 0)))
    return tuple(params)


def _decorators(scope: _Scope) -> tuple[str, ...]:
    if scope.decorated is None:
        return ()
    return tuple(_text(_nth(d, 0)) for d in scope.decorated.named_children if d.type == "decorator")


def _is_catch_all(case: tree_sitter.Node) -> bool:
    """``case _`` or a bare capture ``case name``, parenthesised or not."""
    patterns = [c for c in case.named_children if c.type == "case_pattern"]
    if len(patterns) != 1 or any(c.type == "," for c in case.children):
        return False  # case a, b: or case a,: a sequence
    pattern = patterns[0]
    while True:
        inner = [c for c in pattern.named_children if c.type != "comment"]
        if not inner:
            return pattern.text == b"_"
        if len(inner) != 1:
            return False
        child = inner[0]
        if child.type == "dotted_name":
            return child.named_child_count == 1
        if child.type == "tuple_pattern":
            items = [c for c in child.named_children if c.type == "case_pattern"]
            if len(items) != 1 or any(t.type == "," for t in child.children):
                return False  # () or (x,): sequences
            child = items[0]  # (x) is x
        elif child.type != "case_pattern":
            return False
        pattern = child


def _decisions(kind: str, node: tree_sitter.Node) -> int:
    """What one captured decision node adds to its function's complexity."""
    if kind == "branch" or kind == "assert":
        return 1
    if kind == "loop":
        return 1 + (node.child_by_field_name("alternative") is not None)
    if kind == "try":
        handlers = [c for c in node.children if c.type == "except_clause"]
        if any(h.child(1) is not None and h.child(1).type == "*" for h in handlers):
            return 0  # except*: radon counts nothing for the whole statement
        return len(handlers) + any(c.type == "else_clause" for c in node.children)
    cases = _field(node, "body").children_by_field_name("alternative")
    return max(0, len(cases) - any(_is_catch_all(case) for case in cases))


def _imports(node: tree_sitter.Node) -> Iterator[ImportFact]:
    line = node.start_point.row + 1
    if node.type == "import_statement":
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                yield ImportFact(_dotted_text(_field(name, "name")), None, _name(_field(name, "alias")), 0, line)
            else:
                yield ImportFact(_dotted_text(name), None, None, 0, line)
        return
    if node.type == "future_import_statement":
        module, level = "__future__", 0
    else:
        source = _field(node, "module_name")
        if source.type == "relative_import":
            level = (_nth(source, 0).text or b"").count(b".")
            module = _dotted_text(_nth(source, 1)) if source.named_child_count > 1 else ""
        else:
            module, level = _dotted_text(source), 0
    names = node.children_by_field_name("name")
    if not names:
        yield ImportFact(module, "*", None, level, line)
    for name in names:
        if name.type == "aliased_import":
            yield ImportFact(module, _dotted_text(_field(name, "name")), _name(_field(name, "alias")), level, line)
        else:
            yield ImportFact(module, _dotted_text(name), None, level, line)


def _dotted_text(node: tree_sitter.Node) -> str:
    return ".".join(_name(part) for part in node.named_children if part.type == "identifier")


def extract(tree: tree_sitter.Tree) -> Extracted | None:
    """Classes, functions, calls and imports of a module tree; None when only CPython can say
    what is wrong with it (or, on a grammar gap, that nothing is)."""
    if tree.root_node.has_error:
        return None
    found = tree_sitter.QueryCursor(_QUERY).captures(tree.root_node)
    for kind, nodes in found.items():
        if kind not in _UNORDERED:
            nodes.sort(key=_START)
    aliases = found.get("alias", [])
    if "untrusted" in found or any(not (_field(a, "left").text or b"").startswith(b"(") for a in aliases):
        return None  # Python 2, or a real ``type`` alias statement
    decorated = {_field(d, "definition").start_byte: d for d in found.get("decorated", ())}
    scopes = sorted(
        [
            *(_Scope(n, True, decorated) for n in found.get("function", ())),
            *(_Scope(n, False, decorated) for n in found.get("class", ())),
        ],
        key=lambda s: s.start,
    )
    stack: list[_Scope] = []
    for scope in scopes:  # qualified names: the enclosing scopes by position
        while stack and stack[-1].end <= scope.start:
            stack.pop()
        if stack:
            scope.qualname = f"{stack[-1].qualname}.{scope.name}"
            scope.cls = None if stack[-1].is_function else stack[-1].qualname
            stack[-1].members.append(scope)
        else:
            scope.qualname = scope.name
        stack.append(scope)

    complexity = dict.fromkeys(scopes, 1)
    asserts = [(n.start_byte, n.end_byte) for n in found.get("assert", ())]
    for kind in ("branch", "loop", "try", "match", "assert"):
        nodes = found.get(kind, [])
        if not nodes:
            continue
        spot = 0
        for node, holder, body in _owners(scopes, nodes):
            if holder is None or holder is not body or not holder.is_function:
                continue
            at = node.start_byte
            while spot < len(asserts) and asserts[spot][1] <= at:
                spot += 1
            if kind != "assert" and spot < len(asserts) and asserts[spot][0] <= at:
                continue  # radon counts an assert once and does not look inside it
            complexity[holder] += _decisions(kind, node)

    functions, classes = [], []
    for scope in scopes:
        node = scope.node
        line, end = node.start_point.row + 1, _last_line(node)
        if scope.is_function:
            functions.append(
                FunctionFact(
                    scope.qualname,
                    scope.name,
                    scope.cls,
                    line,
                    end,
                    scope.parameters,
                    _decorators(scope),
                    node.child(0).type == "async",
                    _doc(scope.block),
                    complexity[scope],
                )
            )
        else:
            superclasses = node.child_by_field_name("superclasses")
            bases = tuple(
                "<expr>" if b.type == "list_splat" else _text(b)
                for b in (superclasses.named_children if superclasses else ())
                if b.type not in ("keyword_argument", "comment", "dictionary_splat")
            )
            # Methods: the functions among the body's own statements (one inside an if or try is not).
            statements = {s.start_byte for s in scope.block.named_children}
            methods = tuple(m.name for m in scope.members if m.is_function and m.start in statements)
            classes.append(
                ClassFact(scope.qualname, scope.name, line, end, bases, _decorators(scope), methods, _doc(scope.block))
            )

    # A call starts where its callee does: the callee's place is the call's.
    positions, names = _callers(scopes)
    calls = []
    texts: dict[bytes | None, str] = {}  # callees repeat, and the same bytes read the same way
    for node in found.get("callee", ()):
        raw = node.text
        text = texts.get(raw)
        if text is None:
            text = texts[raw] = _text(node)
        calls.append(_call((names[bisect_right(positions, node.start_byte) - 1], text, node.start_point.row + 1)))
    # ``type(x).y = z`` read as an alias statement: the call of ``type`` is its first word.
    calls += [
        CallFact(names[bisect_right(positions, node.start_byte) - 1], "type", node.start_point.row + 1)
        for node in aliases
    ]
    import_nodes = found.get("import", [])
    imports = [fact for node in import_nodes for fact in _imports(node)]
    flow = _Flow(scopes, positions, names).read(found, import_nodes, calls, aliases)
    return tuple(classes), tuple(functions), tuple(calls), tuple(imports), flow


#: Node types an assignment can bind or store through, and the patterns that unpack.
_UNPACKED = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list", "expression_list"})
_ELEMENTS = frozenset({"list", "tuple", "set", "expression_list"})
_COMPREHENSIONS = frozenset({"list_comprehension", "set_comprehension", "generator_expression"})
#: The expressions :func:`values` follows.
_VALUED = (
    _ELEMENTS
    | _COMPREHENSIONS
    | {
        "identifier",
        "attribute",
        "call",
        "subscript",
        "named_expression",
        "await",
        "list_splat",
        "parenthesized_expression",
        "conditional_expression",
        "boolean_operator",
        "dictionary",
        "dictionary_comprehension",
    }
)


def values(node: tree_sitter.Node) -> list[str]:
    """The value texts an expression may evaluate to (:func:`scope_ext.code._flow.values` for a
    tree-sitter node)."""
    kind = node.type
    if kind not in _VALUED:
        return []  # literals, operators, lambdas: nothing to follow
    if kind == "identifier" or kind == "attribute":
        raw = node.text or b""
        if _DOTTED.fullmatch(raw) and raw.partition(b".")[0] not in _CONSTANTS:  # most are: no walk needed
            return [raw.decode()]
        if kind == "identifier":
            return [_name(node)]
        attr = _name(_field(node, "attribute"))
        return [f"{v}.{attr}" for v in values(_field(node, "object"))]
    if kind == "call":
        return [v + "()" for v in values(_field(node, "function"))]
    if kind == "subscript":
        return [v + "[]" for v in values(_field(node, "value"))]
    if kind == "named_expression":
        return values(_field(node, "value"))
    if kind in ("await", "list_splat", "parenthesized_expression"):
        inner = _parts(node)
        return values(inner[0]) if len(inner) == 1 else []
    if kind == "conditional_expression":
        parts = _parts(node)
        return values(parts[0]) + values(parts[2])
    if kind == "boolean_operator":
        return values(_field(node, "left")) + values(_field(node, "right"))
    if kind in _ELEMENTS:
        found = []
        for part in _parts(node)[:MAX_ELEMENTS]:
            if _splat(part):
                found += values(part)
            else:
                found += [v + "{}" for v in values(part)]
        return found
    if kind == "dictionary":
        found = []
        for part in node.named_children[:MAX_ELEMENTS]:
            if part.type == "pair":
                found += [v + "{}" for v in values(_field(part, "value"))]
            elif part.type == "dictionary_splat":
                found += values(_nth(part, 0))
        return found
    if kind in _COMPREHENSIONS:
        return [v + "{}" for v in values(_field(node, "body"))]
    if kind == "dictionary_comprehension":
        return [v + "{}" for v in values(_field(_field(node, "body"), "value"))]
    return []


class _Flow:
    """Reads a module's flow facts from the captures of :data:`_QUERY` (see :mod:`scope_ext.code._flow`)."""

    def __init__(self, scopes: list[_Scope], positions: list[int], names: list[str]) -> None:
        self.scopes = scopes
        self.positions = positions
        self.names = names
        self.bound: dict[str, set[str]] = {"": set()}
        self.declared: dict[str, set[str]] = {}
        self.facts: list[tuple[str, str, str]] = []

    def scope_at(self, at: int) -> str:
        name = self.names[bisect_right(self.positions, at) - 1]
        return "" if name == "<module>" else name

    def read(
        self,
        found: dict[str, list[tree_sitter.Node]],
        imports: list[tree_sitter.Node],
        calls: list[CallFact],
        aliases: list[tree_sitter.Node],
    ) -> Flow:
        facts = self.facts
        for definition in self.scopes:
            parent = definition.qualname.rpartition(".")[0]
            self.bound.setdefault(parent, set()).add(definition.name)
            own = self.bound.setdefault(definition.qualname, set())
            if definition.is_function:
                self._parameters(definition, own)
        for node in found.get("assign", ()):
            self._assign(node)
        for node in found.get("return", ()):
            self._return(node)
        for node in found.get("declare", ()):
            scope = self.scope_at(node.start_byte)
            names = {_name(c) for c in node.named_children if c.type == "identifier"}
            self.declared.setdefault(scope, set()).update(names)
            if node.type == "global_statement":
                self.bound[""].update(names)
        for node in found.get("except", ()):
            pattern = node.child_by_field_name("value")
            if pattern is not None and pattern.type == "as_pattern":
                alias = _nth(_field(pattern, "alias"), 0)
                if alias.type == "identifier":
                    self.bound.setdefault(self.scope_at(node.start_byte), set()).add(_name(alias))
        for node in imports:
            self._import(node)
        for node in aliases:
            self._misread_alias(node)
        self._arguments(found.get("arguments", []), found.get("callee", []), calls)
        return Flow(
            tuple(
                (q, " " + " ".join(sorted(self.bound.get(q, set()) - self.declared.get(q, set()))) + " ")
                for q in dict.fromkeys(
                    ["", *(s.qualname for s in self.scopes)]
                )  # a function defined twice is one scope
            ),
            tuple(facts),
        )

    def _parameters(self, scope: _Scope, own: set[str]) -> None:
        for param in _field(scope.node, "parameters").named_children:
            kind = param.type
            if kind in ("default_parameter", "typed_default_parameter"):
                name = _name(_field(param, "name"))
                self.facts.extend((scope.qualname, name, v) for v in values(_field(param, "value")))
        own.update(p.lstrip("*") for p in scope.parameters)

    def _assign(self, node: tree_sitter.Node) -> None:
        scope = self.scope_at(node.start_byte)
        kind = node.type
        if kind == "with_item":
            value = _unwrap_target(_field(node, "value"))  # with (a as b): one item in parentheses
            if value.type != "as_pattern":
                return
            self._bind(scope, _nth(_field(value, "alias"), 0), values(_nth(value, 0)))
            return
        if kind == "named_expression":
            self._bind(scope, _field(node, "name"), values(_field(node, "value")))
            return
        target = _field(node, "left")
        given = node.child_by_field_name("right")
        if kind == "for_statement" or kind == "for_in_clause":
            self._bind(scope, target, [element(v) for v in values(_unwrap_target(given))] if given else [])
            return
        while given is not None and given.type == "assignment":  # a = b = f(): b's own capture does b
            given = given.child_by_field_name("right")
        if given is None:
            self._bind(scope, target, [])
            return
        right = given
        left, items = _unwrap_target(target), _unwrap_target(right)
        if not scope and left.type == "identifier" and left.text == b"__all__" and kind != "for_statement":
            self.facts.extend(("", "__all__", name) for name in _exported(items))
        if left.type in _UNPACKED and items.type in ("tuple", "list", "expression_list"):
            lefts = _parts(left)
            rights = _parts(items)
            splats = ("list_splat_pattern", "list_splat")
            if len(lefts) == len(rights) and not any(c.type in splats for c in lefts + rights):
                for one, other in zip(lefts, rights, strict=True):
                    self._bind(scope, one, values(other))
                return
        self._bind(scope, target, values(right))

    def _bind(self, scope: str, target: tree_sitter.Node, found: list[str]) -> None:
        """``target = <found>``: names bound, facts for each target text."""
        target = _unwrap_target(target)
        kind = target.type
        if kind == "tuple_pattern" and not any(c.type == "," for c in target.children):
            parts = _parts(target)  # (x) as a target is x
            if len(parts) == 1:
                self._bind(scope, parts[0], found)
                return
        if kind in _UNPACKED:
            for part in _parts(target):
                if part.type in ("list_splat_pattern", "list_splat"):
                    self._bind(scope, _nth(part, 0), found)
                else:
                    self._bind(scope, part, [element(v) for v in found])
            return
        if kind == "identifier":
            self.bound.setdefault(scope, set()).add(_name(target))
        if kind in ("identifier", "attribute", "subscript"):
            self.facts.extend((scope, t, v) for t in values(target) for v in found)

    def _misread_alias(self, node: tree_sitter.Node) -> None:
        """``type(x).y = z`` read as a ``type`` alias statement: the assignment to an attribute
        of the call ``type(x)`` it is, and that call's argument."""
        scope = self.scope_at(node.start_byte)
        target, suffix = _nth(_field(node, "left"), 0), ""
        if target.type == "constrained_type":  # annotated: type(x).y: T = z
            target = _nth(_nth(target, 0), 0)
        while target.type in ("attribute", "subscript"):
            if target.type == "attribute":
                suffix = "." + _name(_field(target, "attribute")) + suffix
                target = _field(target, "object")
            else:
                suffix = "[]" + suffix
                target = _field(target, "value")
        if target.type != "parenthesized_expression" or not suffix:
            return
        arguments = _parts(target)
        if len(arguments) == 1:
            self.facts.extend((scope, "type(0", v) for v in values(arguments[0]))
        right = node.child_by_field_name("right")
        found = values(_nth(right, 0)) if right is not None else []
        self.facts.extend((scope, "type()" + suffix, v) for v in found)

    def _return(self, node: tree_sitter.Node) -> None:
        scope = self.scope_at(node.start_byte)
        parts = _parts(node)
        if not parts:
            return
        found = values(parts[-1])
        if node.type == "yield" and not any(c.type == "from" for c in node.children):
            found = [v + "{}" for v in found]  # a generator is a container of what it yields
        self.facts.extend((scope, "", v) for v in found)

    def _import(self, node: tree_sitter.Node) -> None:
        scope = self.scope_at(node.start_byte)
        bound = self.bound.setdefault(scope, set())
        for fact in _imports(node):
            if fact.name is None:
                name = fact.alias or fact.module.partition(".")[0]
                bound.add(name)
                self.facts.append((scope, name, "@" + (fact.module if fact.alias else name)))
            else:
                if fact.name != "*":
                    bound.add(fact.alias or fact.name)
                source = "@" + "." * fact.level + fact.module + ":" + fact.name
                self.facts.append((scope, fact.alias or fact.name, source))

    def _arguments(
        self, arguments: list[tree_sitter.Node], callees: list[tree_sitter.Node], calls: list[CallFact]
    ) -> None:
        """Each call's arguments, keyed by its callee's text: an argument list starts where its
        callee ends (or after blanks), and no other callee ends in between."""
        ends = sorted((node.end_byte, index) for index, node in enumerate(callees))
        keys = [end for end, _ in ends]
        for node in arguments:
            at = bisect_right(keys, node.start_byte) - 1
            call = calls[ends[at][1]]
            scope = "" if call.caller == "<module>" else call.caller
            if node.type != "argument_list":  # f(x for x in y)
                self.facts.extend((scope, f"{call.callee}(0", v) for v in values(node))
                continue
            index = 0
            for arg in _parts(node):
                kind = arg.type
                if kind == "keyword_argument":
                    key = _name(_field(arg, "name"))
                    self.facts.extend((scope, f"{call.callee}({key}", v) for v in values(_field(arg, "value")))
                elif _splat(arg):
                    index = -1  # positions after *args are unknown
                elif kind != "dictionary_splat" and index >= 0:
                    self.facts.extend((scope, f"{call.callee}({index}", v) for v in values(arg))
                    index += 1


def _exported(node: tree_sitter.Node) -> list[str]:
    """:func:`scope_ext.code._flow.exported` for a tree-sitter node."""
    if node.type not in ("list", "tuple", "expression_list"):
        return []
    found = []
    for part in _parts(node):
        if part.type in ("string", "concatenated_string"):
            try:
                value = ast.literal_eval((part.text or b"").decode())
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(value, str) and value.isidentifier():
                found.append(value)
    return found


def _splat(node: tree_sitter.Node) -> bool:
    """``*x``, also as the grammar misreads ``*x.y()`` (a splat inside the call's function)."""
    while node.type in ("call", "attribute", "subscript"):
        node = _field(node, "function" if node.type == "call" else "object" if node.type == "attribute" else "value")
    return node.type == "list_splat"


def _parts(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """A node's named children that are code (not comments or line continuations)."""
    return [c for c in node.named_children if c.type not in ("comment", "line_continuation")]


def _unwrap_target(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    return node
