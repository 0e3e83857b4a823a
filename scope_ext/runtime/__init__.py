"""The runtime: processes, services, supervisors, namespaces and registries on trio, run in a task
(``open_runtime``, ``run``) or on a thread of its own (``RuntimeThread``). It knows no layer above it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from ._exceptions import AlreadyRegistered as AlreadyRegistered
    from ._exceptions import CallError as CallError
    from ._exceptions import CallTimeout as CallTimeout
    from ._exceptions import MailboxFull as MailboxFull
    from ._exceptions import NamespaceError as NamespaceError
    from ._exceptions import NotRunning as NotRunning
    from ._exceptions import RuntimeNotRunning as RuntimeNotRunning
    from ._exceptions import ScopeError as ScopeError
    from ._exceptions import ServiceExited as ServiceExited
    from ._exceptions import StartError as StartError
    from ._exceptions import SupervisorError as SupervisorError
    from ._namespace import Namespace as Namespace
    from ._process import KILLED as KILLED
    from ._process import NOPROC as NOPROC
    from ._process import NORMAL as NORMAL
    from ._process import SHUTDOWN as SHUTDOWN
    from ._process import Caller as Caller
    from ._process import CrashReport as CrashReport
    from ._process import Down as Down
    from ._process import Monitor as Monitor
    from ._process import Process as Process
    from ._process import Refused as Refused
    from ._process import Shutdown as Shutdown
    from ._process import current_process as current_process
    from ._process import is_normal_exit as is_normal_exit
    from ._registry import ANY as ANY
    from ._registry import Registry as Registry
    from ._registry import Via as Via
    from ._runtime import Runtime as Runtime
    from ._runtime import StartHook as StartHook
    from ._runtime import current_namespace as current_namespace
    from ._runtime import current_runtime as current_runtime
    from ._runtime import open_runtime as open_runtime
    from ._runtime import reset_namespace as reset_namespace
    from ._runtime import run as run
    from ._runtime import use_namespace as use_namespace
    from ._service import NOREPLY as NOREPLY
    from ._service import Service as Service
    from ._service import Target as Target
    from ._service import call as call
    from ._service import cast as cast
    from ._service import cast_nowait as cast_nowait
    from ._service import monitor as monitor
    from ._service import resolve as resolve
    from ._service import send as send
    from ._service import send_nowait as send_nowait
    from ._snapshot import NamespaceSnapshot as NamespaceSnapshot
    from ._snapshot import NodeSnapshot as NodeSnapshot
    from ._snapshot import RuntimeSnapshot as RuntimeSnapshot
    from ._snapshot import Supervision as Supervision
    from ._snapshot import render_snapshot as render_snapshot
    from ._supervisor import ChildCounts as ChildCounts
    from ._supervisor import ChildInfo as ChildInfo
    from ._supervisor import ChildSpec as ChildSpec
    from ._supervisor import ChildStatus as ChildStatus
    from ._supervisor import DynamicSupervisor as DynamicSupervisor
    from ._supervisor import Supervisor as Supervisor
    from ._supervisor import count_children as count_children
    from ._supervisor import delete_child as delete_child
    from ._supervisor import restart_child as restart_child
    from ._supervisor import start_child as start_child
    from ._supervisor import terminate_child as terminate_child
    from ._supervisor import which_children as which_children
    from ._task_supervisor import MapResult as MapResult
    from ._task_supervisor import MapStream as MapStream
    from ._task_supervisor import TaskSupervisor as TaskSupervisor
    from ._task_supervisor import start_task as start_task
    from ._task_supervisor import task_map as task_map
    from ._thread import RuntimeThread as RuntimeThread


__getattr__, __dir__, __all__ = attach(__name__, __file__)
