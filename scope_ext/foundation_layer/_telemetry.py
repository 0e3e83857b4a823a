"""Telemetry (the Elixir ``:telemetry`` idea) with metrics for live charts.

``execute(event, measurements, metadata)`` calls every handler attached to ``event`` right there,
in the caller: no mailbox, no round trip. A handler that raises is detached and reported.
Metrics are handlers that aggregate (counter, sum, last value, distribution) and keep a ring of
about 1,000 time-stamped points each for charts. The handler table and metrics belong to the
namespace's Foundation handle, so they survive a restart of the telemetry service, which only
polls runtime gauges.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from ..runtime._exceptions import ScopeError

log = logging.getLogger("scope_ext.telemetry")

Handler = Callable[[str, Mapping[str, float], Mapping[str, Any], Any], None]
RING = 1000
_EMPTY: Mapping[str, Any] = {}


class _Attached(NamedTuple):
    id: str
    events: tuple[str, ...]
    fn: Handler
    config: Any


class Summary(NamedTuple):
    """What a metric shows: its value (for a distribution, the median), how many events it
    observed, and percentiles."""

    name: str
    kind: str
    value: float | None
    observed: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    #: Per second over the last :data:`RATE_WINDOW` seconds (counters and sums; None for others).
    rate: float | None = None


#: A table of summaries' column titles, one per :class:`Summary` field.
TELEMETRY_COLUMNS = ("metric", "kind", "value", "observed", "p50", "p90", "p99", "rate/s")

#: Seconds a counter's or sum's current rate is measured over.
RATE_WINDOW = 10.0


def percentiles(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """p50, p90 and p99 of ``values`` (nearest rank), or Nones when there are none."""
    if not values:
        return None, None, None
    ranked = sorted(values)

    def pct(q: float) -> float:
        return ranked[min(len(ranked) - 1, max(0, math.ceil(q * len(ranked)) - 1))]

    return pct(0.5), pct(0.9), pct(0.99)


def rates(points: Iterable[tuple[float, float]], step: float = 1.0) -> list[tuple[float, float]]:
    """A running total's points as ``(time, per second)`` over spans of at least ``step`` seconds:
    what a counter's chart and percentiles show (its raw value only ever grows)."""
    out: list[tuple[float, float]] = []
    anchor: tuple[float, float] | None = None
    for t, v in points:
        if anchor is None:
            anchor = (t, v)
        elif t - anchor[0] >= step:
            out.append((t, (v - anchor[1]) / (t - anchor[0])))
            anchor = (t, v)
    return out


class Metric:
    """A handler that aggregates one event's measurement and keeps recent ``(time, value)`` points.

    Its default name is ``event.count`` for a counter, else ``event.measurement.kind``.
    """

    kind = "metric"

    def __init__(self, event: str, measurement: str | None = None, name: str | None = None) -> None:
        self.event = event
        self.measurement = measurement
        self.name = name or (f"{event}.{measurement}.{self.kind}" if measurement else f"{event}.count")
        self.value: float | None = None
        self.count = 0
        self.points: deque[tuple[float, float]] = deque(maxlen=RING)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} = {self.value}>"

    def __call__(self, event: str, measurements: Mapping[str, float], metadata: Mapping[str, Any], config: Any) -> None:
        self.count += 1
        self.record(measurements[self.measurement] if self.measurement else 1.0)
        self.points.append((time.time(), self.value))  # type: ignore[arg-type]

    def record(self, value: float) -> None:
        """Fold one measurement into ``value``."""
        raise TypeError("use Counter, Sum, LastValue or Distribution")

    def summary(self) -> Summary:
        """Name, kind, value, count, and the percentiles of the recent values."""
        return Summary(self.name, self.kind, self.value, self.count, *percentiles([v for _, v in self.points]))


class _Total(Metric):
    """A metric that only adds up: its percentiles and rate are of how fast it grows."""

    def summary(self) -> Summary:
        points = list(self.points)
        if not points:
            return Summary(self.name, self.kind, self.value, self.count)
        now = time.time()
        base = next((p for p in reversed(points) if p[0] <= now - RATE_WINDOW), None)
        if base is None:  # all points are recent: from zero before the first one this ring kept
            base = (points[0][0], 0.0) if self.count == len(points) else points[0]
        span = now - base[0]
        rate = (points[-1][1] - base[1]) / span if span >= 1.0 else None  # less than a second says little
        return Summary(self.name, self.kind, self.value, self.count, *percentiles([r for _, r in rates(points)]), rate)


class Counter(_Total):
    """How many times the event happened."""

    kind = "counter"

    def record(self, value: float) -> None:
        self.value = self.count


class Sum(_Total):
    """The running total of a measurement."""

    kind = "sum"

    def record(self, value: float) -> None:
        self.value = (self.value or 0.0) + value


class LastValue(Metric):
    """The latest value of a measurement (a gauge)."""

    kind = "last_value"

    def record(self, value: float) -> None:
        self.value = value


class Distribution(Metric):
    """A measurement's recent values: p50 / p90 / p99 over the last ~1,000 points."""

    kind = "distribution"

    def __call__(self, event: str, measurements: Mapping[str, float], metadata: Mapping[str, Any], config: Any) -> None:
        self.count += 1
        value = measurements[self.measurement] if self.measurement else 1.0
        self.value = value
        self.points.append((time.time(), value))

    def summary(self) -> Summary:
        p50, p90, p99 = percentiles([v for _, v in self.points])
        return Summary(self.name, self.kind, p50, self.count, p50, p90, p99)


class TelemetryError(ScopeError):
    """A handler id is taken, or a metric name is."""


class Telemetry:
    """Handlers and metrics of one namespace (``foundation.telemetry``); see the module docstring."""

    def __init__(self, report: Callable[[str, Any], None] | None = None) -> None:
        #: Where a detached handler is reported (the Foundation's ``report``), if anywhere.
        self._report = report
        self._by_event: dict[str, list[_Attached]] = {}
        self._by_id: dict[str, _Attached] = {}
        self.metrics: dict[str, Metric] = {}

    def attach(self, handler_id: str, events: str | Iterable[str], fn: Handler, config: Any = None) -> None:
        """Call ``fn(event, measurements, metadata, config)`` on each of ``events``."""
        if handler_id in self._by_id:
            raise TelemetryError(f"a telemetry handler {handler_id!r} is already attached")
        names = (events,) if isinstance(events, str) else tuple(events)
        attached = _Attached(handler_id, names, fn, config)
        self._by_id[handler_id] = attached
        for name in names:
            self._by_event.setdefault(name, []).append(attached)

    def detach(self, handler_id: str) -> bool:
        """Remove a handler; False if there was none."""
        attached = self._by_id.pop(handler_id, None)
        if attached is None:
            return False
        for name in attached.events:
            handlers = [h for h in self._by_event.get(name, ()) if h is not attached]
            if handlers:
                self._by_event[name] = handlers
            else:
                self._by_event.pop(name, None)
        return True

    def handlers(self, event: str | None = None) -> list[str]:
        """Ids of the handlers attached (to ``event``, or to anything)."""
        if event is None:
            return list(self._by_id)
        return [h.id for h in self._by_event.get(event, ())]

    def execute(
        self, event: str, measurements: Mapping[str, float] = _EMPTY, metadata: Mapping[str, Any] = _EMPTY
    ) -> None:
        """Run every handler of ``event`` now, in this task."""
        handlers = self._by_event.get(event)
        if handlers is None:
            return
        for handler in handlers:
            try:
                handler.fn(event, measurements, metadata, handler.config)
            except Exception as exc:
                self._failed(handler, event, exc)

    def _failed(self, handler: _Attached, event: str, exc: Exception) -> None:
        self.detach(handler.id)
        log.error("telemetry handler %r raised on %s and was detached", handler.id, event, exc_info=exc)
        if self._report is not None:
            self._report(
                "scope.telemetry.handler_detached", {"handler": handler.id, "event": event, "error": repr(exc)}
            )

    @contextmanager
    def span(self, event: str, metadata: Mapping[str, Any] = _EMPTY) -> Iterator[dict[str, Any]]:
        """``event.start`` now; ``event.stop`` with ``duration`` (s) at the end, or
        ``event.exception`` with ``duration`` and ``kind`` / ``reason`` if the block raises.
        The yielded dict's items are added to the stop metadata."""
        start = time.perf_counter()
        self.execute(f"{event}.start", {"system_time": time.time()}, metadata)
        extra: dict[str, Any] = {}
        try:
            yield extra
        except BaseException as exc:
            self.execute(
                f"{event}.exception",
                {"duration": time.perf_counter() - start},
                {**metadata, **extra, "kind": type(exc).__name__, "reason": exc},
            )
            raise
        self.execute(f"{event}.stop", {"duration": time.perf_counter() - start}, {**metadata, **extra})

    def _metric(self, metric: Metric) -> Metric:
        if metric.name in self.metrics:
            raise TelemetryError(f"a metric {metric.name!r} already exists")
        self.attach(f"metric:{metric.name}", metric.event, metric)
        self.metrics[metric.name] = metric
        return metric

    def counter(self, event: str, name: str | None = None) -> Metric:
        """Count ``event``."""
        return self._metric(Counter(event, None, name))

    def sum(self, event: str, measurement: str, name: str | None = None) -> Metric:
        """Total ``measurement`` of ``event``."""
        return self._metric(Sum(event, measurement, name))

    def last_value(self, event: str, measurement: str, name: str | None = None) -> Metric:
        """Latest ``measurement`` of ``event``."""
        return self._metric(LastValue(event, measurement, name))

    def distribution(self, event: str, measurement: str, name: str | None = None) -> Metric:
        """Percentiles of ``measurement`` of ``event``."""
        return self._metric(Distribution(event, measurement, name))

    def drop_metric(self, name: str) -> None:
        """Remove a metric and its handler."""
        self.metrics.pop(name)
        self.detach(f"metric:{name}")

    def summaries(self) -> list[Summary]:
        """Every metric's summary, by name."""
        return [self.metrics[name].summary() for name in sorted(self.metrics)]
