"""The notebook front: ``%load_ext scope_ext``, the ``%scope`` magics, the live views and the Scope
sidebar's comm. Widget libraries load only when a view is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from ._extension import load_ipython_extension as load_ipython_extension
    from ._extension import runtime_thread as runtime_thread
    from ._extension import unload_ipython_extension as unload_ipython_extension


__getattr__, __dir__, __all__ = attach(__name__, __file__)
