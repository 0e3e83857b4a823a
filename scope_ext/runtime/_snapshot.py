"""Snapshots: a consistent, immutable picture of every supervision tree, and its rich rendering.

Taken in one synchronous pass in the runtime's thread (nothing can change meanwhile), from plain
attributes only, so it is cheap enough to take ten times a second with a thousand services. Nodes
are named tuples (a frozen dataclass costs several times more to build). The widgets, magics and
renderers read only this.
"""

from __future__ import annotations

import traceback
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from .._display import Displayable
from ._process import Process, describe_reason
from ._supervisor import DynamicSupervisor

if TYPE_CHECKING:
    from rich.console import Group
    from rich.text import Text
    from rich.tree import Tree

    from ._namespace import Namespace
    from ._supervisor import Supervisor, _Child


class Supervision(NamedTuple):
    """What a supervisor node adds: its strategy and restart budget right now."""

    strategy: str
    max_restarts: int
    max_seconds: float
    restarts_used: int
    restarts_left: int
    #: A DynamicSupervisor (or TaskSupervisor): its children are forgotten when they stop.
    dynamic: bool = False


class NodeSnapshot(NamedTuple):
    """One process in a tree: a worker, a task, or a supervisor (``supervision`` and ``children``)."""

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
    supervision: Supervision | None = None
    children: tuple[NodeSnapshot, ...] = ()
    #: Restarts in the last :data:`RECENT` seconds (a crash loop shows here, not in ``status``).
    recent_restarts: int = 0


@dataclass(frozen=True, slots=True)
class NamespaceSnapshot:
    """One namespace: its status, its root supervisor's node and how many processes and names it has."""

    name: str
    status: str
    processes: int
    names: int
    root: NodeSnapshot | None


@dataclass(frozen=True, slots=True, repr=False)
class RuntimeSnapshot(Displayable):
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
        return render_snapshot(self)

    def __repr__(self) -> str:
        return f"<RuntimeSnapshot {self.status}: {', '.join(ns.name for ns in self.namespaces)}>"


#: Seconds over which restarts count as recent.
RECENT = 60.0


@lru_cache(maxsize=512)
def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _node(
    node_id: Hashable,
    kind: str,
    proc: Process | None,
    status: str,
    restarts: int,
    exc: BaseException | None,
    now: float,
) -> NodeSnapshot:
    error, tb = (None, None) if exc is None else (describe_reason(exc), _format(exc))
    if proc is None:
        return NodeSnapshot(node_id, None, kind, status, restarts, 0, 0, 0, 0.0, error, tb)
    mailbox = len(proc.mailbox) if proc.mailbox is not None else 0
    uptime = now - proc.started_at if proc.started_at is not None else 0.0
    sup: Supervisor | None = proc.service if proc.kind == "supervisor" else None
    supervision: Supervision | None = None
    children: tuple[NodeSnapshot, ...] = ()
    if sup is not None and hasattr(sup, "_children"):  # a supervisor past the start of its init
        sup._expire_restarts(now)
        used = len(sup._restart_times)
        supervision = Supervision(
            sup.strategy,
            sup.max_restarts,
            sup.max_seconds,
            used,
            max(0, sup.max_restarts - used),
            isinstance(sup, DynamicSupervisor),
        )
        children = tuple(_child(record, now) for record in sup._children)
    return NodeSnapshot(
        node_id,
        proc.pid,
        proc.kind,
        status,
        restarts,
        mailbox,
        proc.capacity,
        proc.handled,
        uptime,
        error,
        tb,
        supervision,
        children,
    )


def _child(record: _Child, now: float) -> NodeSnapshot:
    proc = record.proc
    status = record.status
    if proc is not None and status == "running" and proc.status == "starting":
        status = "restarting" if record.restarts else "starting"
    node = _node(record.spec.id, record.spec.kind, proc, status, record.restarts, record.last_exception, now)
    recent = sum(1 for at in record.restarted_at if at > now - RECENT)
    return node._replace(recent_restarts=recent) if recent else node


def _namespace(ns: Namespace, now: float) -> NamespaceSnapshot:
    root = ns.root
    node = None
    if root is not None and root.alive:
        node = _node(ns.name, "supervisor", root, root.status, 0, root.last_exception, now)
    return NamespaceSnapshot(ns.name, ns.status, ns.process_count, ns.names.count(), node)


def take_snapshot(
    status: str, started_at: float | None, processes: int, crashes: int, namespaces: Iterable[Namespace]
) -> RuntimeSnapshot:
    """See the module docstring; call from the runtime's thread (``Runtime.snapshot`` does)."""
    now = trio.current_time()
    return RuntimeSnapshot(
        now,
        status,
        now - started_at if started_at is not None else 0.0,
        processes,
        crashes,
        tuple(_namespace(ns, now) for ns in namespaces),
    )


# ----- rich renderables: the live tree the demo and ``%scope tree`` print -------------------------

STATUS_STYLE = {
    "running": "green",
    "starting": "cyan",
    "restarting": "yellow",
    "stopping": "magenta",
    "stopped": "dim",
    "down": "bold red",
    "dropped": "dim",
}


def _uptime(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _label(node: NodeSnapshot) -> Text:
    from rich.text import Text

    text = Text()
    text.append(str(node.id), style="bold")
    if node.pid is not None:
        text.append(f" <{node.pid}>", style="dim")
    text.append(f" {node.status}", style=STATUS_STYLE.get(node.status, ""))
    sup = node.supervision
    if sup is not None:
        text.append(f"  {sup.strategy}", style="blue")
        budget_style = "red" if sup.restarts_left == 0 else "dim"
        text.append(f"  budget {sup.restarts_used}/{sup.max_restarts} in {sup.max_seconds:g}s", style=budget_style)
    else:
        text.append(f"  {node.kind}", style="dim")
        if node.capacity:
            text.append(f"  mailbox {node.mailbox}/{node.capacity}", style="dim")
        text.append(f"  handled {node.handled}", style="dim")
    if node.restarts:
        text.append(f"  restarts {node.restarts}", style="yellow")
    if node.recent_restarts:
        text.append(f" ({node.recent_restarts} in the last minute)", style="bold red")
    if node.pid is not None:
        text.append(f"  up {_uptime(node.uptime)}", style="dim")
    if node.last_error:
        text.append(f"  last error: {node.last_error}", style="red")
    return text


def _size(node: NodeSnapshot) -> int:
    return 1 + sum(_size(child) for child in node.children)


def _add(tree: Tree, node: NodeSnapshot, room: list[int]) -> int:
    """Add ``node`` and what is below it while ``room[0]`` lasts; returns how many were left out."""
    if room[0] <= 0:
        return _size(node)
    room[0] -= 1
    branch = tree.add(_label(node))
    return sum(_add(branch, child, room) for child in node.children)


def render_namespace(ns: NamespaceSnapshot, room: list[int] | None = None) -> Tree:
    """One namespace as a rich Tree: every node, or as many as ``room[0]`` allows (it is used up)
    with a last line that says how many were left out."""
    from rich.text import Text
    from rich.tree import Tree

    head = Text()
    head.append(ns.name, style="bold underline")
    head.append(f" {ns.status}", style=STATUS_STYLE.get(ns.status, ""))
    head.append(f"  {ns.processes} processes, {ns.names} names", style="dim")
    if ns.root is not None and ns.root.supervision is not None:
        sup = ns.root.supervision
        head.append(f"  root budget {sup.restarts_used}/{sup.max_restarts} in {sup.max_seconds:g}s", style="dim")
    tree = Tree(head)
    if ns.root is not None:
        space = [1 << 62] if room is None else room
        left_out = sum(_add(tree, child, space) for child in ns.root.children)
        if left_out:
            tree.add(Text(f"… and {left_out} more (the live view shows them all)", style="dim"))
        if not ns.root.children:
            tree.add(Text("(empty)", style="dim"))
    return tree


def render_snapshot(snapshot: RuntimeSnapshot, limit: int | None = None) -> Group:
    """Every namespace of a runtime snapshot, with a one-line header (rich renderables; rich is
    imported only here); at most ``limit`` nodes in all, if given (a fallback for a page that
    cannot show the live view needs no 10,000 lines, and drawing them costs seconds)."""
    from rich.console import Group
    from rich.text import Text

    header = Text()
    header.append("scope_ext runtime ", style="bold")
    header.append(snapshot.status, style=STATUS_STYLE.get(snapshot.status, ""))
    header.append(
        f"  up {_uptime(snapshot.uptime)}, {snapshot.processes} processes, {snapshot.crashes} crashes", style="dim"
    )
    room = None if limit is None else [limit]
    return Group(header, *(render_namespace(ns, room) for ns in snapshot.namespaces))
