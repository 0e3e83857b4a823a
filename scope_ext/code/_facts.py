"""The facts of one Python file, as the parser's worker processes compute them.

tree-sitter parses and a query extracts (:mod:`scope_ext.code._extract_tree`). CPython's own parser
(:mod:`scope_ext.code._extract_ast`) takes over whenever tree-sitter's tree cannot be trusted: syntax
errors (so error entries carry CPython's message and line), Python 2 statements, encodings other
than UTF-8, lone carriage returns. ``strict`` also checks every file with CPython's compiler front
end (parser, ``__future__`` rules, symbol table), catching the invalid programs tree-sitter's more
forgiving grammar accepts (a parameter without default after one with, say) for about half again
the parse time.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import symtable

from . import _extract_ast, _extract_tree, _flow
from ._files import NotRegular, read_regular
from ._records import (
    CallFact,
    ClassFact,
    ErrorFact,
    Extracted,
    FileFacts,
    FunctionFact,
    ImportFact,
)
from ._tree_cache import TreeCache

__all__ = [
    "CallFact",
    "ClassFact",
    "ErrorFact",
    "FileFacts",
    "FunctionFact",
    "ImportFact",
    "MAX_BYTES",
    "facts_of",
    "module_name",
]

#: Files larger than this are recorded as errors instead of parsed.
MAX_BYTES = 20 * 1024 * 1024

#: Bytes that cannot be part of an identifier become spaces; what is left, split, is the words.
_NOT_WORD = bytes(c if chr(c).isalnum() or c == 0x5F or c >= 0x80 else 0x20 for c in range(256))
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
_UTF8 = {b"utf-8", b"utf8", b"utf_8"}
_parser = None


def module_name(root: str, path: str) -> str:
    """The dotted module name of ``path`` under ``root`` (``pkg/__init__.py`` is ``pkg``)."""
    rel = os.path.relpath(path, root)
    parts = rel[:-3].split(os.sep) if rel.endswith(".py") else rel.split(os.sep)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts else os.path.basename(os.path.abspath(root))


def reads_like_cpython(data: bytes) -> bool:
    """True when tree-sitter reads the file's bytes as CPython would: UTF-8 without a BOM, a
    coding declaration for another encoding, or lone carriage returns."""
    if data.startswith(b"\xef\xbb\xbf") or b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False
    head = data[: data.find(b"\n", data.find(b"\n") + 1) + 1 or len(data)] if b"coding" in data[:400] else b""
    if any(name.lower() not in _UTF8 for name in _CODING.findall(head)):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def extract_cpython(tree: ast.Module) -> Extracted:
    """Everything the index keeps of a module, from CPython's tree."""
    return (*_extract_ast.extract(tree), _flow.flow(tree))


def _cpython(data: bytes, path: str) -> Extracted | ErrorFact:
    try:
        tree = ast.parse(data, filename=path)
    except SyntaxError as exc:
        return ErrorFact(exc.lineno, exc.msg)
    except (ValueError, UnicodeDecodeError) as exc:
        return ErrorFact(None, str(exc))
    except (RecursionError, MemoryError) as exc:
        return ErrorFact(None, f"too deeply nested: {type(exc).__name__}")
    try:
        return extract_cpython(tree)
    except RecursionError:
        return ErrorFact(None, "too deeply nested to analyse")


def _compiles(data: bytes, path: str) -> ErrorFact | None:
    """CPython's compiler front end on the file: its SyntaxError, if any."""
    try:
        symtable.symtable(data, path, "exec")  # type: ignore[arg-type]  # bytes honour coding declarations
    except SyntaxError as exc:
        return ErrorFact(exc.lineno, exc.msg)
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        return ErrorFact(None, str(exc) or type(exc).__name__)
    return None


def _extract(data: bytes, path: str, trees: TreeCache | None) -> Extracted | ErrorFact:
    global _parser
    if reads_like_cpython(data):
        if trees is not None:
            tree = trees.parse(path, data)
        else:
            if _parser is None:
                _parser = _extract_tree.parser()
            tree = _parser.parse(data)
        extracted = _extract_tree.extract(tree)
        if extracted is not None:
            return extracted
    return _cpython(data, path)


def facts_of(root: str, path: str, strict: bool = False, trees: TreeCache | None = None) -> FileFacts:
    """Read, parse and extract one file. Never raises: bad input becomes ``error``. With
    ``trees``, the parse goes through (and refreshes) that cache."""
    module = module_name(root, path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return FileFacts(path, module, "", size, 0, ErrorFact(None, f"file too large ({size} bytes)"))
        data = read_regular(path)
    except NotRegular:
        return FileFacts(path, module, "", 0, 0, ErrorFact(None, "not a regular file (a FIFO, socket or device)"))
    except OSError as exc:
        return FileFacts(path, module, "", 0, 0, ErrorFact(None, f"unreadable: {exc.strerror or exc}"))
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if b"\0" in data:
        return FileFacts(path, module, digest, len(data), lines, ErrorFact(None, "binary file (contains NUL bytes)"))
    rejected = _compiles(data, path) if strict else None
    found = rejected if rejected is not None else _extract(data, path, trees)
    if isinstance(found, ErrorFact):
        return FileFacts(path, module, digest, len(data), lines, found)
    classes, functions, calls, imports, flow = found
    words = b" ".join([b"", *set(data.translate(_NOT_WORD).split()), b""]).decode("utf-8", "replace")
    return FileFacts(path, module, digest, len(data), lines, None, classes, functions, calls, imports, words, flow)
