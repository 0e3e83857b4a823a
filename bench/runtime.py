"""Runtime benchmark: call, cast, crash->restart latency, registry lookups, snapshots.

Every figure is printed next to an anchor measured in the same run (these machines vary by +-30%
between runs, so ratios are what to compare):
- raw trio: a memory-channel ping-pong between two tasks (the best of unbuffered and buffered);
- a hand-written trio restart loop (one task re-running a crashed server loop in place).

    python bench/runtime.py [--quick]
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable

import trio
from _report import Rows, run_bench

import scope_ext as sx


class Echo(sx.Service):
    mailbox_capacity = 10_000

    def init(self) -> None:
        self.count = 0

    def handle_call(self, request: object, caller: object) -> object:
        if request == "crash":
            raise RuntimeError("benchmark crash")
        return request

    def handle_cast(self, message: object) -> None:
        self.count += 1


# ----- anchors ----------------------------------------------------------------------------------


async def raw_ping_pong(n: int, buffer: float) -> float:
    """Round trips/s of trio memory channels between two tasks."""
    to_server, server_in = trio.open_memory_channel(buffer)
    to_client, client_in = trio.open_memory_channel(buffer)

    async def server() -> None:
        async for message in server_in:
            await to_client.send(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        start = time.perf_counter()
        for i in range(n):
            await to_server.send(i)
            await client_in.receive()
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return n / elapsed


async def raw_restart_loop(n: int) -> list[float]:
    """Crash->serving latencies (s) of a hand-written loop that restarts its server in place."""
    requests, inbox = trio.open_memory_channel(math.inf)
    latencies: list[float] = []

    async def serve() -> None:
        async for message, reply in inbox:
            if message == "crash":
                raise RuntimeError("crash")
            reply.send_nowait(message)

    async def supervise() -> None:
        while True:
            try:
                await serve()
            except RuntimeError:
                continue

    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervise)
        for _ in range(n):
            send, receive = trio.open_memory_channel(1)
            requests.send_nowait(("crash", send))
            start = time.perf_counter()
            requests.send_nowait(("ping", send))
            await receive.receive()
            latencies.append(time.perf_counter() - start)
        nursery.cancel_scope.cancel()
    return latencies


# ----- scope_ext --------------------------------------------------------------------------------


async def messages_per_second(rt: sx.Runtime, n: int, send: Callable[[sx.Process, int], Awaitable[object]]) -> float:
    """Messages/s through ``send`` (``sx.call`` or ``sx.cast``) to one service, all handled."""
    proc = await rt.production.start(Echo, id=f"echo-{send.__name__}")
    start = time.perf_counter()
    for i in range(n):
        await send(proc, i)
    await sx.call(proc, "sync", timeout=None)  # every message handled
    return n / (time.perf_counter() - start)


async def restart_latencies(rt: sx.Runtime, n: int) -> list[float]:
    """From the crash (the failing call returns) to the restarted server answering a call."""
    await rt.production.start(
        sx.Supervisor, [sx.ChildSpec("victim", Echo, name="victim")], "one_for_one", n + 10, 3600.0, id="bench-sup"
    )
    via = rt.production.via("victim")
    latencies = []
    for _ in range(n):
        try:
            await sx.call(via, "crash")
        except sx.ServiceExited:
            pass
        start = time.perf_counter()
        while True:
            try:
                await sx.call(via, "ping")
                break
            except sx.CallError:
                await trio.sleep(0)
        latencies.append(time.perf_counter() - start)
    return latencies


async def lookups_per_second(rt: sx.Runtime, n: int) -> float:
    names = rt.production.names
    for i in range(100):
        await rt.production.start(Echo, name=f"svc-{i}")
    whereis = names.whereis
    keys = [f"svc-{i % 100}" for i in range(1000)]
    rounds = max(1, n // 1000)
    start = time.perf_counter()
    for _ in range(rounds):
        for key in keys:
            whereis(key)
    return rounds * 1000 / (time.perf_counter() - start)


async def snapshot_ms(rt: sx.Runtime, services: int, repeats: int) -> float:
    ns = await rt.create_namespace("snapshot-bench")
    per_sup = 50
    for s in range(services // per_sup):
        specs = [sx.ChildSpec(f"w{s}-{i}", Echo) for i in range(per_sup)]
        await ns.start(sx.Supervisor, specs, id=f"sup-{s}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rt.snapshot()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(quick: bool) -> Rows:
    """Each figure against its anchor, interleaved over several rounds; the best round of each counts."""
    scale, rounds = (0.2, 2) if quick else (1.0, 3)
    n_calls, n_casts, n_restarts = int(50_000 * scale), int(300_000 * scale), int(5_000 * scale)
    raw, calls, casts, lookups, snap = 0.0, 0.0, 0.0, 0.0, math.inf
    raw_restart: list[float] = []
    restarts: list[float] = []
    for _ in range(rounds):
        raw = max(raw, await raw_ping_pong(n_calls, 0), await raw_ping_pong(n_calls, 1))
        round_raw_restart = await raw_restart_loop(n_restarts)
        async with sx.open_runtime() as rt:
            calls = max(calls, await messages_per_second(rt, n_calls, sx.call))
            casts = max(casts, await messages_per_second(rt, n_casts, sx.cast))
            round_restarts = await restart_latencies(rt, n_restarts)
            lookups = max(lookups, await lookups_per_second(rt, int(5_000_000 * scale)))
            snap = min(snap, await snapshot_ms(rt, 1000, 30 if quick else 100))
        if not restarts or statistics.median(round_restarts) < statistics.median(restarts):
            restarts = round_restarts
        if not raw_restart or statistics.median(round_raw_restart) < statistics.median(raw_restart):
            raw_restart = round_raw_restart
    med, p99 = statistics.median(restarts) * 1e6, pct(restarts, 0.99) * 1e6
    raw_med, raw_p99 = statistics.median(raw_restart) * 1e6, pct(raw_restart, 0.99) * 1e6
    return [
        (
            f"call round trips/s     {calls:>12,.0f}   raw ping-pong {raw:,.0f}/s   ratio {calls / raw:.2f}x (target >= 0.8x)",
            calls / raw >= 0.8,
        ),
        (
            f"cast messages/s        {casts:>12,.0f}   ratio to raw round trips {casts / raw:.2f}x (target >= 150,000/s)",
            casts >= 150_000,
        ),
        (
            f"crash->serving median  {med:>10.1f} us   hand-written loop {raw_med:.1f} us   ratio {med / raw_med:.2f}x "
            f"(target <= 50 us)",
            med <= 50,
        ),
        (
            f"crash->serving p99     {p99:>10.1f} us   hand-written loop {raw_p99:.1f} us   ratio {p99 / raw_p99:.2f}x "
            f"(target <= 150 us)",
            p99 <= 150,
        ),
        (
            f"registry lookups/s     {lookups:>12,.0f}   ratio to raw round trips {lookups / raw:.0f}x (target >= 2,000,000/s)",
            lookups >= 2_000_000,
        ),
        (f"snapshot, 1000 services {snap:>9.2f} ms   (target <= 5 ms)", snap <= 5),
    ]


if __name__ == "__main__":
    run_bench("runtime", __doc__.splitlines()[0], bench)
