"""A Foundation service that crashes under load: clear errors while it restarts, then it serves again."""

from __future__ import annotations

import pytest
import trio

import scope_ext as sx


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
