"""Property tests: circuit breaker and rate limiter against small models (on trio's MockClock),
and distribution percentiles against their definition."""

from __future__ import annotations

import math

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import scope_ext as sx
from scope_ext.foundation_layer._circuit_breaker import CircuitBreaker
from scope_ext.foundation_layer._rate_limiter import RateLimiter


@settings(max_examples=150, deadline=None)
@given(
    threshold=st.integers(1, 4),
    recovery=st.sampled_from([0.5, 1.0, 2.0]),
    steps=st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.3, 0.6, 1.1, 2.5])), max_size=25),
)
def test_circuit_breaker_matches_its_state_machine(threshold, recovery, steps):
    transitions = []
    breaker = CircuitBreaker(
        "b",
        sx.Telemetry(),
        lambda kind, data: transitions.append(data["to"]),
        failure_threshold=threshold,
        recovery_time=recovery,
    )
    model = {"state": "closed", "failures": 0, "opened_at": 0.0}
    expected_transitions = []

    def move(state):
        model["state"] = state
        expected_transitions.append(state)

    async def ok():
        return "ok"

    async def fail():
        raise ConnectionError

    async def main(clock):
        for succeeds, wait in steps:
            clock.jump(wait)
            now = trio.current_time()
            if model["state"] == "open":
                if now - model["opened_at"] < recovery:
                    try:
                        await breaker.call(ok)
                    except sx.CircuitOpen:
                        continue
                    raise AssertionError("an open circuit let a call through")
                move("half_open")
            try:
                await breaker.call(ok if succeeds else fail)
                outcome = True
            except ConnectionError:
                outcome = False
            assert outcome == succeeds
            if succeeds:
                model["failures"] = 0
                if model["state"] != "closed":
                    move("closed")
            else:
                model["failures"] += 1
                if model["state"] == "half_open" or model["failures"] >= threshold:
                    model["opened_at"] = now
                    if model["state"] != "open":
                        move("open")
            assert breaker.state == model["state"]

    clock = trio.testing.MockClock()
    trio.run(main, clock, clock=clock)
    assert transitions == expected_transitions


@settings(max_examples=150, deadline=None)
@given(
    rate=st.sampled_from([1.0, 5.0, 20.0]),
    burst=st.integers(1, 5),
    steps=st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(1, 3), st.sampled_from([0.0, 0.05, 0.2, 1.0])), max_size=30
    ),
)
def test_rate_limiter_matches_a_token_bucket(rate, burst, steps):
    limiter = RateLimiter("r", rate=rate, burst=burst)
    buckets: dict[str, list[float]] = {}

    async def main(clock):
        for key, cost, wait in steps:
            clock.jump(wait)
            now = trio.current_time()
            tokens, last = buckets.get(key, (float(burst), now))
            tokens = min(burst, tokens + (now - last) * rate)
            if cost > burst:
                continue
            expected = tokens >= cost - 1e-9
            assert limiter.try_acquire(key, cost) == expected
            buckets[key] = [max(0.0, tokens - cost) if expected else tokens, now]

    clock = trio.testing.MockClock()
    trio.run(main, clock, clock=clock)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=1500))
def test_distribution_percentiles_hold_their_definition(values):
    telemetry = sx.Telemetry()
    dist = telemetry.distribution("e", "v")
    for value in values:
        telemetry.execute("e", {"v": value})
    recent = sorted(values[-1000:])  # the ring keeps the last 1,000
    summary = dist.summary()
    assert summary.observed == len(values)
    assert recent[0] <= summary.p50 <= summary.p90 <= summary.p99 <= recent[-1]
    for q, p in ((0.5, summary.p50), (0.9, summary.p90), (0.99, summary.p99)):
        assert sum(v <= p for v in recent) >= math.ceil(q * len(recent))  # at least q of them at or below
        assert sum(v >= p for v in recent) >= len(recent) - math.ceil(q * len(recent)) + 1  # the rest at or above
