"""The Foundation handle of a namespace: its ``config``, ``events`` and ``telemetry`` APIs, health,
caches, circuit breakers and rate limiters.

The handle keeps what must outlive a service restart: the config store, telemetry handlers and
metrics, the outbox of events produced while the store is down, circuit breakers and rate
limiters. Every namespace has its own, so ``production`` and each isolated namespace never share
state. :mod:`._start` starts the services and hangs the handle on the namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import trio

from ..runtime._exceptions import ScopeError
from ..runtime._namespace import Namespace
from ..runtime._process import current_process
from ..runtime._runtime import namespace_of
from ..runtime._supervisor import terminate_child
from ._circuit_breaker import CircuitBreaker
from ._config import NO_FILE, ConfigClient, ConfigStore, Schema, Sources
from ._event_store import EventsClient, Outbox
from ._rate_limiter import RateLimiter
from ._service_registry import HealthReport
from ._telemetry import Telemetry


class Foundation:
    """The Foundation of one namespace: ``config``, ``events`` and ``telemetry`` APIs and more."""

    def __init__(
        self, namespace: Namespace, schema: Schema, loaded: Mapping[tuple[str, ...], Any], sources: Sources = NO_FILE
    ) -> None:
        self.namespace = namespace
        #: The config server's state (schema, values, snapshot, subscribers), kept across its restarts.
        self.config_store = ConfigStore(namespace, schema, loaded, sources)
        self.config = ConfigClient(self.config_store)
        #: Events on their way to the store, kept across its restarts.
        self.outbox = Outbox(namespace, self.config, self.config_store.loaded[("events", "outbox_size")])
        self.events = EventsClient(self.outbox)
        self.telemetry = Telemetry(self.report)
        self.health: HealthReport | None = None
        self.caches: dict[str, Any] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._stop_crash_events: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"<Foundation of {self.namespace.name!r}>"

    @property
    def accepting(self) -> bool:
        """Whether the namespace takes new work (False once it shuts down or drops)."""
        return self.outbox.accepting

    @property
    def events_dropped(self) -> int:
        """Events dropped so far (a full outbox with ``events.overflow = "drop"``, or no store)."""
        return self.outbox.dropped

    def _close_intake(self) -> None:
        self.outbox.accepting = False

    def report(self, type: str, data: Any, source: str | None = None) -> None:
        """Store an event about the runtime itself, from ``source``: the service it is about, else
        the process reporting it (the views show it as the event's service), else ``scope_ext``.
        Never waits; counted as a drop when full."""
        if self.accepting:
            if source is None:
                proc = current_process()
                source = proc.label if proc is not None else "scope_ext"
            self.events.store_nowait(type, data, source=source)

    def register_cache(self, name: str, cache: Any) -> None:
        """Let the memory manager watch ``cache`` (``memory_bytes()``, ``shrink(fraction)``)."""
        self.caches[name] = cache

    def circuit_breaker(self, name: str, **options: Any) -> CircuitBreaker:
        """The circuit breaker called ``name`` here, created with ``options`` on first use."""
        found = self._breakers.get(name)
        if found is None:
            found = self._breakers[name] = CircuitBreaker(name, self.telemetry, self.report, **options)
        elif options:
            raise ScopeError(f"circuit breaker {name!r} exists already; options apply only when it is created")
        return found

    def rate_limiter(self, name: str, **options: Any) -> RateLimiter:
        """The rate limiter called ``name`` here, created with ``options`` on first use."""
        found = self._limiters.get(name)
        if found is None:
            found = self._limiters[name] = RateLimiter(name, **options)
        elif options:
            raise ScopeError(f"rate limiter {name!r} exists already; options apply only when it is created")
        return found

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Graceful shutdown: accept no new work, drain in-flight events (within ``timeout``), then
        stop every layer of the namespace in reverse start order."""
        self._close_intake()
        self._stop_crash_events()
        root = self.namespace.root
        with trio.move_on_after(timeout):
            if self.namespace.whereis("events") is not None:
                await self.events.flush(timeout=None)
        if root is None or not root.alive:
            return
        for child in reversed(root.service.children):  # type: ignore[union-attr]
            await terminate_child(root, child.spec.id)


def find_foundation(ns: Namespace) -> Foundation | None:
    """The Foundation handle of ``ns``, or None if it has none."""
    return ns.layers.get("foundation")


def foundation(namespace: Namespace | str | None = None) -> Foundation:
    """The Foundation handle of a namespace (default: the current one)."""
    return namespace_of(namespace).layer("foundation", "start_foundation()")  # type: ignore[no-any-return]
