"""Isolated namespaces: each with its own Foundation, no cross-talk, from threads and from the pytest fixtures."""

from __future__ import annotations

import threading

import pytest
import trio
from services import Echo

import scope_ext as sx


def test_isolated_namespaces_under_load_have_no_cross_talk(in_runtime):
    async def main(rt):
        a = await sx.start_isolated_services("iso-a")
        b = await sx.start_isolated_services("iso-b")
        assert a is not b and a.namespace.whereis("events") is not b.namespace.whereis("events")
        await a.config.update("events.max_age", 123.0)
        a.telemetry.counter("work")

        async def load(f, tag, n):
            for i in range(n):
                await f.events.store("work", {"tag": tag, "i": i}, correlation_id=tag)
                f.telemetry.execute("work")
                if i % 100 == 0:
                    await trio.sleep(0)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(load, a, "a", 3000)
            nursery.start_soon(load, b, "b", 2000)
        got_a, got_b = await a.events.query(types="work"), await b.events.query(types="work")
        assert {e.data["tag"] for e in got_a} == {"a"} and len(got_a) == 3000
        assert {e.data["tag"] for e in got_b} == {"b"} and len(got_b) == 2000
        assert {e.namespace for e in got_a} == {"iso-a"}
        assert b.config.get("events.max_age") == 86_400.0 and "work.count" not in b.telemetry.metrics
        assert a.telemetry.metrics["work.count"].value == 3000
        await sx.cleanup("iso-a")
        assert [ns.name for ns in rt.namespaces()] == ["production", "iso-b"]
        assert len(await b.events.query(types="work")) == 2000

    in_runtime(main)


def test_pytest_fixture_gives_an_isolated_namespace(scope_namespace):
    name = scope_namespace.name
    assert name.startswith("test-")

    async def use():
        f = sx.foundation()  # the current namespace is the test's
        await f.events.store("in-test")
        await sx.current_namespace().start(Echo, name="svc")
        return sx.current_namespace().name, len(await f.events.query(types="in-test"))

    assert scope_namespace.run(use) == (name, 1)
    production = scope_namespace.run_sync(lambda: sx.current_runtime().production)
    assert scope_namespace.run_sync(lambda: production.whereis("svc")) is None


def test_pytest_fixtures_do_not_share_namespaces(scope_runtime, scope_namespace):
    other = scope_runtime.run(sx.start_isolated_services)
    try:
        assert other.namespace.name != scope_namespace.name
        scope_runtime.run(lambda: other.events.store("only-in-other"))
        assert scope_namespace.run(lambda: sx.foundation().events.query(types="only-in-other")) == []
    finally:
        scope_runtime.run(sx.cleanup, other.namespace.name)


def test_isolated_namespaces_used_from_threads_at_once(scope_runtime):
    import threading

    results: dict[str, object] = {}

    def worker(tag: str) -> None:
        f = scope_runtime.run(sx.start_isolated_services)
        try:
            for i in range(200):
                scope_runtime.run(lambda i=i: f.events.store("t", {"tag": tag, "i": i}))
            events = scope_runtime.run(lambda: f.events.query(types="t"))
            results[tag] = {e.data["tag"] for e in events}, len(events)
        finally:
            scope_runtime.run(sx.cleanup, f.namespace.name)

    threads = [threading.Thread(target=worker, args=(tag,)) for tag in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {tag: ({tag}, 200) for tag in "abcd"}


def test_namespaces_created_and_dropped_from_many_threads_at_once(scope_runtime):
    errors: list[BaseException] = []
    created = 0
    barrier = threading.Barrier(6)

    def churn(worker: int) -> None:
        nonlocal created
        barrier.wait()
        for i in range(4):
            name = f"churn-{i}"  # every worker fights over the same names
            for step in (sx.start_isolated_services, sx.cleanup):
                try:
                    scope_runtime.run(lambda n=name, s=step: s(n))
                    created += step is sx.start_isolated_services
                except sx.ScopeError:  # it exists already, or another worker dropped it meanwhile: said clearly
                    pass
                except BaseException as exc:  # a raw KeyError here was the race
                    errors.append(exc)

    workers = [threading.Thread(target=churn, args=(w,)) for w in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert errors == [] and created > 0
    rt = scope_runtime.runtime
    names = scope_runtime.run_sync(lambda: [ns.name for ns in rt.namespaces()])
    assert not [n for n in names if n.startswith("churn-")]  # every one made was dropped in the end...
    leftover = scope_runtime.run_sync(
        lambda: [p.label for p in rt.processes() if p.namespace.name.startswith("churn-")]
    )
    assert leftover == []  # ...and nothing of them runs unlisted


def test_dropping_one_namespace_twice_at_once_drops_it_once(in_runtime):
    async def main(rt):
        await sx.start_isolated_services("twice")
        dropped = []

        async def drop():
            await rt.drop_namespace("twice")
            dropped.append(True)

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(drop)
        assert dropped == [True] * 3 and "twice" not in [ns.name for ns in rt.namespaces()]
        with pytest.raises(sx.NamespaceError, match="no namespace 'twice'"):
            await rt.drop_namespace("twice")

    in_runtime(main)
