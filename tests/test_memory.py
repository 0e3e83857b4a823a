"""Memory manager: stores and caches are asked to shrink past the threshold."""

from __future__ import annotations

import trio

import scope_ext as sx


def test_memory_manager_asks_stores_to_shrink_past_the_threshold(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"memory.threshold_mb": 1, "memory.interval": 60.0})
        await trio.sleep(0.05)  # let the first periodic check pass; the next is a minute away
        await f.events.store_batch([("bulk", i) for i in range(1000)])
        await f.events.flush()

        class Cache:
            def __init__(self):
                self.items = list(range(100))

            def memory_bytes(self):
                return len(self.items) * 8

            def shrink(self, fraction):
                drop = int(len(self.items) * fraction)
                del self.items[:drop]
                return drop

        cache = Cache()
        f.register_cache("cache", cache)
        stored = (await f.events.stats()).stored
        sizes = await sx.call("memory", "check")
        assert sizes["process"] > 1024 * 1024 and sizes["cache"] == 800 and sizes["events"] > 0
        assert len(cache.items) == 75
        assert len(await f.events.query(types="bulk")) == 750
        pressure = (await f.events.query(types="scope.memory.pressure"))[-1]
        assert pressure.data["shrunk"] == {"cache": 25, "events": stored - int(stored * 0.75)}

    in_runtime(main)
