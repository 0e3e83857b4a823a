"""Service registry: lookup, health checks, waiting for a service, counts."""

from __future__ import annotations

import pytest
import trio
from services import Echo

import scope_ext as sx


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
