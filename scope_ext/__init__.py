"""scope_ext: an OTP-style supervision runtime on trio, for scripts, tests and Jupyter kernels."""

from ._exceptions import (
    AlreadyRegistered,
    CallError,
    CallTimeout,
    MailboxFull,
    NamespaceError,
    NotRunning,
    RuntimeNotRunning,
    ScopeError,
    ServiceExited,
    StartError,
    SupervisorError,
)
from ._ipython import load_ipython_extension, runtime_thread, unload_ipython_extension
from ._namespace import Namespace
from ._process import (
    KILLED,
    NOPROC,
    NORMAL,
    SHUTDOWN,
    Caller,
    Down,
    Monitor,
    Process,
    Shutdown,
    current_process,
    is_normal_exit,
)
from ._registry import ANY, Registry, Via, current_namespace, current_runtime
from ._render import render_snapshot
from ._runtime import CrashReport, Runtime, open_runtime, run
from ._service import NOREPLY, Service, Target, call, cast, cast_nowait, monitor, resolve, send, send_nowait
from ._snapshot import NamespaceSnapshot, NodeSnapshot, RuntimeSnapshot, Supervision
from ._supervisor import (
    ChildCounts,
    ChildInfo,
    ChildSpec,
    DynamicSupervisor,
    Supervisor,
    count_children,
    delete_child,
    restart_child,
    start_child,
    terminate_child,
    which_children,
)
from ._task_supervisor import MapResult, MapStream, TaskSupervisor, start_task, task_map
from ._thread import RuntimeThread

__all__ = [
    "ANY", "KILLED", "NOPROC", "NOREPLY", "NORMAL", "SHUTDOWN",
    "AlreadyRegistered", "CallError", "CallTimeout", "Caller", "ChildCounts", "ChildInfo",
    "ChildSpec", "CrashReport", "Down", "DynamicSupervisor", "MailboxFull",
    "MapResult", "MapStream", "Monitor", "Namespace", "NamespaceError", "NamespaceSnapshot", "NodeSnapshot",
    "NotRunning", "Process", "Registry", "Runtime", "RuntimeNotRunning", "RuntimeSnapshot",
    "RuntimeThread", "ScopeError", "Service", "ServiceExited", "Shutdown", "StartError",
    "Supervisor", "SupervisorError", "Supervision", "Target", "TaskSupervisor", "Via",
    "call", "cast", "cast_nowait", "count_children", "current_namespace", "current_process",
    "current_runtime", "delete_child", "is_normal_exit", "load_ipython_extension", "monitor",
    "open_runtime", "render_snapshot", "resolve", "restart_child", "run", "runtime_thread", "send", "send_nowait",
    "start_child", "start_task", "task_map", "terminate_child", "unload_ipython_extension",
    "which_children",
]
