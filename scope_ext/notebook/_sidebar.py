"""The kernel's end of JupyterLab's Scope sidebar (``labextension/``).

The sidebar opens a comm to :data:`TARGET` and gets, live, what the runtime of this kernel is
doing: its namespaces with their health, every service's status and restarts (the tree's nodes),
and recent events; everything when it opens, then only what changed. From the page come
``visible`` and ``pause`` (hold or resume every live view of the runtime, the sidebar included).

``%load_ext scope_ext`` registers the target and then opens (and at once closes) a comm to the
page's :data:`ANNOUNCE` target, so a sidebar that found no scope_ext in this kernel connects
without polling. The feed rides the widgets' :class:`~scope_ext.notebook._feeds.Publisher` thread: it
reads through the bridge and sends only what changed, at most twice a second.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..foundation_layer._foundation import find_foundation
from ..foundation_layer._health import assess
from ..runtime._runtime import Runtime
from ..runtime._thread import RuntimeThread
from ._feeds import EventTail, Publisher, RequestGate, TreeDiff

log = logging.getLogger("scope_ext.sidebar")
TARGET = "scope_ext.sidebar"
ANNOUNCE = "scope_ext.announce"
#: Events a sidebar gets when it connects; it keeps as many (the page's ring).
SIDEBAR_EVENTS = 50


class SidebarFeed:
    """One connected sidebar: what it has been sent, and the next message that updates it."""

    interval = 0.5

    def __init__(self, comm: Any, thread: RuntimeThread) -> None:
        self.comm = comm
        self.thread = thread
        self.publisher = Publisher.of(thread)
        self.closed = False
        self.visible = True
        self.due = 0.0
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None  # the runtime the page's state comes from
        self._namespaces: list[dict[str, Any]] | None = None
        self._tree = TreeDiff()
        self._events = EventTail(SIDEBAR_EVENTS, SIDEBAR_EVENTS * 4)
        self._gate = RequestGate()
        comm.on_msg(self._on_message)
        comm.on_close(self._on_close)
        self.publish(reset=True)  # a new sidebar gets everything, paused or not
        self.publisher.add(self)

    def wants_updates(self) -> bool:
        return self.visible and not self.closed and not self.publisher.paused

    def publish(self, reset: bool = False) -> None:
        """Send what changed since the last message (everything with ``reset``), if anything did."""
        with self._lock:
            if self.publisher.paused and not reset:  # paused while this call waited for the lock
                return
            message = self.batch(reset)
            if message is not None:
                self.comm.send(message)

    def tell_paused(self) -> None:
        """Send the pause state now, after any message already on its way."""
        with self._lock:
            self.comm.send({"t": "paused", "value": self.publisher.paused})

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        """The next message: ``{t: "state", reset, runtime, paused, namespaces?, tree, events}``.

        ``namespaces`` comes only when it changed; ``tree`` is a tree batch (see
        :class:`~scope_ext.notebook._feeds.TreeDiff`) or None; ``events`` are new event rows."""
        runtime = self.thread.runtime if self.thread.running else None
        if runtime is not self._runtime:  # started, stopped or restarted: the page starts over
            reset = True
            self._runtime = runtime
        if reset:
            self._namespaces = None
            self._tree = TreeDiff()
        base = {"t": "state", "reset": reset, "paused": self.publisher.paused}
        if runtime is None:
            return {**base, "runtime": "stopped", "namespaces": [], "tree": None, "events": []} if reset else None
        status, nodes, namespaces = self.publisher.reads.get(
            ("sidebar", id(runtime)), lambda: _state(self.thread, runtime)
        )
        message: dict[str, Any] = {
            **base,
            "runtime": status,
            "tree": self._tree.diff(nodes, reset),
            "events": self._events.next(self.thread, reset, self.publisher.reads),
        }
        if namespaces != self._namespaces:
            message["namespaces"] = self._namespaces = namespaces
        if not reset and message["tree"] is None and not message["events"] and "namespaces" not in message:
            return None
        return message

    def _on_message(self, msg: dict[str, Any]) -> None:
        content = msg.get("content", {}).get("data") if isinstance(msg, dict) else None
        if not self._gate.admit(content, self.comm.send):
            return
        kind = content["t"]
        if kind == "visible":
            self.visible = bool(content.get("value"))
        elif kind == "pause":
            self.publisher.paused = bool(content.get("value"))
            for feed in list(self.publisher.views):  # every sidebar shows the new state at once
                if isinstance(feed, SidebarFeed) and not feed.closed:
                    feed.tell_paused()
            self.publisher.wake()
        else:
            self.comm.send({"t": "error", "message": f"the sidebar's kernel end knows no message {kind!r}"})

    def _on_close(self, _msg: Any) -> None:
        self.closed = True


def _state(thread: RuntimeThread, runtime: Runtime) -> tuple[str, dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """What every sidebar of ``thread`` is sent this round: the runtime's status, the trees'
    nodes and the namespaces (read once for all of them through :class:`SharedReads`)."""
    snap, namespaces = thread.run_sync(lambda: (runtime.snapshot(), _namespaces(runtime)))
    return snap.status, Publisher.of(thread).tree.nodes(snap), namespaces


def _namespaces(runtime: Runtime) -> list[dict[str, Any]]:
    """Each namespace's name, status, processes and health (overall and per service); runs in
    the runtime thread."""
    found = []
    for ns in runtime.namespaces():
        f = find_foundation(ns)
        report = assess(f) if f is not None and ns.status == "running" else None  # now, not the last report
        overall = report.overall if report is not None else "critical" if f is not None else None
        found.append(
            {
                "name": ns.name,
                "status": ns.status,
                "processes": ns.process_count,
                "health": overall,
                "services": [] if report is None else [[s.name, s.status, s.detail] for s in report.services],
            }
        )
    return found


def register(shell: Any, thread: RuntimeThread) -> bool:
    """Let sidebars connect to this kernel and tell open ones that scope_ext is here; returns
    whether a page can connect at all (False outside a kernel, e.g. in terminal IPython)."""
    manager = getattr(getattr(shell, "kernel", None), "comm_manager", None)
    if manager is None:
        return False
    manager.register_target(TARGET, lambda comm, _msg: SidebarFeed(comm, thread))
    import comm as comms

    comms.create_comm(target_name=ANNOUNCE, data={}).close()
    return True


def unregister(shell: Any, thread: RuntimeThread) -> None:
    """Close every sidebar's comm (their pages show scope_ext as not loaded) and drop the target."""
    manager = getattr(getattr(shell, "kernel", None), "comm_manager", None)
    if manager is None:
        return
    manager.unregister_target(TARGET, None)
    for feed in list(Publisher.of(thread).views):
        if isinstance(feed, SidebarFeed) and not feed.closed:
            feed.closed = True
            feed.comm.close()
