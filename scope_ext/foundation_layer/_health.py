"""The health monitor: checks every registered service of its namespace periodically.

The overall level is ``critical`` if a Foundation service is missing or any service is critical,
``degraded`` if any is degraded, else ``healthy``. Every change of the overall level is stored as a
``scope.health.changed`` event; the latest report hangs on the Foundation handle. ``%scope status``
and the sidebar call :func:`assess` themselves, so a dead monitor never leaves a stale "healthy".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._periodic import PeriodicService
from ._service_registry import HealthReport, health_check, list_services, recent_crashes

if TYPE_CHECKING:
    from ._foundation import Foundation

REQUIRED = ("config", "events", "telemetry")


def assess(foundation: Foundation) -> HealthReport:
    """Check every service of the namespace now."""
    ns = foundation.namespace
    degraded_at = foundation.config.get(("health", "mailbox_degraded"))
    window = foundation.config.get(("health", "crash_window"))
    names = set(list_services(ns)) | set(REQUIRED)
    counts = recent_crashes(ns, window)
    services = tuple(health_check(ns, name, degraded_at, window, crash_counts=counts) for name in sorted(names))
    levels = {s.status for s in services}
    overall = "critical" if "critical" in levels else "degraded" if "degraded" in levels else "healthy"
    return HealthReport(overall, services, time.time())


def describe_health(report: HealthReport, shown: int = 3) -> str:
    """One line: the overall level and what makes it so (the first ``shown`` troubled services)."""
    troubled = [f"{s.name} {s.detail}" for s in report.services if s.status != "healthy"]
    if not troubled:
        return report.overall
    more = f" (+{len(troubled) - shown} more)" if len(troubled) > shown else ""
    return f"{report.overall}: {'; '.join(troubled[:shown])}{more}"


class HealthMonitor(PeriodicService):
    """Runs :func:`assess` every ``health.interval`` seconds; started by the Foundation."""

    interval = ("health", "interval")

    def round(self) -> None:
        report = assess(self.foundation)
        previous = self.foundation.health
        self.foundation.health = report
        if previous is None or previous.overall != report.overall:
            troubled = {s.name: f"{s.status}: {s.detail}" for s in report.services if s.status != "healthy"}
            self.foundation.report(
                "scope.health.changed",
                {"from": None if previous is None else previous.overall, "to": report.overall, "services": troubled},
            )

    def handle_call(self, request: Any, caller: Any) -> HealthReport:
        report = assess(self.foundation)
        self.foundation.health = report
        return report
