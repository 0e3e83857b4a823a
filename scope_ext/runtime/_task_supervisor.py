"""Task supervisors: supervised fire-and-forget tasks and a streaming, bounded parallel map.

Map items run as task processes in the task supervisor's nursery, at most ``max_concurrency`` at a
time; an item past its ``timeout`` is killed and yields a ``TimeoutError``. Results come back in
input order (``ordered=True``) or as they finish. Close the stream (``async with``) to kill what is
still running if you stop early.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, NamedTuple

import trio

from ._exceptions import NotRunning
from ._process import KILLED, Process, _carry
from ._service import Target, attempt, resolve
from ._supervisor import ChildSpec, DynamicSupervisor, Restart, start_child


class TaskSupervisor(DynamicSupervisor):
    """The supervisor of :func:`start_task` tasks and :func:`task_map` items; starts like a
    DynamicSupervisor (``max_children``, ``max_restarts``, ``max_seconds``)."""


async def start_task(
    sup: Target, fn: Callable[..., Awaitable[Any]], *args: Any, restart: Restart = "temporary"
) -> Process:
    """Run ``fn(*args)`` as a supervised task: crashes are reported, and retried only if
    ``restart`` asks for it (``transient``: until it finishes normally)."""
    return await start_child(sup, ChildSpec(getattr(fn, "__name__", "task"), fn, args, restart=restart))


class MapResult(NamedTuple):
    """One item's outcome: ``value`` if it returned, else ``error`` (``TimeoutError`` on timeout)."""

    position: int
    item: Any
    value: Any
    error: BaseException | None

    @property
    def ok(self) -> bool:
        """Whether the item returned a value."""
        return self.error is None


class MapStream:
    """Async iterator of :class:`MapResult`; see :func:`task_map`."""

    def __init__(
        self,
        sup: Process,
        fn: Callable[[Any], Awaitable[Any]],
        items: Iterable[Any],
        max_concurrency: int,
        timeout: float | None,
        ordered: bool,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, not {max_concurrency}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, not {timeout}")
        self._sup = sup
        self._fn = fn
        self._items: Iterator[tuple[int, Any]] | None = iter(enumerate(items))
        self._max = max_concurrency
        self._timeout = timeout
        self._ordered = ordered
        self._running: dict[Process, tuple[int, Any]] = {}
        self._values: dict[Process, Any] = {}
        self._done: dict[int, MapResult] = {}
        self._next_index = 0
        self._held = 0  # finished, not yet yielded (ordered mode holds slots until yielded; unordered
        # mode runs on while up to max_concurrency wait, so a slow consumer does not idle the workers)
        self._wakeup: trio.Event | None = None

    async def __aenter__(self) -> MapStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[MapResult]:
        return self

    async def __anext__(self) -> MapResult:
        while True:
            result = self._take()
            self._fill()  # also into the room the taken result leaves
            if result is not None:
                return result
            if not self._running and self._items is None:
                raise StopAsyncIteration
            self._wakeup = trio.Event()
            await self._wakeup.wait()

    async def aclose(self) -> None:
        """Stop starting items and kill the ones still running."""
        self._items = None
        running = list(self._running)
        for proc in running:
            proc.kill()
        for proc in running:
            await proc.wait_exited()

    def _fill(self) -> None:
        nursery = self._sup.service.nursery if self._sup.alive else None
        while self._items is not None and self._room():
            if nursery is None:
                raise NotRunning(f"task supervisor {self._sup.label!r} is not running")
            entry = next(self._items, None)
            if entry is None:
                self._items = None
                break
            proc = Process(
                self._sup.runtime, self._sup.namespace, f"map[{entry[0]}]", "task", self._fn, (entry[1],), self._run
            )
            proc.supervisor_link = self._finished
            if self._timeout is not None:
                proc._scope.deadline = trio.current_time() + self._timeout
            self._running[proc] = entry
            proc.nursery = nursery
            nursery.start_soon(_carry, proc)

    def _room(self) -> bool:
        if self._ordered:
            return len(self._running) + self._held < self._max
        return len(self._running) < self._max and len(self._running) + self._held < 2 * self._max

    def _take(self) -> MapResult | None:
        if self._ordered:
            result = self._done.pop(self._next_index, None)
            if result is not None:
                self._next_index += 1
        else:
            result = self._done.pop(next(iter(self._done))) if self._done else None
        if result is not None:
            self._held -= 1
        return result

    async def _run(self, proc: Process) -> Any:
        proc._started()
        value, error = await attempt(proc, self._fn, proc._args, True)
        if error is not None:
            return error
        self._values[proc] = value
        return "normal"

    def _finished(self, proc: Process, reason: Any, _carrier_free: bool) -> None:
        index, item = self._running.pop(proc)
        if proc in self._values:
            result = MapResult(index, item, self._values.pop(proc), None)
        elif reason == KILLED:
            error = TimeoutError(f"item {index} did not finish within {self._timeout} s")
            result = MapResult(index, item, None, error)
        else:
            result = MapResult(index, item, None, reason)
        self._done[index] = result
        self._held += 1
        if self._sup.alive:
            self._fill()  # the next item starts now, not when the consumer asks
        if self._wakeup is not None:
            self._wakeup.set()


def task_map(
    sup: Target,
    fn: Callable[[Any], Awaitable[Any]],
    items: Iterable[Any],
    *,
    max_concurrency: int = 4,
    timeout: float | None = None,
    ordered: bool = True,
) -> MapStream:
    """Run ``fn(item)`` for each item under the task supervisor ``sup``; iterate the results.

    ``async with task_map(...) as results: async for r in results: ...``
    """
    if max_concurrency == math.inf:
        raise ValueError("max_concurrency must be a finite number")
    return MapStream(resolve(sup), fn, items, max_concurrency, timeout, ordered)
