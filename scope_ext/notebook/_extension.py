"""IPython integration: ``%load_ext scope_ext`` starts the runtime thread, registers the
``%scope`` magics (:mod:`scope_ext.notebook._magics`) and, in a kernel, the Scope sidebar's comm target
(:mod:`scope_ext.notebook._sidebar`)."""

from __future__ import annotations

import atexit
import importlib
import logging
from typing import Any

from IPython.core.error import UsageError

from ..code._settings import CODE_SETTINGS
from ..foundation_layer._start import production_foundation
from ..runtime._exceptions import RuntimeNotRunning
from ..runtime._thread import RuntimeThread
from ._magics import ScopeMagics

_thread: RuntimeThread | None = None
_loaded = False


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext scope_ext``: start the runtime thread and register ``%scope``.

    Crash tracebacks no longer go to the cell's stderr through logging's last resort (the tree
    and the events show every crash); a logging configuration of your own still gets them."""
    global _thread, _loaded
    _loaded = True
    if not any(isinstance(h, logging.NullHandler) for h in logging.getLogger("scope_ext").handlers):
        logging.getLogger("scope_ext").addHandler(logging.NullHandler())
    if _thread is None:  # one for the kernel's life: loading again restarts the same one
        _thread = RuntimeThread(on_start=production_foundation(CODE_SETTINGS))
    atexit.unregister(_thread.stop)
    atexit.register(_thread.stop)
    ip.register_magics(ScopeMagics(ip, _thread))  # first: %scope is there to recover with, whatever follows
    from . import _sidebar  # (widgets are imported only where a page can show them)

    if _sidebar.register(ip, _thread):
        # A page can show views: import them (and ipywidgets) now, so the first %scope tree
        # draws without paying for that import (about 150 ms).
        importlib.import_module(f"{__package__}._views")
    try:
        _thread.start()
    except RuntimeNotRunning as exc:
        raise UsageError(f"scope_ext is loaded but {exc}; %scope start tries again") from None


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext scope_ext``: stop the runtime cleanly."""
    global _loaded
    _loaded = False
    if _thread is not None:
        from . import _sidebar

        _sidebar.unregister(ip, _thread)
        _thread.stop()
        atexit.unregister(_thread.stop)


def runtime_thread() -> RuntimeThread | None:
    """The kernel's runtime thread, while the extension is loaded."""
    return _thread if _loaded else None
