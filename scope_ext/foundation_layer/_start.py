"""Starting the Foundation of a namespace (its supervisor and services), isolated namespaces for
tests, and runtimes that start production's Foundation with them: the public ``run``,
``open_runtime`` and ``RuntimeThread``, each the runtime's own plus a ``foundation`` switch (the
runtime itself knows nothing of the Foundation; it runs the start hook these pass).

``await start_foundation(ns)`` starts a ``foundation`` supervisor (rest_for_one: config first,
since the others read it at start) under the namespace's root.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from ..runtime import _runtime, _thread
from ..runtime._exceptions import NamespaceError
from ..runtime._namespace import Namespace
from ..runtime._process import describe_reason
from ..runtime._runtime import Runtime, StartHook, current_runtime, namespace_of
from ..runtime._supervisor import ChildSpec, Supervisor
from ._config import ConfigServer, Schema, Setting, Sources, load
from ._event_store import EventStore
from ._foundation import Foundation, find_foundation
from ._health import HealthMonitor
from ._memory import MemoryManager
from ._runtime_gauges import TelemetryService

if TYPE_CHECKING:
    from ..runtime._process import CrashReport

log = logging.getLogger("scope_ext.foundation")
T = TypeVar("T")

_TEN_YEARS = 10 * 365 * 86_400.0

#: Every number is bounded by what it means (and floats must be finite: see ``Setting.validate``).
FOUNDATION_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "events.max_events", int, 1_000_000, "events kept in memory (oldest dropped first)", minimum=1, maximum=10**9
    ),
    Setting(
        "events.max_age",
        float,
        86_400.0,
        "seconds an event is kept; None keeps them",
        minimum=0.001,
        maximum=_TEN_YEARS,
        optional=True,
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
        maximum=10**8,
        runtime=False,
    ),
    Setting("telemetry.poll_interval", float, 1.0, "seconds between runtime gauge polls", minimum=0.01, maximum=3600),
    Setting("health.interval", float, 1.0, "seconds between health checks", minimum=0.01, maximum=3600),
    Setting(
        "health.crash_window",
        float,
        10.0,
        "seconds over which a service's crashes count: one makes it degraded, three crash-looping (critical)",
        minimum=0.1,
        maximum=3600,
    ),
    Setting(
        "health.mailbox_degraded", float, 0.9, "mailbox fill that makes a service degraded", minimum=0.0, maximum=1.0
    ),
    Setting("memory.interval", float, 2.0, "seconds between memory checks", minimum=0.01, maximum=3600),
    Setting(
        "memory.threshold_mb",
        int,
        4096,
        "process memory past which stores are asked to shrink",
        minimum=1,
        maximum=2**30,
    ),
    Setting(
        "memory.shrink_fraction",
        float,
        0.25,
        "share of its entries a store drops under pressure",
        minimum=0.0,
        maximum=1.0,
    ),
)


def _specs(foundation: Foundation) -> list[ChildSpec]:
    """The Foundation services, in start order; each is registered under its id in the namespace."""
    return [
        ChildSpec("config", ConfigServer, (foundation.config_store,), name="config"),
        ChildSpec("events", EventStore, (foundation.outbox,), name="events"),
        ChildSpec("telemetry", TelemetryService, (foundation,), name="telemetry"),
        ChildSpec("health", HealthMonitor, (foundation,), name="health"),
        ChildSpec("memory", MemoryManager, (foundation,), name="memory"),
    ]


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
    specs = _specs(foundation)
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
                source=report.label,
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


def production_foundation(settings: Iterable[Setting] = ()) -> StartHook:
    """A start hook that starts production's Foundation, with ``settings`` added to its schema."""
    extra = tuple(settings)

    async def start(runtime: Runtime) -> None:
        await start_foundation(runtime.production, settings=extra)

    return start


def open_runtime(*, foundation: bool = False, shutdown_timeout: float = 30.0) -> AbstractAsyncContextManager[Runtime]:
    """Run a runtime for the duration of an ``async with`` block; on exit stop it gracefully.

    With ``foundation``, production gets its Foundation services (config, events, telemetry,
    health, memory) at start. The graceful stop is shielded from outer cancellation and bounded by
    ``shutdown_timeout`` seconds, after which whatever still runs is killed.
    """
    return _runtime.open_runtime(
        on_start=production_foundation() if foundation else None, shutdown_timeout=shutdown_timeout
    )


def run(main: Callable[[Runtime], Awaitable[T]], *, foundation: bool = False, shutdown_timeout: float = 30.0) -> T:
    """``trio.run`` a function ``main(runtime)`` inside a fresh runtime (scripts and CLIs); with
    ``foundation``, production's Foundation starts first."""
    return _runtime.run(
        main, on_start=production_foundation() if foundation else None, shutdown_timeout=shutdown_timeout
    )


class RuntimeThread(_thread.RuntimeThread):
    """A runtime running ``trio.run`` in a daemon thread (see the runtime's ``RuntimeThread``); with
    ``foundation`` (the default) production gets its Foundation services at start."""

    def __init__(
        self, *, foundation: bool = True, shutdown_timeout: float = 30.0, prompt_switching: bool = True
    ) -> None:
        super().__init__(
            on_start=production_foundation() if foundation else None,
            shutdown_timeout=shutdown_timeout,
            prompt_switching=prompt_switching,
        )
