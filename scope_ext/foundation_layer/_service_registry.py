"""The service registry: find, check and wait for named services in a namespace.

A service is a process registered under a name in its namespace's ``names`` registry. Errors name
what is missing and what is there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple

import trio

from ..runtime._exceptions import ScopeError
from ..runtime._namespace import Namespace
from ..runtime._process import Process
from ..runtime._runtime import namespace_of

HEALTH_LEVELS = ("healthy", "degraded", "critical")
#: Crashes within the crash window that make a service crash-looping (critical).
CRASH_LOOP = 3


class ServiceNotFound(ScopeError):
    """No service of that name runs in the namespace."""


class ServiceHealth(NamedTuple):
    """One service's health: whether it runs, its level, and why."""

    name: str
    alive: bool
    status: str
    detail: str


class HealthReport(NamedTuple):
    """The overall level, each service's health, and when it was checked (wall clock)."""

    overall: str
    services: tuple[ServiceHealth, ...]
    checked_at: float


def lookup(namespace: Namespace | str | None, service: str) -> Process:
    """The process of ``service`` in ``namespace``; raises :class:`ServiceNotFound` naming both."""
    ns = namespace_of(namespace)
    proc = ns.names.whereis(service)
    if proc is None:
        known = ", ".join(sorted(map(str, (k for k, _, _ in ns.names.entries())))) or "none"
        raise ServiceNotFound(f"no service {service!r} in namespace {ns.name!r} (registered: {known})")
    return proc


def list_services(namespace: Namespace | str | None = None) -> list[str]:
    """Names of the services registered in ``namespace``, sorted."""
    return sorted(str(key) for key, _, _ in namespace_of(namespace).names.entries())


def count_services(namespace: Namespace | str | None = None) -> int:
    """How many services are registered in ``namespace``."""
    return namespace_of(namespace).names.count()


def health_check(
    namespace: Namespace | str | None,
    service: str,
    mailbox_degraded: float = 0.9,
    crash_window: float = 10.0,
    *,
    crash_counts: Mapping[str, int] | None = None,
) -> ServiceHealth:
    """Whether ``service`` runs, whether it crashed in the last ``crash_window`` seconds (three
    times or more: crash-looping, critical), how full its mailbox is, and what its own ``health()``
    says. ``crash_counts`` (from :func:`recent_crashes`) saves recounting when checking many."""
    ns = namespace_of(namespace)
    proc = ns.names.whereis(service)
    if proc is None or not proc.alive:
        return ServiceHealth(service, False, "critical", "not running")
    counts = recent_crashes(ns, crash_window) if crash_counts is None else crash_counts
    crashes = counts.get(proc.label, 0)
    if crashes >= CRASH_LOOP:
        return ServiceHealth(service, True, "critical", f"crash-looping: {crashes} crashes in {crash_window:g} s")
    if crashes:
        return ServiceHealth(service, True, "degraded", f"crashed {crashes} times in {crash_window:g} s")
    if proc.status == "starting":
        return ServiceHealth(service, True, "degraded", "starting")
    if proc.mailbox is not None and proc.capacity and len(proc.mailbox) >= mailbox_degraded * proc.capacity:
        return ServiceHealth(service, True, "degraded", f"mailbox {len(proc.mailbox)}/{proc.capacity}")
    own = getattr(proc.service, "health", None)
    if own is None:
        return ServiceHealth(service, True, "healthy", "running")
    try:
        status = own()
    except Exception as exc:
        return ServiceHealth(service, True, "critical", f"health() raised {exc!r}")
    if status not in HEALTH_LEVELS:
        return ServiceHealth(service, True, "critical", f"health() returned {status!r}")
    return ServiceHealth(service, True, status, "running")


def recent_crashes(ns: Namespace, window: float) -> Counter[str]:
    """Crashes per process label in ``ns`` over the last ``window`` seconds (as far as the runtime's
    crash history goes back)."""
    cutoff = trio.current_time() - window
    counts: Counter[str] = Counter()
    for report in reversed(ns.runtime.crashes):
        if report.time < cutoff:
            break
        if report.namespace == ns.name:
            counts[report.label] += 1
    return counts


async def wait_for_service(namespace: Namespace | str | None, service: str, timeout: float = 5.0) -> Process:
    """Wait until ``service`` is registered and running; raises :class:`ServiceNotFound` after ``timeout``."""
    ns = namespace_of(namespace)
    wake = [trio.Event()]
    unlisten = ns.names.listen(lambda *_: wake[0].set())
    try:
        with trio.move_on_after(timeout):
            while True:
                proc = ns.names.whereis(service)
                if proc is not None and proc.status == "running":
                    return proc
                with trio.move_on_after(0.05):  # also notices the end of a registered service's init
                    await wake[0].wait()
                wake[0] = trio.Event()
    finally:
        unlisten()
    raise ServiceNotFound(f"service {service!r} did not start in namespace {ns.name!r} within {timeout} s")
