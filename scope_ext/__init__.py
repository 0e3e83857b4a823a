"""scope_ext: an OTP-style supervision runtime on trio, for scripts, tests and Jupyter kernels.

The package has one subpackage per layer, each importing only those below it: ``runtime``
(processes, supervisors, namespaces), ``foundation`` (config, events, telemetry, health, per
namespace), ``code`` (the code index and its questions) and ``notebook`` (magics, views, sidebar).
Every public name is re-exported here and imported on first use, so ``import scope_ext`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import attach

if TYPE_CHECKING:
    from ._result_table import QueryResult as QueryResult
    from .code import CodeError as CodeError
    from .code import CodeLayer as CodeLayer
    from .code import IndexRun as IndexRun
    from .code import PatternError as PatternError
    from .code import QueryError as QueryError
    from .code import code_layer as code_layer
    from .code import start_code_layer as start_code_layer
    from .foundation_layer import FOUNDATION_SETTINGS as FOUNDATION_SETTINGS
    from .foundation_layer import CircuitBreaker as CircuitBreaker
    from .foundation_layer import CircuitOpen as CircuitOpen
    from .foundation_layer import ConfigChanged as ConfigChanged
    from .foundation_layer import ConfigClient as ConfigClient
    from .foundation_layer import ConfigError as ConfigError
    from .foundation_layer import ConfigSnapshot as ConfigSnapshot
    from .foundation_layer import Event as Event
    from .foundation_layer import EventDBError as EventDBError
    from .foundation_layer import EventList as EventList
    from .foundation_layer import EventsClient as EventsClient
    from .foundation_layer import EventStats as EventStats
    from .foundation_layer import Foundation as Foundation
    from .foundation_layer import HealthReport as HealthReport
    from .foundation_layer import Metric as Metric
    from .foundation_layer import RateLimited as RateLimited
    from .foundation_layer import RateLimiter as RateLimiter
    from .foundation_layer import RuntimeThread as RuntimeThread
    from .foundation_layer import Schema as Schema
    from .foundation_layer import ServiceHealth as ServiceHealth
    from .foundation_layer import ServiceNotFound as ServiceNotFound
    from .foundation_layer import Setting as Setting
    from .foundation_layer import ShuttingDown as ShuttingDown
    from .foundation_layer import Summary as Summary
    from .foundation_layer import Telemetry as Telemetry
    from .foundation_layer import TelemetryError as TelemetryError
    from .foundation_layer import cleanup as cleanup
    from .foundation_layer import count_services as count_services
    from .foundation_layer import foundation as foundation
    from .foundation_layer import health_check as health_check
    from .foundation_layer import list_services as list_services
    from .foundation_layer import lookup as lookup
    from .foundation_layer import open_runtime as open_runtime
    from .foundation_layer import run as run
    from .foundation_layer import start_foundation as start_foundation
    from .foundation_layer import start_isolated_services as start_isolated_services
    from .foundation_layer import wait_for_service as wait_for_service
    from .notebook import load_ipython_extension as load_ipython_extension
    from .notebook import runtime_thread as runtime_thread
    from .notebook import unload_ipython_extension as unload_ipython_extension
    from .runtime import ANY as ANY
    from .runtime import KILLED as KILLED
    from .runtime import NOPROC as NOPROC
    from .runtime import NOREPLY as NOREPLY
    from .runtime import NORMAL as NORMAL
    from .runtime import SHUTDOWN as SHUTDOWN
    from .runtime import AlreadyRegistered as AlreadyRegistered
    from .runtime import Caller as Caller
    from .runtime import CallError as CallError
    from .runtime import CallTimeout as CallTimeout
    from .runtime import ChildCounts as ChildCounts
    from .runtime import ChildInfo as ChildInfo
    from .runtime import ChildSpec as ChildSpec
    from .runtime import CrashReport as CrashReport
    from .runtime import Down as Down
    from .runtime import DynamicSupervisor as DynamicSupervisor
    from .runtime import MailboxFull as MailboxFull
    from .runtime import MapResult as MapResult
    from .runtime import MapStream as MapStream
    from .runtime import Monitor as Monitor
    from .runtime import Namespace as Namespace
    from .runtime import NamespaceError as NamespaceError
    from .runtime import NamespaceSnapshot as NamespaceSnapshot
    from .runtime import NodeSnapshot as NodeSnapshot
    from .runtime import NotRunning as NotRunning
    from .runtime import Process as Process
    from .runtime import Registry as Registry
    from .runtime import Runtime as Runtime
    from .runtime import RuntimeNotRunning as RuntimeNotRunning
    from .runtime import RuntimeSnapshot as RuntimeSnapshot
    from .runtime import ScopeError as ScopeError
    from .runtime import Service as Service
    from .runtime import ServiceExited as ServiceExited
    from .runtime import Shutdown as Shutdown
    from .runtime import StartError as StartError
    from .runtime import Supervision as Supervision
    from .runtime import Supervisor as Supervisor
    from .runtime import SupervisorError as SupervisorError
    from .runtime import Target as Target
    from .runtime import TaskSupervisor as TaskSupervisor
    from .runtime import Via as Via
    from .runtime import call as call
    from .runtime import cast as cast
    from .runtime import cast_nowait as cast_nowait
    from .runtime import count_children as count_children
    from .runtime import current_namespace as current_namespace
    from .runtime import current_process as current_process
    from .runtime import current_runtime as current_runtime
    from .runtime import delete_child as delete_child
    from .runtime import is_normal_exit as is_normal_exit
    from .runtime import monitor as monitor
    from .runtime import render_snapshot as render_snapshot
    from .runtime import reset_namespace as reset_namespace
    from .runtime import resolve as resolve
    from .runtime import restart_child as restart_child
    from .runtime import send as send
    from .runtime import send_nowait as send_nowait
    from .runtime import start_child as start_child
    from .runtime import start_task as start_task
    from .runtime import task_map as task_map
    from .runtime import terminate_child as terminate_child
    from .runtime import use_namespace as use_namespace
    from .runtime import which_children as which_children


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension is (for ``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "scope-ext"}]


__getattr__, __dir__, __all__ = attach(__name__, __file__)
