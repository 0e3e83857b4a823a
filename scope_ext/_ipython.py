"""IPython integration: ``%load_ext scope_ext`` starts the runtime thread and registers the
``%scope`` magics (:mod:`scope_ext._magics`)."""

from __future__ import annotations

import atexit
from typing import Any

from ._magics import ScopeMagics
from ._thread import RuntimeThread

_thread: RuntimeThread | None = None


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext scope_ext``: start the runtime thread and register ``%scope``."""
    global _thread
    if _thread is None:
        _thread = RuntimeThread()
        atexit.register(_thread.stop)
    _thread.start()
    ip.register_magics(ScopeMagics(ip, _thread))


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext scope_ext``: stop the runtime cleanly."""
    global _thread
    if _thread is not None:
        _thread.stop()
        atexit.unregister(_thread.stop)
        _thread = None


def runtime_thread() -> RuntimeThread | None:
    """The kernel's runtime thread, if the extension is loaded."""
    return _thread
