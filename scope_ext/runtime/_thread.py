"""The runtime on its own thread, and the one bridge other threads use to reach it.

Inside a kernel the runtime runs ``trio.run`` in a thread of its own, so services keep running
while a cell blocks. Every touch from another thread (the kernel's main thread, comm or subshell
threads) goes through :meth:`RuntimeThread.run` / :meth:`RuntimeThread.run_sync`, which execute
in the trio thread with ``trio.from_thread`` and the runtime's token.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from ._exceptions import RuntimeNotRunning
from ._process import _current_node
from ._runtime import Runtime, StartHook, open_runtime
from ._switch_interval import PromptSwitching

T = TypeVar("T")


class RuntimeThread:
    """A runtime running ``trio.run`` in a daemon thread; start with :meth:`start`.

    ``on_start(runtime)`` runs in the runtime once production exists (see :func:`open_runtime`).
    ``prompt_switching`` shortens the interpreter's switch interval while the runtime has work due
    (see :mod:`._switch_interval`), so its timers keep time beside a CPU-bound cell.
    """

    def __init__(
        self, *, on_start: StartHook | None = None, shutdown_timeout: float = 30.0, prompt_switching: bool = True
    ) -> None:
        self.on_start = on_start
        self.shutdown_timeout = shutdown_timeout
        self.prompt_switching = prompt_switching
        self.runtime: Runtime | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._thread: threading.Thread | None = None
        self._stop: trio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        """Whether the runtime thread is up and accepting work."""
        return self._token is not None and self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> Runtime:
        """Start the thread and wait until the runtime is running (one thread at a time: a
        previous run still stopping is waited for first)."""
        if self.running:
            assert self.runtime is not None
            return self.runtime
        previous = self._thread
        if previous is not None and previous.is_alive():
            previous.join(self.shutdown_timeout + 5)
            if previous.is_alive():
                raise RuntimeNotRunning("the previous runtime is still stopping; try again in a moment")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name="scope_ext-runtime", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeNotRunning(f"the runtime did not start within {timeout} s")
        if self._error is not None:
            error = self._error
            raise RuntimeNotRunning(f"the runtime failed to start: {type(error).__name__}: {error}") from error
        assert self.runtime is not None
        return self.runtime

    def _main(self) -> None:
        switching = PromptSwitching() if self.prompt_switching else None
        try:
            trio.run(self._serve, instruments=[switching] if switching else [])
        except BaseException as exc:  # reported to start(); never propagates into the kernel
            self._error = exc
        finally:
            if switching is not None:
                switching.restore()
            self._token = None
            self._ready.set()

    async def _serve(self) -> None:
        async with open_runtime(on_start=self.on_start, shutdown_timeout=self.shutdown_timeout) as rt:
            self.runtime = rt
            self._stop = trio.Event()
            self._token = trio.lowlevel.current_trio_token()
            self._ready.set()
            await self._stop.wait()

    def _check(self) -> trio.lowlevel.TrioToken:
        token = self._token
        if token is None or threading.current_thread() is self._thread:
            if token is not None:
                raise RuntimeError("RuntimeThread.run is for other threads; inside the runtime just await")
            raise RuntimeNotRunning("the scope_ext runtime is not running (start it with %scope start)")
        return token

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await fn(*args)`` in the runtime's thread and return its result here.

        Ctrl-C here (KeyboardInterrupt in this thread) cancels the work in the runtime too, so an
        interrupted cell leaves nothing running behind it."""
        token = self._check()
        runtime = self.runtime
        scope = trio.CancelScope()

        async def in_runtime() -> T:
            _current_node.set(runtime)
            with scope:
                return await fn(*args)
            raise RuntimeNotRunning("cancelled: the calling thread was interrupted")  # nobody waits for this

        try:
            return trio.from_thread.run(in_runtime, trio_token=token)
        except KeyboardInterrupt:
            try:
                trio.from_thread.run_sync(scope.cancel, trio_token=token)
            except trio.RunFinishedError:
                pass
            raise

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the runtime's thread and return its result here."""
        token = self._check()
        runtime = self.runtime

        def in_runtime() -> T:
            reset = _current_node.set(runtime)
            try:
                return fn(*args)
            finally:
                _current_node.reset(reset)

        return trio.from_thread.run_sync(in_runtime, trio_token=token)

    def stop(self, timeout: float | None = None) -> None:
        """Stop every namespace gracefully (reverse order) and end the thread."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        if self._token is not None and self._stop is not None:
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        thread.join(self.shutdown_timeout + 5 if timeout is None else timeout)
        if not thread.is_alive():  # else keep it: start() must not run a second runtime beside it
            self._thread = None
        self.runtime = None
