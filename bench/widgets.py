"""Widget traffic: the live tree of 1,000 services with 10 restarts a second; idle sidebars.

Anchor measured in the same run: sending the whole tree in every batch (what re-setting a trait
does). The view sends only what changed, at most about 10 batches a second.

Sidebars: the process's CPU time per second with 300 Scope sidebars open on an idle runtime with
its Foundation, against one sidebar in the same run (issue 13: 300 once cost 0.75 CPU-s/s).

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


class PageEnd:
    """The kernel side of a sidebar's comm: sends are counted, the page never speaks."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, data: object) -> None:
        self.sent += 1

    def on_msg(self, callback: object) -> None:
        pass

    def on_close(self, callback: object) -> None:
        pass


def sidebar_cost(count: int, seconds: float) -> float:
    """CPU seconds a second of this process with ``count`` idle sidebars open (after they settle)."""
    from scope_ext.notebook._sidebar import SidebarFeed

    thread = sx.RuntimeThread()
    thread.start()
    feeds = []
    try:
        feeds = [SidebarFeed(PageEnd(), thread) for _ in range(count)]
        time.sleep(1.5)
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(seconds)
        return (time.process_time() - cpu) / (time.monotonic() - wall)
    finally:
        for feed in feeds:
            feed.closed = True
        thread.stop()


async def bench(quick: bool) -> Rows:
    seconds = 3.0 if quick else 10.0
    one = await trio.to_thread.run_sync(sidebar_cost, 1, seconds)
    many = await trio.to_thread.run_sync(sidebar_cost, 300, seconds)
    bytes_s, rate, full, restarts = await trio.to_thread.run_sync(measure, seconds)
    anchor = full * rate
    return [
        (
            f"300 idle sidebars: {many:.3f} CPU-s/s; one sidebar {one:.3f} CPU-s/s (ratio {many / one:.1f}) "
            f"(target <= 0.05 CPU-s/s: they share each round's reads)",
            many <= 0.05,
        ),
        (
            f"tree of {SUPERVISORS * WORKERS} services, {restarts:.1f} restarts/s: {bytes_s / 1000:,.1f} kB/s in "
            f"{rate:.1f} batches/s; whole tree each batch {anchor / 1000:,.1f} kB/s (ratio {bytes_s / anchor:.3f}) "
            f"(target <= 10 batches/s plus one)",
            rate <= 11,
        ),
    ]


if __name__ == "__main__":
    run_bench("widgets", __doc__.splitlines()[0], bench)
