"""Health monitor: overall level changes are stored as events."""

from __future__ import annotations

import trio
from services import Echo

import scope_ext as sx


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
