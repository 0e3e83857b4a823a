"""A producer in a tight loop of sends that never have to wait (room in the mailbox or the event
outbox) still lets the rest of the runtime run: a ticker elsewhere keeps ticking during the loop."""

from __future__ import annotations

import trio

import scope_ext as sx


class Sink(sx.Service):
    mailbox_capacity = 1_000_000  # never full: no send ever waits

    def handle_cast(self, message):
        pass


async def ticks_during(loop) -> int:
    """How many times a 5 ms ticker ran while ``loop()`` ran."""
    count = 0
    done = trio.Event()

    async def ticker():
        nonlocal count
        while not done.is_set():
            await trio.sleep(0.005)
            count += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0.02)
        count = 0
        await loop()
        during = count
        done.set()
    return during


def test_a_tight_loop_of_casts_lets_timers_run(in_runtime):
    async def main(rt):
        await rt.production.start(Sink, name="sink")

        async def casts():
            for i in range(200_000):
                await sx.cast("sink", i)

        assert await ticks_during(casts) >= 5  # without pacing: none until the loop ends

    in_runtime(main)


def test_a_tight_loop_of_stored_events_lets_timers_run(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"events.outbox_size": 10_000_000})

        async def stores():
            for i in range(200_000):
                await f.events.store("tight.tick", i)

        assert await ticks_during(stores) >= 5

    in_runtime(main)
