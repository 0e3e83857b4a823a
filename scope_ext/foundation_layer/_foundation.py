"""The Foundation (L1): per-namespace config, events, telemetry, health and memory services.

``await start_foundation(ns)`` starts a ``foundation`` supervisor (rest_for_one: config first,
since the others read it at start) under the namespace's root, and hangs a :class:`Foundation`
handle on the namespace. The handle keeps what must outlive a service restart: the published
config snapshot, telemetry handlers and metrics, the bounded buffer of events produced while the
store is down, circuit breakers and rate limiters. Every namespace has its own, so
``production`` and each isolated namespace never share state.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import trio

from ..runtime._exceptions import NamespaceError, ScopeError
from ..runtime._namespace import Namespace
from ..runtime._process import describe_reason
from ..runtime._registry import current_runtime, namespace_of
from ..runtime._supervisor import ChildSpec, Supervisor, terminate_child
from ._circuit_breaker import CircuitBreaker
from ._config import NO_FILE, ConfigClient, ConfigServer, ConfigSnapshot, Schema, Setting, Sources, load
from ._event_log import Item
from ._event_store import EventsClient, EventStore
from ._health import HealthMonitor, HealthReport
from ._memory import MemoryManager
from ._rate_limiter import RateLimiter
from ._telemetry import Telemetry, TelemetryService

if TYPE_CHECKING:
    from ..runtime._runtime import CrashReport

log = logging.getLogger("scope_ext.foundation_layer")

FOUNDATION_SETTINGS: tuple[Setting, ...] = (
    Setting("events.max_events", int, 1_000_000, "events kept in memory (oldest dropped first)", minimum=1),
    Setting(
        "events.max_age", float, 86_400.0, "seconds an event is kept; None keeps them", minimum=0.001, optional=True
    ),
    Setting("events.path", str, None, "SQLite file the events also go to", optional=True, runtime=False),
    Setting(
        "events.commit_interval",
        float,
        0.05,
        "seconds between SQLite commits",
        minimum=0.001,
        maximum=0.1,
        runtime=False,
    ),
    Setting(
        "events.overflow",
        str,
        "wait",
        "full store: producers wait, or events are dropped and counted",
        choices=("wait", "drop"),
    ),
    Setting(
        "events.outbox_size",
        int,
        50_000,
        "events waiting for the store (also while it restarts)",
        minimum=1,
        runtime=False,
    ),
    Setting("telemetry.poll_interval", float, 1.0, "seconds between runtime gauge polls", minimum=0.01),
    Setting("health.interval", float, 1.0, "seconds between health checks", minimum=0.01),
    Setting(
        "health.mailbox_degraded", float, 0.9, "mailbox fill that makes a service degraded", minimum=0.0, maximum=1.0
    ),
    Setting("memory.interval", float, 2.0, "seconds between memory checks", minimum=0.01),
    Setting("memory.threshold_mb", int, 4096, "process memory past which stores are asked to shrink", minimum=1),
    Setting(
        "memory.shrink_fraction",
        float,
        0.25,
        "share of its entries a store drops under pressure",
        minimum=0.0,
        maximum=1.0,
    ),
)

#: The Foundation services, in start order; each is registered under this name in its namespace.
SERVICES: tuple[tuple[str, type], ...] = (
    ("config", ConfigServer),
    ("events", EventStore),
    ("telemetry", TelemetryService),
    ("health", HealthMonitor),
    ("memory", MemoryManager),
)


class Foundation:
    """The Foundation of one namespace: ``config``, ``events`` and ``telemetry`` APIs and more."""

    def __init__(
        self, namespace: Namespace, schema: Schema, loaded: Mapping[tuple[str, ...], Any], sources: Sources = NO_FILE
    ) -> None:
        self.namespace = namespace
        self.schema = schema
        self._loaded_config = dict(loaded)
        self._config_sources = sources
        self.config_snapshot: ConfigSnapshot | None = None
        self._config_subscribers: dict[Any, tuple[str, ...]] = {}
        self.config = ConfigClient(self)
        self.events = EventsClient(self)
        self.telemetry = Telemetry(self)
        self._outbox: list[tuple[float, Sequence[Item]]] = []
        self._outbox_count = 0
        self._outbox_size: int = self._loaded_config[("events", "outbox_size")]
        self._outbox_space = trio.lowlevel.ParkingLot()
        self._drain_requested = False
        #: Seconds a producer waits for room in a full outbox before MailboxFull.
        self.send_timeout = 5.0
        self.events_dropped = 0
        self._drops_reported = 0
        self.accepting = True
        self.health: HealthReport | None = None
        self.caches: dict[str, Any] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._stop_crash_events: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        return f"<Foundation of {self.namespace.name!r}>"

    def _close_intake(self) -> None:
        self.accepting = False

    def report(self, type: str, data: Any) -> None:
        """Store an event about the runtime itself (never waits; counted as a drop when full)."""
        if self.accepting:
            self.events.store_nowait(type, data, source="scope_ext")

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
        self.accepting = False
        self._stop_crash_events()
        root = self.namespace.root
        with trio.move_on_after(timeout):
            if self.namespace.whereis("events") is not None:
                await self.events.flush(timeout=None)
        if root is None or not root.alive:
            return
        for child in reversed(root.service.children):  # type: ignore[union-attr]
            await terminate_child(root, child.spec.id)


async def start_foundation(
    namespace: Namespace | str | None = None,
    *,
    settings: Iterable[Setting] = (),
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    env_prefix: str = "SCOPE_EXT",
    overrides: Mapping[str, Any] | None = None,
) -> Foundation:
    """Start the Foundation services in a namespace and return its handle.

    The configuration is the schema's defaults (Foundation settings plus ``settings``), then
    ``config_file`` (TOML; by default the file named by ``$SCOPE_EXT_CONFIG``, else
    ``scope_ext.toml`` in the working directory if there is one), then environment variables
    (``environ``, default ``os.environ``), then ``overrides`` (dotted path to value).
    """
    ns = namespace_of(namespace)
    if config_file is None:
        config_file = default_config_file(os.environ if environ is None else environ)
    if find_foundation(ns) is not None:
        raise NamespaceError(f"namespace {ns.name!r} already has its Foundation")
    schema = Schema((*FOUNDATION_SETTINGS, *settings))
    sources = Sources(config_file, environ, env_prefix)
    unclaimed: list[str] = []
    loaded = load(schema, sources, unclaimed)
    if unclaimed:
        log.warning(
            "%r: config values kept for a layer that has not added its section yet: %s", ns.name, ", ".join(unclaimed)
        )
    for path, value in (overrides or {}).items():
        setting = schema.setting(tuple(path.split(".")))
        loaded[setting.path] = setting.validate(value, "override")
    foundation = Foundation(ns, schema, loaded, sources)
    ns.layers["foundation"] = foundation
    specs = [ChildSpec(name, cls, (foundation,), name=name) for name, cls in SERVICES]
    try:
        await ns.start_child(ChildSpec("foundation", Supervisor, (specs, "rest_for_one", 10, 5.0)))
    except BaseException:
        del ns.layers["foundation"]
        raise
    ns.on_drop(foundation._close_intake)

    def crashed(report: CrashReport) -> None:  # every crash in the namespace is an event too
        if report.namespace == ns.name:
            foundation.report(
                "scope.process.crashed",
                {"id": report.label, "pid": report.pid, "error": describe_reason(report.exception)},
            )

    foundation._stop_crash_events = current_runtime().on_crash(crashed)
    for measurement in ("processes", "mailbox_backlog", "crashes"):  # the runtime's own gauges, charted live
        foundation.telemetry.last_value("scope.runtime.poll", measurement)
    return foundation


def default_config_file(environ: Mapping[str, str]) -> str | None:
    """``$SCOPE_EXT_CONFIG``, else ``./scope_ext.toml`` if it exists, else None."""
    named = environ.get("SCOPE_EXT_CONFIG")
    if named:
        return named
    return "scope_ext.toml" if os.path.isfile("scope_ext.toml") else None


def find_foundation(ns: Namespace) -> Foundation | None:
    """The Foundation handle of ``ns``, or None if it has none."""
    return ns.layers.get("foundation")


def foundation(namespace: Namespace | str | None = None) -> Foundation:
    """The Foundation handle of a namespace (default: the current one)."""
    return namespace_of(namespace).layer("foundation", "start_foundation()")  # type: ignore[no-any-return]


_isolated = 0


async def start_isolated_services(namespace: str | None = None, **options: Any) -> Foundation:
    """A fresh namespace (``test-N`` unless named) with its own full Foundation."""
    global _isolated
    rt = current_runtime()
    if namespace is None:
        _isolated += 1
        namespace = f"test-{_isolated}-{int(time.time() * 1000) % 100_000}"
    ns = await rt.create_namespace(namespace)
    try:
        return await start_foundation(ns, **options)
    except BaseException:
        await rt.drop_namespace(namespace)
        raise


async def cleanup(namespace: Namespace | str) -> None:
    """Shut an isolated namespace down gracefully and drop it without a trace."""
    ns = namespace_of(namespace)
    found = find_foundation(ns)
    if found is not None:
        await found.shutdown()
    await current_runtime().drop_namespace(ns.name)
