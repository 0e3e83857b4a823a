"""Lazy re-exports (PEP 562) for the package and its layers.

A package names its public API once, as ``from .module import Name as Name`` lines in an ``if
TYPE_CHECKING:`` block, which type checkers read; :func:`attach` reads the same block and makes each
name import its module on first access. So ``import scope_ext`` costs about nothing, and a script
that only wants a supervisor never loads the code layer, the widgets or their libraries.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from typing import Any


def attach(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``, from the ``TYPE_CHECKING`` imports of its
    ``__init__`` (``init_file``)."""
    with open(init_file, encoding="utf-8") as file:
        tree = ast.parse(file.read(), init_file)
    origin: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    for alias in statement.names:
                        origin[alias.asname or alias.name] = "." * statement.level + (statement.module or "")

    def __getattr__(name: str) -> Any:
        module = origin.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *origin})

    return __getattr__, __dir__, sorted((name for name in origin if not name.startswith("_")), key=str.lower)
