"""The code layer's error."""

from __future__ import annotations

from ..runtime._exceptions import ScopeError


class CodeError(ScopeError):
    """A code-layer request was refused: no layer in the namespace, a bad root, a bad query."""
