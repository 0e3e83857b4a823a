"""The demo: a small supervision tree with a crashing child, printed live with rich."""

from __future__ import annotations

import logging
import random

import trio
from rich.console import Console
from rich.live import Live

from ..runtime._runtime import Runtime, run
from ..runtime._service import Service, call
from ..runtime._supervisor import ChildSpec, Supervisor


class Ticker(Service):
    """Counts ticks, ten a second."""

    def init(self) -> None:
        self.ticks = 0
        self.send_after(0.1, "tick")

    def handle_info(self, message: object) -> None:
        self.ticks += 1
        self.send_after(0.1, "tick")

    def handle_call(self, request: object, caller: object) -> int:
        return self.ticks


class Flaky(Service):
    """Crashes at random, about every other second: its supervisor restarts it."""

    def init(self, rate: float) -> None:
        self.rate = rate
        self.send_after(0.25, "work")

    def handle_info(self, message: object) -> None:
        if random.random() < self.rate:
            raise RuntimeError("flaky worker lost its connection")
        self.send_after(0.25, "work")


class Store(Service):
    """A key-value store the cache depends on (rest_for_one restarts the cache after it)."""

    def init(self) -> None:
        self.data: dict[object, object] = {}

    def handle_call(self, request: tuple[str, object, object], caller: object) -> object:
        op, key, value = request
        if op == "put":
            self.data[key] = value
        return self.data.get(key)


def demo_tree() -> list[ChildSpec]:
    """The demo's children: a ticker, a flaky worker, and a rest_for_one store/cache pair."""
    storage = [ChildSpec("store", Store, name="store"), ChildSpec("cache", Store, name="cache")]
    return [
        ChildSpec("ticker", Ticker, name="ticker"),
        ChildSpec("flaky", Flaky, (0.25,), name="flaky"),
        ChildSpec("storage", Supervisor, (storage, "rest_for_one"), type="supervisor"),
    ]


async def _demo(rt: Runtime, seconds: float, console: Console) -> None:
    await rt.production.start(Supervisor, demo_tree(), "one_for_one", 10, 5.0, id="demo", name="demo")
    await call("store", ("put", "answer", 42))
    with Live(rt.snapshot(), console=console, refresh_per_second=10, transient=False) as live:
        with trio.move_on_after(seconds if seconds > 0 else float("inf")):
            while True:
                await trio.sleep(0.1)
                live.update(rt.snapshot())
    console.line()
    console.print(f"ticker counted {await call('ticker', 'now')} ticks; stopping in reverse order")


def main(seconds: float = 10.0) -> None:
    """Run the demo for ``seconds`` (0: until Ctrl-C)."""
    logging.getLogger("scope_ext").setLevel(logging.CRITICAL)  # crashes show in the tree instead
    console = Console()
    try:
        run(lambda rt: _demo(rt, seconds, console))
    except KeyboardInterrupt:
        console.print("interrupted; runtime stopped")
