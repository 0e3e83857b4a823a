"""Circuit breaker: opens on failures, probes after the recovery time, closes."""

from __future__ import annotations

import pytest
import trio

import scope_ext as sx


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
