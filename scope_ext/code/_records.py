"""The records the parser's workers send back: compact tuples of strings and ints, never trees.

Trees never leave a worker: pickling them costs several times more than parsing again.
"""

from __future__ import annotations

from typing import NamedTuple


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


class Flow(NamedTuple):
    """The flow facts of one module (see :mod:`scope_ext.code._flow`)."""

    scopes: tuple[tuple[str, str], ...]  # (qualname, " a b c ") for each scope, the module's is ""
    facts: tuple[tuple[str, str, str], ...]  # (scope, target, value)


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
    #: Every word of the source (runs of letters, digits and underscores, in code, strings and
    #: comments alike), each once, between spaces (" a b "): a superset of the names the module
    #: uses, which is what narrowing a search needs.
    identifiers: str = ""
    #: What call resolution reads of its assignments, returns and arguments.
    flow: Flow = Flow((), ())


#: The definitions and uses of one module: classes, functions, calls and imports.
Definitions = tuple[tuple[ClassFact, ...], tuple[FunctionFact, ...], tuple[CallFact, ...], tuple[ImportFact, ...]]
#: What an extractor returns: the definitions and uses of one module and its flow facts.
Extracted = tuple[tuple[ClassFact, ...], tuple[FunctionFact, ...], tuple[CallFact, ...], tuple[ImportFact, ...], Flow]


def first_line(docstring: str) -> str:
    """The first line of a docstring, as the index keeps it."""
    stripped = docstring.strip()
    return stripped.splitlines()[0] if stripped else ""
