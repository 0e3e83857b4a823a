"""How scope_ext's result objects show themselves in IPython.

A result object has a ``__rich__`` renderable and a stable ``__repr__`` (no addresses, no times),
and mixes in :class:`Displayable`. In a Jupyter front end it shows as HTML (rich's export) with
the stable repr as ``text/plain``, so saved notebooks compare cleanly (nbval); in terminal
IPython it prints the rich rendering in colour.
"""

from __future__ import annotations

import io
import sys
from typing import Any


def render_text(renderable: Any, *, color: bool, width: int = 120) -> str:
    """``renderable`` as text, with ANSI colours or without."""
    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        force_jupyter=False,
        color_system="truecolor" if color else None,
        record=not color,
    )
    console.print(renderable)
    return console.file.getvalue().rstrip("\n")  # type: ignore[attr-defined, no-any-return]


def render_html(renderable: Any, width: int = 120) -> str:
    """``renderable`` as a self-contained HTML fragment (inline styles)."""
    from rich.console import Console

    console = Console(
        file=io.StringIO(), width=width, record=True, force_terminal=True, force_jupyter=False, color_system="truecolor"
    )
    console.print(renderable)
    return console.export_html(
        inline_styles=True,
        code_format='<pre class="scope-ext" style="font-family:monospace;line-height:1.3">{code}</pre>',
    )


def in_terminal() -> bool:
    """True in terminal IPython (or a plain interpreter on a terminal), False in a kernel."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    if shell is not None:
        return type(shell).__name__ == "TerminalInteractiveShell"
    return sys.stdout.isatty()


def in_kernel() -> bool:
    """True inside a Jupyter kernel, where live widgets have a front end to talk to."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Displayable:
    """Mixin for classes with a ``__rich__`` renderable: HTML and a stable text/plain in
    Jupyter, colour text in a terminal."""

    __slots__ = ()

    def _html(self) -> str:
        return render_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        if in_terminal():
            return {"text/plain": render_text(self, color=True)}
        return {"text/plain": repr(self), "text/html": self._html()}
