"""The Foundation (L1): per-namespace config, events, telemetry, health and memory services, the
service registry, circuit breakers and rate limiters, and isolated namespaces for tests.

``run``, ``open_runtime`` and ``RuntimeThread`` here are the runtime's, with a ``foundation`` switch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from ._circuit_breaker import CircuitBreaker as CircuitBreaker
    from ._circuit_breaker import CircuitOpen as CircuitOpen
    from ._config import ConfigChanged as ConfigChanged
    from ._config import ConfigClient as ConfigClient
    from ._config import ConfigError as ConfigError
    from ._config import ConfigSnapshot as ConfigSnapshot
    from ._config import Schema as Schema
    from ._config import Setting as Setting
    from ._event_db import EventDBError as EventDBError
    from ._event_log import Event as Event
    from ._event_log import EventList as EventList
    from ._event_store import EventsClient as EventsClient
    from ._event_store import EventStats as EventStats
    from ._event_store import ShuttingDown as ShuttingDown
    from ._foundation import Foundation as Foundation
    from ._foundation import find_foundation as find_foundation
    from ._foundation import foundation as foundation
    from ._rate_limiter import RateLimited as RateLimited
    from ._rate_limiter import RateLimiter as RateLimiter
    from ._service_registry import HealthReport as HealthReport
    from ._service_registry import ServiceHealth as ServiceHealth
    from ._service_registry import ServiceNotFound as ServiceNotFound
    from ._service_registry import count_services as count_services
    from ._service_registry import health_check as health_check
    from ._service_registry import list_services as list_services
    from ._service_registry import lookup as lookup
    from ._service_registry import wait_for_service as wait_for_service
    from ._start import FOUNDATION_SETTINGS as FOUNDATION_SETTINGS
    from ._start import RuntimeThread as RuntimeThread
    from ._start import cleanup as cleanup
    from ._start import open_runtime as open_runtime
    from ._start import production_foundation as production_foundation
    from ._start import run as run
    from ._start import start_foundation as start_foundation
    from ._start import start_isolated_services as start_isolated_services
    from ._telemetry import Metric as Metric
    from ._telemetry import Summary as Summary
    from ._telemetry import Telemetry as Telemetry
    from ._telemetry import TelemetryError as TelemetryError


__getattr__, __dir__, __all__ = attach(__name__, __file__)
