"""Widget traffic: the live tree of 1,000 services with 10 restarts a second.

Anchor measured in the same run: sending the whole tree in every batch (what re-setting a trait
does). The view sends only what changed, at most about 10 batches a second.

    python bench/widgets.py [--quick]
"""

from __future__ import annotations

import json
import random
import time

import trio
from _report import Rows, run_bench

import scope_ext as sx
from scope_ext.notebook._views import TreeView

SUPERVISORS, WORKERS = 10, 100


class Worker(sx.Service):
    def handle_cast(self, message):
        raise RuntimeError("chaos")


class Chaos(sx.Service):
    """Crashes a random worker every 0.1 s: 10 restarts a second."""

    def init(self):
        self.send_after(0.1, "crash")

    async def handle_info(self, message):
        s, w = random.randrange(SUPERVISORS), random.randrange(WORKERS)
        await sx.cast(sx.current_namespace().via(f"w{s}.{w}"), "crash")
        self.send_after(0.1, "crash")


def measure(seconds: float) -> tuple[float, float, int, float]:
    thread = sx.RuntimeThread(foundation=False)
    thread.start()
    try:

        async def build():
            ns = thread.runtime.production
            for s in range(SUPERVISORS):
                specs = [sx.ChildSpec(f"w{s}.{w}", Worker, name=f"w{s}.{w}") for w in range(WORKERS)]
                await ns.start(sx.Supervisor, specs, "one_for_one", 1000, 1.0, id=f"sup{s}")
            await ns.start(Chaos, id="chaos", name="chaos")

        thread.run(build)
        view = TreeView(thread)
        sent: list[int] = []
        view.send = lambda message, buffers=None: sent.append(len(json.dumps(message)))
        view._on_message(view, {"t": "hello"}, None)
        full = sent[0]
        start = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        batches = sent[1:]
        view.close()
        return (
            sum(batches) / elapsed,
            len(batches) / elapsed,
            full,
            thread.run_sync(lambda: len(thread.runtime.crashes)) / elapsed,
        )
    finally:
        thread.stop()


async def bench(quick: bool) -> Rows:
    bytes_s, rate, full, restarts = await trio.to_thread.run_sync(measure, 3.0 if quick else 10.0)
    anchor = full * rate
    return [
        (
            f"tree of {SUPERVISORS * WORKERS} services, {restarts:.1f} restarts/s: {bytes_s / 1000:,.1f} kB/s in "
            f"{rate:.1f} batches/s; whole tree each batch {anchor / 1000:,.1f} kB/s (ratio {bytes_s / anchor:.3f}) "
            f"(target <= 10 batches/s plus one)",
            rate <= 11,
        ),
    ]


if __name__ == "__main__":
    run_bench("widgets", __doc__.splitlines()[0], bench)
