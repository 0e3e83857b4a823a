"""Foundation: service registry, isolation, crashes under load, health, memory, resilience, shutdown."""

from __future__ import annotations

import pytest
import trio
from services import Echo

import scope_ext as sx
from scope_ext.foundation_layer._event_db import EventDB


def test_service_registry_lookup_health_wait_and_counts(in_runtime):
    async def main(rt):
        await sx.start_foundation(rt.production)
        assert sx.list_services("production") == ["config", "events", "health", "memory", "telemetry"]
        assert sx.count_services(rt.production) == 5
        assert sx.lookup("production", "events") is rt.production.whereis("events")
        with pytest.raises(
            sx.ServiceNotFound, match=r"no service 'evnets' in namespace 'production' \(registered: config"
        ):
            sx.lookup("production", "evnets")
        assert sx.health_check("production", "config") == sx.ServiceHealth("config", True, "healthy", "running")
        assert sx.health_check("production", "ghost").status == "critical"

        class Sick(Echo):
            def health(self):
                return "degraded"

        async def start_later():
            await trio.sleep(0.05)
            await rt.production.start(Sick, name="late")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(start_later)
            proc = await sx.wait_for_service("production", "late", timeout=2)
        assert proc is rt.production.whereis("late")
        assert sx.health_check(None, "late").status == "degraded"
        with pytest.raises(sx.ServiceNotFound, match="did not start .* within 0.05 s"):
            await sx.wait_for_service("production", "never", timeout=0.05)

    in_runtime(main)


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


@pytest.mark.parametrize("service", ["config", "events", "telemetry", "health", "memory"])
def test_crashing_a_service_under_load_gives_clear_errors_then_recovers(in_runtime, service):
    async def main(rt):
        f = await sx.start_foundation(rt.production)
        errors = []
        stored = 0

        async def producer():
            nonlocal stored
            for i in range(2000):
                try:
                    await f.events.store("load", i)
                    await f.config.update("events.max_age", float(1000 + i % 7))
                    stored += 1
                except sx.ScopeError as exc:  # NotRunning / ServiceExited: clear, typed errors
                    errors.append(exc)
                    await trio.sleep(0.001)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            await trio.sleep(0.02)
            victim = rt.production.whereis(service)
            victim.kill()
        assert all(isinstance(e, (sx.NotRunning, sx.ServiceExited)) for e in errors)
        assert stored + len(errors) == 2000
        await sx.wait_for_service("production", service)
        await f.events.store("after")
        await f.config.update("events.max_age", 5.0)
        assert (await f.events.query(types="after"))[0].type == "after"
        assert all(sx.health_check("production", s).status == "healthy" for s in sx.list_services())

    in_runtime(main)


def test_health_monitor_stores_changes_of_the_overall_level(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"health.interval": 0.02})

        class Flaky(Echo):
            def init(self, state):
                super().init()
                self.state = state

            def health(self):
                return self.state["level"]

        state = {"level": "healthy"}
        await rt.production.start(Flaky, state, name="flaky")
        await trio.sleep(0.06)
        state["level"] = "degraded"
        await trio.sleep(0.06)
        assert f.health.overall == "degraded"
        state["level"] = "healthy"
        await trio.sleep(0.06)
        changes = [(e.data["from"], e.data["to"]) for e in await f.events.query(types="scope.health.changed")]
        assert changes == [(None, "healthy"), ("healthy", "degraded"), ("degraded", "healthy")]
        report = await sx.call("health", "check")
        assert report.overall == "healthy" and {s.name for s in report.services} >= {"flaky", "config"}

    in_runtime(main)


def test_memory_manager_asks_stores_to_shrink_past_the_threshold(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"memory.threshold_mb": 1, "memory.interval": 60.0})
        await trio.sleep(0.05)  # let the first periodic check pass; the next is a minute away
        await f.events.store_batch([("bulk", i) for i in range(1000)])
        await f.events.flush()

        class Cache:
            def __init__(self):
                self.items = list(range(100))

            def memory_bytes(self):
                return len(self.items) * 8

            def shrink(self, fraction):
                drop = int(len(self.items) * fraction)
                del self.items[:drop]
                return drop

        cache = Cache()
        f.register_cache("cache", cache)
        stored = (await f.events.stats()).stored
        sizes = await sx.call("memory", "check")
        assert sizes["process"] > 1024 * 1024 and sizes["cache"] == 800 and sizes["events"] > 0
        assert len(cache.items) == 75
        assert len(await f.events.query(types="bulk")) == 750
        pressure = (await f.events.query(types="scope.memory.pressure"))[-1]
        assert pressure.data["shrunk"] == {"cache": 25, "events": stored - int(stored * 0.75)}

    in_runtime(main)


def test_circuit_breaker_opens_probes_and_closes(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production)
        transitions = []
        f.telemetry.attach("t", "scope.circuit_breaker.state", lambda e, m, md, c: transitions.append(md["to"]))
        breaker = f.circuit_breaker("db", failure_threshold=2, recovery_time=0.1, call_timeout=0.05)
        assert f.circuit_breaker("db") is breaker
        with pytest.raises(sx.ScopeError, match="exists already"):
            f.circuit_breaker("db", failure_threshold=9)

        async def fail():
            raise ConnectionError("down")

        async def slow():
            await trio.sleep(1)

        async def ok():
            return "ok"

        with pytest.raises(ConnectionError):
            await breaker.call(fail)
        with pytest.raises(trio.TooSlowError):
            await breaker.call(slow)  # a timeout counts as a failure
        assert breaker.state == "open"
        with pytest.raises(sx.CircuitOpen, match="is open"):
            await breaker.call(ok)
        await trio.sleep(0.12)
        with pytest.raises(ConnectionError):
            await breaker.call(fail)  # the half-open probe fails: open again
        await trio.sleep(0.12)
        assert await breaker.call(ok) == "ok"
        assert breaker.state == "closed"
        assert transitions == ["open", "half_open", "open", "half_open", "closed"]
        stored = [e.data["to"] for e in await f.events.query(types="scope.circuit_breaker.state")]
        assert stored == transitions

    in_runtime(main)


def test_rate_limiter_waits_or_refuses_per_key(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production)
        limiter = f.rate_limiter("api", rate=20, burst=2)
        assert limiter.try_acquire("u1") and limiter.try_acquire("u1") and not limiter.try_acquire("u1")
        assert limiter.try_acquire("u2")  # keys are independent
        with pytest.raises(sx.RateLimited, match="reached"):
            await limiter.acquire("u1", wait=False)
        start = trio.current_time()
        await limiter.acquire("u1")  # waits for a refill (1/20 s)
        assert 0.03 <= trio.current_time() - start < 0.5
        with pytest.raises(sx.RateLimited, match="within 0.01 s"):
            await limiter.acquire("u1", cost=2, timeout=0.01)
        with pytest.raises(ValueError, match="exceeds the burst"):
            limiter.try_acquire("u1", cost=3)

    in_runtime(main)


def test_graceful_shutdown_stops_new_work_drains_and_stops_layers_in_reverse(in_runtime, tmp_path):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"events.path": str(tmp_path / "e.sqlite")})
        log = []
        await rt.production.start(sx.Supervisor, [sx.ChildSpec("w", Echo, ("layer2", log))], id="layer2")
        await f.events.store_batch([("pending", i) for i in range(500)])
        await f.shutdown(timeout=5)
        with pytest.raises(sx.ShuttingDown):
            await f.events.store("late")
        assert log[-1] == ("terminate", "layer2", "shutdown")  # the later layer stopped first
        assert sx.list_services("production") == []
        stored = EventDB(tmp_path / "e.sqlite").load(None, None)
        assert sum(1 for row in stored if row[1] == "pending") == 500  # drained to disk

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
