"""A process that stores events into a SQLite-backed store as fast as it can, until killed.

    python tests/event_writer.py PATH [COMMIT_INTERVAL] [tight]

Prints ``ready`` once events are flowing. Each event's data holds its production time. ``tight``
stores one event at a time in a loop with no other await (the store must still get to commit).
"""

from __future__ import annotations

import sys
import time

import trio

import scope_ext as sx


async def main(rt: sx.Runtime) -> None:
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    f = await sx.start_foundation(
        rt.production, overrides={"events.path": sys.argv[1], "events.commit_interval": interval}
    )
    tight = sys.argv[3:] == ["tight"]
    announced = False
    while True:
        if tight:
            for _ in range(1000):
                await f.events.store("writer.tick", {"t": time.time()})
        else:
            await f.events.store_batch([("writer.tick", {"t": time.time()}) for _ in range(50)])
            await trio.sleep(0.001)
        if not announced:
            await f.events.flush()
            print("ready", flush=True)
            announced = True


if __name__ == "__main__":
    sx.run(main)
