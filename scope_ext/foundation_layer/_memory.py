"""The memory manager: watches process memory and the stores and caches that register with it.

Past ``memory.threshold_mb`` of resident memory it asks every store and cache (the event store,
and anything passed to ``Foundation.register_cache``) to drop ``memory.shrink_fraction`` of its
entries, and records a ``scope.memory.pressure`` event.
"""

from __future__ import annotations

import os
import resource
from typing import TYPE_CHECKING, Any

from ._periodic import PeriodicService

if TYPE_CHECKING:
    from ._foundation import Foundation

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def watched(foundation: Foundation) -> dict[str, Any]:
    """Every store or cache with ``memory_bytes`` and ``shrink``: registered services and caches."""
    found = dict(foundation.caches)
    for key, proc, _ in foundation.namespace.names.entries():
        svc = proc.service
        if svc is not None and hasattr(svc, "memory_bytes") and hasattr(svc, "shrink"):
            found[str(key)] = svc
    return found


class MemoryManager(PeriodicService):
    """Checks every ``memory.interval`` seconds; started by the Foundation."""

    interval = ("memory", "interval")

    def init(self, foundation: Foundation) -> None:
        self.last: dict[str, int] = {}
        super().init(foundation)

    def round(self) -> None:
        self.check()

    def handle_call(self, request: Any, caller: Any) -> dict[str, int]:
        return self.check()

    def check(self) -> dict[str, int]:
        """Measure now and shrink if past the threshold; returns the sizes measured."""
        config = self.foundation.config
        stores = watched(self.foundation)
        sizes = {name: int(store.memory_bytes()) for name, store in stores.items()}
        sizes["process"] = resident_bytes()
        self.last = sizes
        threshold = config.get(("memory", "threshold_mb")) * 1024 * 1024
        if sizes["process"] > threshold:
            fraction = config.get(("memory", "shrink_fraction"))
            freed = {name: store.shrink(fraction) for name, store in stores.items()}
            self.foundation.report(
                "scope.memory.pressure",
                {"resident": sizes["process"], "threshold": threshold, "sizes": sizes, "shrunk": freed},
            )
        return sizes
