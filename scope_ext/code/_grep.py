"""Structural search with ast-grep (``ast-grep-py``): patterns such as ``$X.append($Y)``.

The index narrows the files first: every identifier of the pattern that is not a metavariable, a
keyword or inside a string must be used by a module (``identifiers`` table) for it to be searched.
Matching runs in the parser's worker processes, a chunk of files at a time.
"""

from __future__ import annotations

import bisect
import keyword
import re
from typing import Any, NamedTuple

from ..runtime._exceptions import ScopeError
from ._files import read_regular

_METAVARIABLE = re.compile(r"\$\$?\$?([A-Z_][A-Z0-9_]*)")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_WORD = re.compile(r"(?<![$\w])[A-Za-z_]\w*")


class PatternError(ScopeError):
    """The pattern is not valid Python for ast-grep."""


class Match(NamedTuple):
    path: str
    line: int
    column: int
    text: str
    captures: dict[str, str]


def identifiers(pattern: str) -> list[str]:
    """The identifiers a file must use to possibly match ``pattern``."""
    bare = _METAVARIABLE.sub(" ", _STRING.sub(" ", pattern))
    return sorted({w for w in _WORD.findall(bare) if not keyword.iskeyword(w) and not keyword.issoftkeyword(w)})


def check_pattern(pattern: str) -> None:
    """Raise :class:`PatternError` unless ``pattern`` parses as Python (ast-grep itself would
    silently match nothing). Metavariables are read as ast-grep does, with ``$`` as ``µ``."""
    from ast_grep_py import SgRoot

    if not pattern.strip():
        raise PatternError("an empty pattern")
    try:  # ast-grep's own rules for metavariables (e.g. a bare ``$$$``), before any worker sees it
        SgRoot("pass", "python").root().find(pattern=pattern)
    except Exception as exc:  # ast-grep-py raises RuntimeError with a long backtrace
        reason = str(exc).split("Stack backtrace")[0].strip().splitlines()[-1].strip(" 0123456789:").replace("µ", "$")
        raise PatternError(f"ast-grep cannot use the pattern {pattern!r}: {reason}") from None
    error = SgRoot(pattern.replace("$", "µ"), "python").root().find(kind="ERROR")
    if error is not None:
        column = error.range().start.column
        raise PatternError(
            f"ast-grep cannot use the pattern {pattern!r}: it is not valid Python "
            f"near {pattern[column : column + 10]!r} (column {column + 1})"
        )


#: Characters of a match or capture kept (the rest becomes "…"): nested matches, such as every
#: ``$A + $B`` in a long ``a + a + …`` line, would otherwise cost the square of the line's length.
TEXT_LIMIT = 240


def grep_files(pattern: str, paths: list[str]) -> list[Match]:
    """Worker job: every match of ``pattern`` in ``paths`` (unreadable files are skipped).

    Linear in the matches: positions come from each node's offsets (``SgNode.range`` counts the
    columns of its line again for every node) and texts are cut at :data:`TEXT_LIMIT`."""
    from ast_grep_py import SgRoot

    names = sorted(set(_METAVARIABLE.findall(pattern)))
    found: list[Match] = []
    for path in paths:
        try:
            source = read_regular(path).decode("utf-8", "replace")
        except OSError:  # gone, unreadable, or not a regular file
            continue
        line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        for node in SgRoot(source, "python").root().find_all(pattern=pattern):
            start, end = _span(node)
            line = bisect.bisect_right(line_starts, start) - 1
            captures = {}
            for name in names:
                single = node.get_match(name)
                if single is not None:
                    captures[name] = _excerpt(source, *_span(single))
                else:
                    many = node.get_multiple_matches(name)
                    if many:
                        captures[name] = _excerpt(source, _span(many[0])[0], _span(many[-1])[1])
            found.append(Match(path, line + 1, start - line_starts[line], _excerpt(source, start, end), captures))
    return found


_NEWLINE = re.compile("\n")


def _span(node: Any) -> tuple[int, int]:
    """A node's start and end as indexes into its source string, in constant time (an unapplied
    edit carries them)."""
    edit = node.replace("")
    return edit.start_pos, edit.end_pos


def _excerpt(source: str, start: int, end: int) -> str:
    if end - start <= TEXT_LIMIT:
        return source[start:end]
    return source[start : start + TEXT_LIMIT] + "…"
