"""Health: overall level changes are stored as events; crash loops and a dead Foundation read critical."""

from __future__ import annotations

import trio
from services import Echo

import scope_ext as sx
from scope_ext.foundation_layer._health import assess, describe_health


def test_health_monitor_stores_changes_of_the_overall_level(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"health.interval": 0.02})

        class Flaky(Echo):
            def init(self, state):
                super().init()
                self.state = state

            def health(self):
                return self.state["level"]

        async def changes():
            return [(e.data["from"], e.data["to"]) for e in await f.events.query(types="scope.health.changed")]

        async def until_changed(count):  # checks come every few ms, later on a loaded machine
            with trio.fail_after(10):
                while len(await changes()) < count:
                    await trio.sleep(0.01)

        state = {"level": "healthy"}
        await rt.production.start(Flaky, state, name="flaky")
        await until_changed(1)
        state["level"] = "degraded"
        await until_changed(2)
        assert f.health.overall == "degraded"
        state["level"] = "healthy"
        await until_changed(3)
        assert await changes() == [(None, "healthy"), ("healthy", "degraded"), ("degraded", "healthy")]
        report = await sx.call("health", "check")
        assert report.overall == "healthy" and {s.name for s in report.services} >= {"flaky", "config"}

    in_runtime(main)


class Looping(sx.Service):
    """Crashes 100 times a second while ``state["crash"]`` is true."""

    def init(self, state):
        self.state = state
        self.send_after(0.01, "tick")

    def handle_info(self, message):
        if self.state["crash"]:
            raise RuntimeError("boom")
        self.send_after(0.01, "tick")


def test_a_crash_looping_service_is_critical_until_it_stops_crashing(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"health.crash_window": 0.5})
        state = {"crash": True}
        children = [sx.ChildSpec("looping", Looping, (state,), name="looping")]
        await rt.production.start(sx.Supervisor, children, "one_for_one", 10_000, 1.0, id="app")
        with trio.fail_after(10):
            while (looping := _service(assess(f), "looping")).status != "critical":
                await trio.sleep(0.02)
        assert looping.detail.startswith("crash-looping:") and assess(f).overall == "critical"
        assert describe_health(assess(f)).startswith("critical: looping crash-looping:")
        state["crash"] = False
        with trio.fail_after(10):  # the crashes age out of the window
            while assess(f).overall != "healthy":
                await trio.sleep(0.05)

    in_runtime(main)


def test_a_dead_foundation_reads_critical_not_its_last_report(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"health.interval": 0.02})
        with trio.fail_after(10):
            while f.health is None or f.health.overall != "healthy":
                await trio.sleep(0.02)
        await sx.terminate_child(rt.production.root, "foundation")
        assert f.health.overall == "healthy"  # the monitor's last word, now stale
        report = assess(f)
        assert report.overall == "critical"
        assert {s.name for s in report.services if s.detail == "not running"} >= {"config", "events", "telemetry"}

    in_runtime(main)


def _service(report, name):
    (found,) = [s for s in report.services if s.name == name]
    return found
