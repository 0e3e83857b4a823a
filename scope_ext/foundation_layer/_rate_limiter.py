"""Rate limiters: a token bucket per key; callers wait for tokens or are refused.

Each key gets ``burst`` tokens, refilled at ``rate`` tokens per second. Idle full buckets are
forgotten, so memory follows the number of active keys.
"""

from __future__ import annotations

from collections.abc import Hashable

import trio

from ..runtime._exceptions import ScopeError

_MAX_KEYS = 10_000
#: Refill arithmetic in floats: waiting exactly the refill time must be enough.
_EPSILON = 1e-9


class RateLimited(ScopeError):
    """Not enough tokens: refused at once, or not refilled within the wait's timeout."""


class RateLimiter:
    """See the module docstring; get one with ``Foundation.rate_limiter(name, rate=..., burst=...)``."""

    def __init__(self, name: str, *, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 tokens/s, not {rate}")
        self.name = name
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else rate)
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, not {self.burst}")
        self._buckets: dict[Hashable, list[float]] = {}

    def __repr__(self) -> str:
        return f"<RateLimiter {self.name!r} {self.rate}/s burst {self.burst}>"

    def _tokens(self, key: Hashable, now: float) -> list[float]:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_KEYS:
                self._forget_idle(now)
            bucket = self._buckets[key] = [self.burst, now]
        else:
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        return bucket

    def _forget_idle(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.burst:
                del self._buckets[key]

    def try_acquire(self, key: Hashable = None, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are enough now."""
        if cost > self.burst:
            raise ValueError(f"cost {cost} exceeds the burst {self.burst}: it could never be paid")
        bucket = self._tokens(key, trio.current_time())
        if bucket[0] >= cost - _EPSILON:
            bucket[0] = max(0.0, bucket[0] - cost)
            return True
        return False

    async def acquire(
        self, key: Hashable = None, cost: float = 1.0, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Take ``cost`` tokens, waiting for the refill (up to ``timeout``) or refusing at once."""
        if self.try_acquire(key, cost):
            await trio.lowlevel.checkpoint()
            return
        if not wait:
            raise RateLimited(f"rate limit {self.name!r} reached for {key!r}")
        deadline = trio.current_time() + (timeout if timeout is not None else float("inf"))
        while True:
            bucket = self._tokens(key, trio.current_time())
            needed = (cost - bucket[0]) / self.rate
            if trio.current_time() + needed > deadline:
                raise RateLimited(f"rate limit {self.name!r}: no {cost} tokens for {key!r} within {timeout} s")
            await trio.sleep(needed)
            if self.try_acquire(key, cost):
                return
