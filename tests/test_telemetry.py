"""Telemetry: handlers in the caller, spans, failing handlers, metrics and their rings."""

from __future__ import annotations

import pytest
import trio

import scope_ext as sx
from scope_ext.foundation_layer._telemetry import RING


def test_handlers_run_in_the_caller_with_their_config():
    telemetry = sx.Telemetry()
    seen = []

    def handler(event, measurements, metadata, config):
        seen.append((event, dict(measurements), dict(metadata), config, trio.lowlevel.current_task()))

    telemetry.attach("h1", ["db.query", "db.connect"], handler, config="cfg")
    with pytest.raises(sx.TelemetryError, match="already attached"):
        telemetry.attach("h1", "x", handler)

    async def main():
        telemetry.execute("db.query", {"rows": 3}, {"table": "t"})
        telemetry.execute("unrelated")
        return trio.lowlevel.current_task()

    me = trio.run(main)
    assert seen == [("db.query", {"rows": 3}, {"table": "t"}, "cfg", me)]
    assert telemetry.handlers("db.connect") == ["h1"]
    assert telemetry.detach("h1") and not telemetry.detach("h1")
    telemetry.execute("db.query", {"rows": 1})
    assert len(seen) == 1


def test_span_emits_start_stop_and_exception_with_duration():
    telemetry = sx.Telemetry()
    seen = []
    telemetry.attach(
        "h", ["job.start", "job.stop", "job.exception"], lambda e, m, md, c: seen.append((e, dict(m), dict(md)))
    )
    with telemetry.span("job", {"id": 1}) as extra:
        extra["result"] = "ok"
    with pytest.raises(KeyError):
        with telemetry.span("job", {"id": 2}):
            raise KeyError("lost")
    names = [e for e, _, _ in seen]
    assert names == ["job.start", "job.stop", "job.start", "job.exception"]
    assert seen[1][1]["duration"] >= 0 and seen[1][2] == {"id": 1, "result": "ok"}
    assert seen[3][2]["kind"] == "KeyError" and isinstance(seen[3][2]["reason"], KeyError)
    assert "system_time" in seen[0][1]


def test_metrics_aggregate_and_keep_a_bounded_ring():
    telemetry = sx.Telemetry()
    count = telemetry.counter("req")
    total = telemetry.sum("req", "bytes")
    last = telemetry.last_value("req", "bytes")
    dist = telemetry.distribution("req", "latency")
    for i in range(1, 2001):
        telemetry.execute("req", {"bytes": i, "latency": i % 100})
    assert count.value == 2000 and total.value == sum(range(1, 2001)) and last.value == 2000
    assert len(count.points) == RING == 1000 and count.points[-1][1] == 2000
    summary = dist.summary()
    assert (summary.observed, summary.p50, summary.p90, summary.p99) == (2000, 49, 89, 98)
    assert [s.name for s in telemetry.summaries()] == [
        "req.bytes.last_value",
        "req.bytes.sum",
        "req.count",
        "req.latency.distribution",
    ]
    with pytest.raises(sx.TelemetryError, match="already exists"):
        telemetry.counter("req")
    telemetry.drop_metric("req.count")
    telemetry.execute("req", {"bytes": 1, "latency": 1})
    assert count.value == 2000


def test_a_raising_handler_is_detached_and_reported_as_an_event():
    async def main(rt):
        f = await sx.start_foundation(rt.production)
        calls = []

        def broken(event, measurements, metadata, config):
            calls.append(event)
            raise RuntimeError("handler bug")

        f.telemetry.attach("broken", "tick", broken)
        f.telemetry.attach("fine", "tick", lambda *a: calls.append("fine"))
        f.telemetry.execute("tick")
        f.telemetry.execute("tick")
        assert calls == ["tick", "fine", "fine"]
        (report,) = await f.events.query(types="scope.telemetry.handler_detached")
        assert report.data["handler"] == "broken" and "handler bug" in report.data["error"]

    sx.run(main)


def test_telemetry_service_polls_runtime_gauges():
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"telemetry.poll_interval": 0.02})
        gauge = f.telemetry.metrics["scope.runtime.poll.processes.last_value"]  # a default gauge, as are these:
        assert {"scope.runtime.poll.mailbox_backlog.last_value", "scope.runtime.poll.crashes.last_value"} <= set(
            f.telemetry.metrics
        )
        with trio.move_on_after(5):  # every 20 ms; a loaded machine may be slower
            while len(gauge.points) < 3:
                await trio.sleep(0.02)
        assert gauge.value == len(rt.production.processes()) and len(gauge.points) >= 3
        service = rt.production.whereis("telemetry")
        service.kill()
        await sx.wait_for_service(rt.production, "telemetry")
        assert f.telemetry.metrics["scope.runtime.poll.processes.last_value"] is gauge  # metrics outlive the service

    sx.run(main)


def test_every_metric_has_percentiles_and_totals_have_a_rate(monkeypatch):
    from scope_ext.foundation_layer import _telemetry

    clock = [1000.0]
    monkeypatch.setattr(_telemetry.time, "time", lambda: clock[0])
    telemetry = sx.Telemetry()
    count = telemetry.counter("req")
    last = telemetry.last_value("req", "depth")
    assert count.summary().rate is None and count.summary().p50 is None  # nothing observed yet
    for i in range(40):  # 4 events a second for 10 s, then 5 quiet seconds
        clock[0] = 1000.0 + i * 0.25
        telemetry.execute("req", {"depth": i % 10})
    clock[0] = 1015.0
    summary = count.summary()
    assert summary.p50 == pytest.approx(4.0) and summary.p99 == pytest.approx(4.0)  # per second, not the total
    assert summary.rate == pytest.approx(19 / 10)  # the last 10 s: 19 events (at 1005.25 ... 1009.75)
    gauge = last.summary()
    assert (gauge.p50, gauge.p90, gauge.p99, gauge.rate) == (4, 8, 9, None)
    assert _telemetry.rates([(0, 0), (0.5, 5), (1.0, 10), (3.0, 30)]) == [(1.0, 10.0), (3.0, 10.0)]
