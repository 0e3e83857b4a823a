"""Rich renderables for snapshots: the live tree the demo and ``%scope tree`` print."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from ._snapshot import NamespaceSnapshot, NodeSnapshot, RuntimeSnapshot

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
    if node.pid is not None:
        text.append(f"  up {_uptime(node.uptime)}", style="dim")
    if node.last_error:
        text.append(f"  last error: {node.last_error}", style="red")
    return text


def _add(tree: Tree, node: NodeSnapshot) -> None:
    branch = tree.add(_label(node))
    for child in node.children:
        _add(branch, child)


def render_namespace(ns: NamespaceSnapshot) -> Tree:
    """One namespace as a rich Tree."""
    head = Text()
    head.append(ns.name, style="bold underline")
    head.append(f" {ns.status}", style=STATUS_STYLE.get(ns.status, ""))
    head.append(f"  {ns.processes} processes, {ns.names} names", style="dim")
    if ns.root is not None and ns.root.supervision is not None:
        sup = ns.root.supervision
        head.append(f"  root budget {sup.restarts_used}/{sup.max_restarts} in {sup.max_seconds:g}s", style="dim")
    tree = Tree(head)
    if ns.root is not None:
        for child in ns.root.children:
            _add(tree, child)
        if not ns.root.children:
            tree.add(Text("(empty)", style="dim"))
    return tree


def render_snapshot(snapshot: RuntimeSnapshot) -> Group:
    """Every namespace of a runtime snapshot, with a one-line header."""
    header = Text()
    header.append("scope_ext runtime ", style="bold")
    header.append(snapshot.status, style=STATUS_STYLE.get(snapshot.status, ""))
    header.append(
        f"  up {_uptime(snapshot.uptime)}, {snapshot.processes} processes, {snapshot.crashes} crashes", style="dim"
    )
    return Group(header, *(render_namespace(ns) for ns in snapshot.namespaces))
