"""The call edges a run actually executes: the ground truth static resolution is measured against.

:func:`executed_calls` runs a function under ``sys.setprofile`` (and ``threading.setprofile``) and
records each Python call whose caller and callee are both defined in files under one directory,
as the index names them: ``(caller fullname, callee fullname)``, a module's top-level code being
``module.<module>``. Code inside lambdas and comprehensions counts as the function around it, as
the index counts its calls. Generators and coroutines are left out as callees: the profiler sees
them run where they are iterated, not where they were called.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

#: Code flags of generators, coroutines and async generators.
_SUSPENDABLE = 0x20 | 0x80 | 0x200


def executed_calls(run: Callable[[], Any], root: str) -> set[tuple[str, str]]:
    """Run ``run()`` and return the calls it made between functions defined under ``root``."""
    prefix = os.path.realpath(root) + os.sep
    names: dict[CodeType, str | None] = {}
    edges: set[tuple[str, str]] = set()

    def name_of(code: CodeType) -> str | None:
        if code in names:
            return names[code]
        path = os.path.realpath(code.co_filename)
        found = None
        if path.startswith(prefix) and path.endswith(".py"):
            parts = path[len(prefix) : -3].split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            lexical = []
            for part in code.co_qualname.split("."):
                if part.startswith("<"):  # <locals> between names; <lambda>, <listcomp>: the function around
                    if part != "<locals>":
                        break
                    continue
                lexical.append(part)
            found = ".".join(parts + (lexical or ["<module>"]))
        names[code] = found
        return found

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or frame.f_back is None or frame.f_code.co_flags & _SUSPENDABLE:
            return
        code = frame.f_code
        if code.co_name.startswith("<"):  # a lambda or comprehension: not a function the index knows
            return
        callee = name_of(code)
        caller = name_of(frame.f_back.f_code) if callee else None
        if caller:
            edges.add((caller, callee))  # type: ignore[arg-type]

    previous = sys.getprofile()
    threading.setprofile(profile)  # type: ignore[arg-type]
    sys.setprofile(profile)  # type: ignore[arg-type]
    try:
        run()
    finally:
        sys.setprofile(previous)
        threading.setprofile(None)  # type: ignore[arg-type]
    return edges
