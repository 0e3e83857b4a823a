"""How long the runtime's thread is held: the worst lateness of a 10 ms ticker while other work runs.

Anchor: the same ticker with nothing else running, in the same run. Loads:
- a tight loop of casts to a service whose mailbox always has room;
- a tight loop of stored events (``events.store``), one at a time;
- one ``events.store_batch`` of 200,000 events;
- an event-store query over 1,000,000 events, filtered (by a data predicate) and unfiltered.
Target for each (issue 13): the worst stall at most 20 ms.

    python3 bench/stalls.py [--quick]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
from _report import Rows, run_bench

import scope_ext as sx

TICK = 0.010
GOAL_MS = 20.0


class Sink(sx.Service):
    mailbox_capacity = 10_000_000

    def handle_cast(self, message: object) -> None:
        pass


async def worst_lateness_ms(load: Callable[[], Awaitable[object]]) -> float:
    """The worst lateness of a 10 ms ticker while ``load()`` runs (at least 0.3 s of ticks)."""
    worst = 0.0
    done = trio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            due = trio.current_time() + TICK
            await trio.sleep_until(due)
            worst = max(worst, trio.current_time() - due)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0.05)
        worst = 0.0
        started = trio.current_time()
        await load()
        await trio.sleep(max(0.0, 0.3 - (trio.current_time() - started)))
        done.set()
    return worst * 1000


async def bench(quick: bool) -> Rows:
    n = 100_000 if quick else 500_000
    events = 200_000 if quick else 1_000_000
    rows: Rows = []
    async with sx.open_runtime() as rt:
        f = await sx.start_foundation(
            rt.production, overrides={"events.outbox_size": 10_000_000, "events.max_events": events + 10}
        )
        await rt.production.start(Sink, name="sink")
        idle = await worst_lateness_ms(lambda: trio.sleep(0.3))

        async def casts() -> None:
            for i in range(n):
                await sx.cast("sink", i)

        async def stores() -> None:
            for i in range(n):
                await f.events.store("bench.tick", i)

        batch = [("bench.batch", i) for i in range(200_000)]  # made before the ticker watches

        async def one_batch() -> None:
            await f.events.store_batch(batch)
            await f.events.flush()

        loads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (f"{n:,} casts in a tight loop", casts),
            (f"{n:,} events stored one at a time", stores),
            ("one batch of 200,000 events", one_batch),
        ]
        for name, load in loads:
            worst = await worst_lateness_ms(load)
            rows.append(
                (f"{name}: worst tick {worst:6.1f} ms, idle {idle:.1f} ms (goal <= {GOAL_MS:g} ms)", worst <= GOAL_MS)
            )
        for start in range(0, events, 50_000):
            await f.events.store_batch([("bench.fill", {"i": i}) for i in range(start, start + 50_000)])
        await f.events.flush()
        queries: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (f"query over {events:,} events, filtered", lambda: f.events.query(where=lambda d: d == -1, timeout=None)),
            (f"query over {events:,} events, unfiltered", lambda: f.events.query(timeout=None)),
        ]
        for name, load in queries:
            worst = await worst_lateness_ms(load)
            rows.append(
                (f"{name}: worst tick {worst:6.1f} ms, idle {idle:.1f} ms (goal <= {GOAL_MS:g} ms)", worst <= GOAL_MS)
            )
    return rows


if __name__ == "__main__":
    run_bench("stalls", __doc__.splitlines()[0], bench)
