"""Snapshots: a consistent, immutable picture of every supervision tree.

Nodes are named tuples (a frozen dataclass costs several times more to build). Taken in one synchronous pass in the runtime's thread (nothing can change meanwhile), from plain
attributes only, so it is cheap enough to take ten times a second with a thousand services. The
widgets, magics and renderers read only this.
"""

from __future__ import annotations

import traceback
from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from ._process import Process, describe_reason

if TYPE_CHECKING:
    from ._namespace import Namespace
    from ._runtime import Runtime
    from ._supervisor import Supervisor, _Child


class ChildSnapshot(NamedTuple):
    """One worker or task child."""

    id: Hashable
    pid: int | None
    kind: str
    status: str
    restarts: int
    mailbox: int
    capacity: int
    handled: int
    uptime: float
    last_error: str | None
    last_traceback: str | None


class SupervisorSnapshot(NamedTuple):
    """A supervisor, its restart budget and its children (workers or nested supervisors)."""

    id: Hashable
    pid: int | None
    kind: str
    status: str
    restarts: int
    mailbox: int
    capacity: int
    handled: int
    uptime: float
    last_error: str | None
    last_traceback: str | None
    strategy: str
    max_restarts: int
    max_seconds: float
    restarts_used: int
    restarts_left: int
    children: tuple[ChildSnapshot | SupervisorSnapshot, ...]


@dataclass(frozen=True, slots=True)
class NamespaceSnapshot:
    """One namespace: its status, its root tree and how many processes and names it has."""

    name: str
    status: str
    processes: int
    names: int
    tree: SupervisorSnapshot | None


@dataclass(frozen=True, slots=True)
class RuntimeSnapshot:
    """Every namespace at one instant of the runtime clock."""

    time: float
    status: str
    uptime: float
    processes: int
    crashes: int
    namespaces: tuple[NamespaceSnapshot, ...]

    def find(self, namespace: str) -> NamespaceSnapshot:
        """The snapshot of one namespace (KeyError if absent)."""
        for ns in self.namespaces:
            if ns.name == namespace:
                return ns
        raise KeyError(namespace)

    def __rich__(self) -> Any:
        from ._render import render_snapshot

        return render_snapshot(self)


@lru_cache(maxsize=512)
def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _error(exc: BaseException | None) -> tuple[str | None, str | None]:
    if exc is None:
        return None, None
    return describe_reason(exc), _format(exc)


def _node(
    child_id: Hashable, kind: str, proc: Process | None, status: str, restarts: int, exc: BaseException | None,
    now: float,
) -> ChildSnapshot | SupervisorSnapshot:
    error, tb = _error(exc)
    if proc is None:
        return ChildSnapshot(child_id, None, kind, status, restarts, 0, 0, 0, 0.0, error, tb)
    mailbox = len(proc.mailbox) if proc.mailbox is not None else 0
    uptime = now - proc.started_at if proc.started_at is not None else 0.0
    sup = proc.service
    if proc.kind == "supervisor" and sup is not None and hasattr(sup, "_children"):
        return _supervisor(child_id, proc, sup, status, restarts, mailbox, uptime, error, tb, now)
    return ChildSnapshot(child_id, proc.pid, proc.kind, status, restarts, mailbox, proc.capacity, proc.handled, uptime, error, tb)


def _supervisor(
    child_id: Hashable, proc: Process, sup: Supervisor, status: str, restarts: int, mailbox: int,
    uptime: float, error: str | None, tb: str | None, now: float,
) -> SupervisorSnapshot:
    sup._expire_restarts(now)
    used = len(sup._restart_times)
    children = tuple(_child(record, now) for record in sup._children)
    return SupervisorSnapshot(
        child_id, proc.pid, "supervisor", status, restarts, mailbox, proc.capacity, proc.handled, uptime,
        error, tb, sup.strategy, sup.max_restarts, sup.max_seconds, used, max(0, sup.max_restarts - used), children,
    )


def _child(record: _Child, now: float) -> ChildSnapshot | SupervisorSnapshot:
    proc = record.proc
    status = record.status
    if proc is not None and status == "running" and proc.status == "starting":
        status = "restarting" if record.restarts else "starting"
    return _node(record.spec.id, record.spec.kind, proc, status, record.restarts, record.last_exception, now)


def _namespace(ns: Namespace, now: float) -> NamespaceSnapshot:
    root = ns.root
    tree = None
    if root is not None and root.alive and root.service is not None and hasattr(root.service, "_children"):
        node = _node(ns.name, "supervisor", root, root.status, 0, root.last_exception, now)
        assert isinstance(node, SupervisorSnapshot)
        tree = node
    return NamespaceSnapshot(ns.name, ns.status, ns.process_count, ns.names.count(), tree)


def take_snapshot(rt: Runtime) -> RuntimeSnapshot:
    """See the module docstring; call from the runtime's thread."""
    now = trio.current_time()
    return RuntimeSnapshot(
        now,
        rt.status,
        now - rt.started_at if rt.started_at is not None else 0.0,
        len(rt._processes),
        len(rt.crashes),
        tuple(_namespace(ns, now) for ns in rt.namespaces()),
    )
