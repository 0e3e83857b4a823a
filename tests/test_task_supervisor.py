"""Task supervisor: fire-and-forget tasks and the bounded streaming map."""

from __future__ import annotations

import pytest
import trio

import scope_ext as sx


def test_fire_and_forget_tasks_run_supervised(in_runtime):
    async def main(rt):
        tasks = await rt.production.start(sx.TaskSupervisor, id="tasks")
        done = trio.Event()

        async def job(event):
            event.set()

        async def failing():
            raise RuntimeError("task failed")

        proc = await sx.start_task(tasks, job, done)
        await done.wait()
        await proc.wait_exited()
        bad = await sx.start_task(tasks, failing)
        assert isinstance(await bad.wait_exited(), RuntimeError)
        assert rt.crashes[-1].label == "failing"
        assert await sx.which_children(tasks) == []  # temporary tasks are forgotten

    in_runtime(main)


def test_map_bounds_concurrency_and_keeps_order(in_runtime):
    async def main(rt):
        tasks = await rt.production.start(sx.TaskSupervisor, id="tasks")
        running = peak = 0

        async def work(x):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await trio.sleep(0.01 * (5 - x % 5))  # later items tend to finish first
            running -= 1
            if x == 7:
                raise ValueError("bad item")
            return x * x

        async with sx.task_map(tasks, work, range(20), max_concurrency=3) as results:
            got = [r async for r in results]
        assert peak == 3
        assert [r.position for r in got] == list(range(20))
        assert [r.value for r in got if r.ok] == [x * x for x in range(20) if x != 7]
        assert isinstance(got[7].error, ValueError) and not got[7].ok

    in_runtime(main)


def test_map_unordered_yields_as_items_finish(in_runtime):
    async def main(rt):
        tasks = await rt.production.start(sx.TaskSupervisor, id="tasks")

        finish = [trio.Event() for _ in range(3)]

        async def work(i):
            await finish[i].wait()
            return i

        async with sx.task_map(tasks, work, [0, 1, 2], max_concurrency=3, ordered=False) as results:
            got = []
            for i in (2, 0, 1):  # finishing order, whatever the machine's load (no sleeps to race)
                finish[i].set()
                got.append((await anext(results)).value)
        assert got == [2, 0, 1]

    in_runtime(main)


def test_map_unordered_starts_the_next_item_while_the_consumer_is_busy(in_runtime):
    async def main(rt):
        tasks = await rt.production.start(sx.TaskSupervisor, id="tasks")
        finished: list[int] = []

        async def work(x):
            await trio.sleep(0.02)
            finished.append(x)
            return x

        async with sx.task_map(tasks, work, range(6), max_concurrency=1, ordered=False) as results:
            async for result in results:
                await trio.sleep(0.1)  # a slow consumer (writing results somewhere)
                assert len(finished) >= min(6, result.position + 3)  # two more items ran meanwhile
        assert sorted(finished) == list(range(6))

    in_runtime(main)


def test_map_kills_items_past_their_timeout(in_runtime):
    async def main(rt):
        tasks = await rt.production.start(sx.TaskSupervisor, id="tasks")
        finished = []

        async def work(delay):
            await trio.sleep(delay)
            finished.append(delay)
            return delay

        start = trio.current_time()
        async with sx.task_map(tasks, work, [0.01, 5.0, 0.02], max_concurrency=2, timeout=0.1) as results:
            got = [r async for r in results]
        assert trio.current_time() - start < 4.0  # the 5 s item was killed at its 0.1 s timeout
        assert [r.value for r in got] == [0.01, None, 0.02]
        assert isinstance(got[1].error, TimeoutError)
        assert 5.0 not in finished

    in_runtime(main)


def test_closing_a_map_early_kills_running_items(in_runtime):
    async def main(rt):
        tasks = await rt.production.start(sx.TaskSupervisor, id="tasks")

        async def work(x):
            if x:
                await trio.sleep(10)
            return x

        async with sx.task_map(tasks, work, range(4), max_concurrency=4) as results:
            first = await results.__anext__()
        assert first.value == 0
        assert [p for p in rt.processes() if p.label.startswith("map[")] == []
        with pytest.raises(ValueError, match="max_concurrency"):
            sx.task_map(tasks, work, [], max_concurrency=0)

    in_runtime(main)
