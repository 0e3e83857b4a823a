"""Rate limiter: waits or refuses per key."""

from __future__ import annotations

import pytest
import trio

import scope_ext as sx


def test_rate_limiter_waits_or_refuses_per_key(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production)
        limiter = f.rate_limiter("api", rate=20, burst=2)
        assert limiter.try_acquire("u1") and limiter.try_acquire("u1") and not limiter.try_acquire("u1")
        assert limiter.try_acquire("u2")  # keys are independent
        with pytest.raises(sx.RateLimited, match="reached"):
            await limiter.acquire("u1", wait=False)
        start = trio.current_time()
        await limiter.acquire("u1")  # waits for a refill (1/20 s)
        assert 0.03 <= trio.current_time() - start < 3.0  # it waited for the refill, and only for that
        with pytest.raises(sx.RateLimited, match="within 0.01 s"):
            await limiter.acquire("u1", cost=2, timeout=0.01)
        with pytest.raises(ValueError, match="exceeds the burst"):
            limiter.try_acquire("u1", cost=3)

    in_runtime(main)
