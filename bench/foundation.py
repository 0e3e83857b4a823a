"""Foundation benchmark: config reads, event ingest (memory and SQLite), queries, telemetry.

The anchor, measured in the same run, is the naive design the Elixir notes describe: one plain trio
task serving every request through its inbox (memory channels), config reads included.

    python bench/foundation.py [--quick]
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from pathlib import Path

import trio
from _report import Rows, run_bench

import scope_ext as sx
from scope_ext.foundation_layer._memory import resident_bytes

# ----- the naive baseline -----------------------------------------------------------------------


class NaiveServer:
    """Every request through one task's inbox: what the design notes' GenServers do."""

    def __init__(self) -> None:
        self.config = {("events", "max_events"): 1_000_000}
        self.events: list[tuple] = []
        self.by_corr: dict[object, list[tuple]] = {}
        self.send, self.inbox = trio.open_memory_channel(10_000)

    async def serve(self) -> None:
        async for op, arg, reply in self.inbox:
            if op == "get":
                reply.send_nowait(self.config[arg])
            elif op == "store":
                event = (len(self.events) + 1, arg[0], time.time(), arg[1], arg[2])
                self.events.append(event)
                self.by_corr.setdefault(arg[2], []).append(event)
            elif op == "store_batch":
                for item in arg:
                    event = (len(self.events) + 1, item[0], time.time(), item[1], item[2])
                    self.events.append(event)
                    self.by_corr.setdefault(item[2], []).append(event)
            if op == "sync":
                reply.send_nowait(len(self.events))

    async def request(self, op: str, arg: object) -> object:
        reply_send, reply_receive = trio.open_memory_channel(1)
        await self.send.send((op, arg, reply_send))
        return await reply_receive.receive()

    async def cast(self, op: str, arg: object) -> None:
        await self.send.send((op, arg, None))


async def naive_figures(n_reads: int, n_events: int) -> dict[str, float]:
    server = NaiveServer()
    out: dict[str, float] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve)
        start = time.perf_counter()
        for _ in range(n_reads):
            await server.request("get", ("events", "max_events"))
        out["config reads"] = n_reads / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(n_events):
            await server.cast("store", ("bench", {"i": i}, i % 1000))
        await server.request("sync", None)
        out["ingest single"] = n_events / (time.perf_counter() - start)
        start = time.perf_counter()
        for chunk in range(0, n_events, 1000):
            await server.cast("store_batch", [("bench", {"i": i}, i % 1000) for i in range(chunk, chunk + 1000)])
        await server.request("sync", None)
        out["ingest batched"] = n_events / (time.perf_counter() - start)
        nursery.cancel_scope.cancel()
    return out


# ----- scope_ext --------------------------------------------------------------------------------


async def config_reads(f: sx.Foundation, n: int) -> float:
    """Reads from another task than the server's (this one), through the public API."""
    get = f.config.get
    path = ("events", "max_events")
    start = time.perf_counter()
    for _ in range(n):
        get(path)
    return n / (time.perf_counter() - start)


async def ingest_single(f: sx.Foundation, n: int, corr_every: int) -> float:
    store = f.events.store
    start = time.perf_counter()
    for i in range(n):
        await store("bench.single", i, correlation_id=i % corr_every)
    await f.events.flush(timeout=None)
    return n / (time.perf_counter() - start)


async def ingest_batched(f: sx.Foundation, n: int, corr_every: int, batch: int = 1000) -> float:
    store_batch = f.events.store_batch
    start = time.perf_counter()
    for chunk in range(0, n, batch):
        await store_batch([("bench.batch", i, i % corr_every) for i in range(chunk, chunk + batch)])
    await f.events.flush(timeout=None)
    return n / (time.perf_counter() - start)


async def query_figures(f: sx.Foundation, corr_every: int, repeats: int) -> tuple[float, float, int]:
    """Median ms of a query by correlation id, and of a 1,000-event time range; events found."""
    batch_events = len(await f.events.query(types="bench.batch"))
    by_corr, by_time = [], []
    found = 0
    for r in range(repeats):
        start = time.perf_counter()
        hits = await f.events.query(correlation_id=(r * 7919) % corr_every)
        by_corr.append(time.perf_counter() - start)
        found = len(hits)
        # batches of 1,000 share a timestamp: [this batch's time, the next batch's time) holds 1,000 events
        position = (r * 1009) % (batch_events - 2000)
        edges = await f.events.query(types="bench.batch", offset=position - position % 1000, limit=1001)
        since, until = edges[0].timestamp, edges[-1].timestamp
        start = time.perf_counter()
        window = await f.events.query(since=since, until=until)
        by_time.append(time.perf_counter() - start)
        assert len(window) >= 1000, len(window)
    return statistics.median(by_corr) * 1000, statistics.median(by_time) * 1000, found


async def telemetry_rate(f: sx.Foundation, n: int, event: str) -> float:
    counter = f.telemetry.counter(event)
    execute = f.telemetry.execute
    measurements = {"n": 1}
    start = time.perf_counter()
    for _ in range(n):
        execute(event, measurements)
    rate = n / (time.perf_counter() - start)
    assert counter.value == n
    return rate


async def bench(quick: bool) -> Rows:
    """Throughputs interleaved with the naive baseline over rounds (best round of each counts);
    queries then run among everything stored."""
    n_events = 200_000 if quick else 1_000_000
    n_reads = 200_000 if quick else 1_000_000
    rounds = 3
    corr_every = n_events // 10  # ten events per correlation id
    naive = {"config reads": 0.0, "ingest single": 0.0, "ingest batched": 0.0}
    reads = single = batched = tele = 0.0
    per_event = math.nan
    async with sx.open_runtime() as rt:
        for r in range(rounds):  # each round in a fresh namespace: a store of up to n_events * 1.5 events
            f = await sx.start_isolated_services(f"bench-{r}", overrides={"events.max_events": 2 * n_events})
            for key, value in (await naive_figures(n_reads // 10, n_events // 10)).items():
                naive[key] = max(naive[key], value)
            reads = max(reads, await config_reads(f, n_reads))
            single = max(single, await ingest_single(f, n_events // 2, corr_every))
            rss_before = resident_bytes()
            batched = max(batched, await ingest_batched(f, n_events, corr_every))
            if r == 0:
                per_event = (resident_bytes() - rss_before) / n_events
            tele = max(tele, await telemetry_rate(f, n_reads, "bench.hit"))
            if r < rounds - 1:
                await sx.cleanup(f.namespace)
        stored = (await f.events.stats()).stored
        corr_ms, range_ms, found = await query_figures(f, corr_every, 30 if quick else 100)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.sqlite"
        async with sx.open_runtime() as rt:
            f = await sx.start_foundation(
                rt.production, overrides={"events.path": str(path), "events.max_events": 3 * n_events}
            )
            persisted = await ingest_batched(f, n_events, corr_every)
        size = path.stat().st_size
    return [
        (
            f"config reads/s            {reads:>12,.0f}   naive server {naive['config reads']:,.0f}/s   "
            f"ratio {reads / naive['config reads']:.0f}x (target >= 1,000,000/s)",
            reads >= 1_000_000,
        ),
        (
            f"event ingest one by one/s {single:>12,.0f}   naive server {naive['ingest single']:,.0f}/s   "
            f"ratio {single / naive['ingest single']:.2f}x (target >= 200,000/s)",
            single >= 200_000,
        ),
        (
            f"event ingest batched/s    {batched:>12,.0f}   naive server {naive['ingest batched']:,.0f}/s   "
            f"ratio {batched / naive['ingest batched']:.2f}x (target >= 1,000,000/s)",
            batched >= 1_000_000,
        ),
        (
            f"ingest batched + SQLite/s {persisted:>12,.0f}   ratio to in-memory {persisted / batched:.2f}x   "
            f"file {size / n_events:.0f} B/event (target >= 200,000/s)",
            persisted >= 200_000,
        ),
        (
            f"query by correlation id   {corr_ms:>10.3f} ms   among {stored:,} events, {found} hits (target <= 1 ms)",
            corr_ms <= 1.0 and stored >= n_events,
        ),
        (f"query 1,000-event range   {range_ms:>10.3f} ms   (target <= 5 ms)", range_ms <= 5.0),
        (f"memory per small event    {per_event:>10.0f} B    (report only)", not math.isnan(per_event)),
        (f"telemetry execute/s       {tele:>12,.0f}   one counter attached (target >= 500,000/s)", tele >= 500_000),
    ]


if __name__ == "__main__":
    run_bench("foundation", __doc__.splitlines()[0], bench)
