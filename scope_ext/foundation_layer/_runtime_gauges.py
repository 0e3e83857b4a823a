"""The telemetry poller: the runtime's own gauges of a namespace (processes, mailbox backlog,
crashes), charted like any metric."""

from __future__ import annotations

from ._periodic import PeriodicService


class TelemetryService(PeriodicService):
    """Polls runtime gauges into ``scope.runtime.poll`` every ``telemetry.poll_interval`` seconds."""

    interval = ("telemetry", "poll_interval")

    def round(self) -> None:
        ns = self.foundation.namespace
        processes = [p for p in ns.runtime._processes.values() if p.namespace is ns]
        backlog = sum(len(p.mailbox) for p in processes if p.mailbox is not None)
        self.foundation.telemetry.execute(
            "scope.runtime.poll",
            {"processes": len(processes), "mailbox_backlog": backlog, "crashes": len(ns.runtime.crashes)},
            {"namespace": ns.name},
        )
