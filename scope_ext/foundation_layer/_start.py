"""Runtimes that start production's Foundation with them: the public ``run``, ``open_runtime`` and
``RuntimeThread``, each the runtime's own plus a ``foundation`` switch (the runtime itself knows
nothing of the Foundation; it runs the start hook these pass)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from ..runtime import _runtime, _thread
from ..runtime._runtime import Runtime, StartHook
from ._config import Setting
from ._foundation import start_foundation

T = TypeVar("T")


def production_foundation(settings: Iterable[Setting] = ()) -> StartHook:
    """A start hook that starts production's Foundation, with ``settings`` added to its schema."""
    extra = tuple(settings)

    async def start(runtime: Runtime) -> None:
        await start_foundation(runtime.production, settings=extra)

    return start


def open_runtime(*, foundation: bool = False, shutdown_timeout: float = 30.0) -> AbstractAsyncContextManager[Runtime]:
    """Run a runtime for the duration of an ``async with`` block; on exit stop it gracefully.

    With ``foundation``, production gets its Foundation services (config, events, telemetry,
    health, memory) at start. The graceful stop is shielded from outer cancellation and bounded by
    ``shutdown_timeout`` seconds, after which whatever still runs is killed.
    """
    return _runtime.open_runtime(
        on_start=production_foundation() if foundation else None, shutdown_timeout=shutdown_timeout
    )


def run(main: Callable[[Runtime], Awaitable[T]], *, foundation: bool = False, shutdown_timeout: float = 30.0) -> T:
    """``trio.run`` a function ``main(runtime)`` inside a fresh runtime (scripts and CLIs); with
    ``foundation``, production's Foundation starts first."""
    return _runtime.run(
        main, on_start=production_foundation() if foundation else None, shutdown_timeout=shutdown_timeout
    )


class RuntimeThread(_thread.RuntimeThread):
    """A runtime running ``trio.run`` in a daemon thread (see the runtime's ``RuntimeThread``); with
    ``foundation`` (the default) production gets its Foundation services at start."""

    def __init__(self, *, foundation: bool = True, shutdown_timeout: float = 30.0) -> None:
        super().__init__(on_start=production_foundation() if foundation else None, shutdown_timeout=shutdown_timeout)
