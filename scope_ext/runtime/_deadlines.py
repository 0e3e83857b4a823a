"""Call timeouts without a cancel scope per call.

A trio ``fail_after`` around every call costs more than the call itself, so pending calls are
grouped into buckets of ``RESOLUTION`` seconds and one timer task per runtime expires whole
buckets. Adding and removing a call is a set insert and a set discard.
"""

from __future__ import annotations

import heapq
import math
from typing import Protocol

import trio


class Expiring(Protocol):
    """A pending call that can be timed out (:class:`Caller` is one)."""

    def _time_out(self) -> None: ...


#: Timeouts fire at most this many seconds late.
RESOLUTION = 0.005


class Deadlines:
    """Expires pending calls whose timeout has passed; owned by one runtime, used from its thread."""

    def __init__(self) -> None:
        self._buckets: dict[int, set[Expiring]] = {}
        self._ticks: list[int] = []
        self._sleep_scope: trio.CancelScope | None = None

    def add(self, caller: Expiring, timeout: float) -> set[Expiring]:
        """Register ``caller`` to time out after ``timeout`` seconds; returns its bucket for removal."""
        tick = math.ceil((trio.current_time() + timeout) / RESOLUTION)
        bucket = self._buckets.get(tick)
        if bucket is None:
            bucket = self._buckets[tick] = set()
            heapq.heappush(self._ticks, tick)
            scope = self._sleep_scope
            if scope is not None and tick * RESOLUTION < scope.deadline:
                scope.deadline = tick * RESOLUTION
        bucket.add(caller)
        return bucket

    async def run(self) -> None:
        """Timer task: sleep until the earliest bucket is due, then time out every call still in it."""
        while True:
            with trio.CancelScope() as scope:
                scope.deadline = self._ticks[0] * RESOLUTION if self._ticks else math.inf
                self._sleep_scope = scope
                await trio.sleep_forever()
            self._sleep_scope = None
            now = trio.current_time()
            while self._ticks and self._ticks[0] * RESOLUTION <= now:
                bucket = self._buckets.pop(heapq.heappop(self._ticks))
                for caller in list(bucket):
                    caller._time_out()
