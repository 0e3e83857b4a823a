"""Live notebook views (anywidget; their JavaScript ships in ``scope_ext/static``, nothing is
fetched from a CDN).

A view never touches runtime state itself: one :class:`Publisher` thread per runtime thread
takes snapshots through the bridge, diffs them against what each view already has and sends one
custom message per batch with only what changed, at the view's rate (10 Hz by default), and only
while the view is visible and not paused. Messages from the page (details, restart, terminate)
may arrive on the main or a subshell thread; they too go through the bridge.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ._display import render_html
from ._snapshot import NodeSnapshot, RuntimeSnapshot
from ._supervisor import restart_service, supervised, terminate_child
from ._thread import RuntimeThread

STATIC = Path(__file__).with_name("static")
SNAPSHOT_MIME = "application/vnd.scope-ext.snapshot+json"


def tree_nodes(snap: RuntimeSnapshot, namespace: str | None = None,
               started: dict[int, float] | None = None) -> dict[str, dict[str, Any]]:
    """Every node of the trees as a flat dict keyed by path (``ns/child/...``). Uptime travels as
    a start time (kept per pid in ``started``), so a node changes only when something about it does."""
    known = {} if started is None else started
    seen: dict[int, float] = {}
    now = time.time()
    nodes: dict[str, dict[str, Any]] = {}

    def add(node: NodeSnapshot, path: str, parent: str | None, index: int) -> None:
        entry: dict[str, Any] = {
            "p": parent, "i": index, "id": str(node.id), "kind": node.kind, "status": node.status,
            "restarts": node.restarts, "mailbox": node.mailbox, "capacity": node.capacity, "error": node.last_error,
            "started": None,
        }
        if node.pid is not None:
            entry["started"] = seen[node.pid] = known.get(node.pid, round(now - node.uptime, 1))
        if node.supervision is not None:
            sup = node.supervision
            entry.update(strategy=sup.strategy, used=sup.restarts_used, max=sup.max_restarts, left=sup.restarts_left)
        nodes[path] = entry
        for i, child in enumerate(node.children):
            add(child, f"{path}/{child.id}", path, i)

    for i, ns in enumerate(snap.namespaces):
        if namespace is not None and ns.name != namespace:
            continue
        if ns.root is not None:
            add(ns.root, ns.name, None, i)
    known.clear()
    known.update(seen)
    return nodes


class Publisher:
    """The one thread that feeds every live view of a runtime thread (see the module docstring)."""

    _by_thread: weakref.WeakKeyDictionary[RuntimeThread, Publisher] = weakref.WeakKeyDictionary()

    def __init__(self, thread: RuntimeThread) -> None:
        self.thread = thread
        self.views: weakref.WeakSet[TreeView] = weakref.WeakSet()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None

    @classmethod
    def of(cls, thread: RuntimeThread) -> Publisher:
        """The publisher of ``thread`` (made on first use)."""
        found = cls._by_thread.get(thread)
        if found is None:
            found = cls._by_thread[thread] = cls(thread)
        return found

    def add(self, view: TreeView) -> None:
        self.views.add(view)
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._loop, name="scope_ext-widgets", daemon=True)
            self._worker.start()
        self._wake.set()

    def _loop(self) -> None:
        while self.views:
            now = time.monotonic()
            wait = 0.5
            for view in list(self.views):
                if view.closed:
                    self.views.discard(view)
                    continue
                if view.due <= now and not view.paused and view.visible and self.thread.running:
                    try:
                        view.publish()
                    except Exception:  # a stopped runtime, a closed comm: the next tick tries again
                        pass
                    view.due = now + view.interval
                wait = min(wait, max(0.0, view.due - now))
            self._wake.wait(max(wait, 0.01))
            self._wake.clear()


class TreeView(anywidget.AnyWidget):
    """The supervision trees, live: status colours, restarts, mailbox fill, uptime, restart
    budgets; click a node for its last exception and recent events, and to restart or terminate it."""

    _esm = STATIC / "tree.js"
    _css = STATIC / "widgets.css"
    namespace = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    interval = traitlets.Float(0.1, min=0.05).tag(sync=True)
    paused = traitlets.Bool(False).tag(sync=True)

    def __init__(self, thread: RuntimeThread, namespace: str | None = None, interval: float = 0.1) -> None:
        super().__init__(namespace=namespace, interval=interval)
        self._thread = thread
        self._sent: dict[str, dict[str, Any]] = {}
        self._started: dict[int, float] = {}
        self._lock = threading.Lock()
        self.visible = False  # until a page shows the view: nothing is sent for an undisplayed one
        self.closed = False
        self.due = 0.0
        self.messages_sent = 0
        self.bytes_sent = 0
        self.on_msg(self._on_message)
        Publisher.of(thread).add(self)

    def close(self) -> None:
        self.closed = True
        super().close()

    # -- what goes to the page --------------------------------------------------------------

    def snapshot(self) -> RuntimeSnapshot:
        """The runtime's snapshot now, through the bridge."""
        rt = self._thread.runtime
        assert rt is not None
        return self._thread.run_sync(rt.snapshot)

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        """The next message: what changed since the last one (everything with ``reset``), or None."""
        nodes = tree_nodes(self.snapshot(), self.namespace, self._started)
        before = {} if reset else self._sent
        changed = {path: node for path, node in nodes.items() if before.get(path) != node}
        gone = [path for path in before if path not in nodes]
        self._sent = nodes
        if not (changed or gone or reset):
            return None
        return {"t": "tree", "reset": reset, "set": changed, "del": gone}

    def publish(self, reset: bool = False) -> None:
        """Send the next batch, if there is one (one at a time: batches reach the page in order)."""
        with self._lock:
            message = self.batch(reset)
            if message is not None:
                self._post(message)

    def _post(self, message: dict[str, Any]) -> None:
        self.send(message)
        self.messages_sent += 1
        self.bytes_sent += len(json.dumps(message))

    # -- what comes from the page -----------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("t")
        if kind == "hello":
            self.publish(reset=True)
            self.visible = True
        elif kind == "visible":
            self.visible = bool(content.get("value"))
        elif kind == "details":
            self._post(self.details(str(content.get("path"))))
        elif kind == "action" and content.get("action") in ("restart", "terminate"):
            self._post(self.act(str(content["action"]), str(content.get("path"))))

    def details(self, path: str) -> dict[str, Any]:
        """Last exception (with traceback) and recent events of the node at ``path``."""
        name, *ids = path.split("/")
        snap = self.snapshot()
        node = next((ns.root for ns in snap.namespaces if ns.name == name), None)
        for part in ids:
            node = next((c for c in node.children if str(c.id) == part), None) if node is not None else None
        events: list[dict[str, Any]] = []
        rt = self._thread.runtime
        found = self._thread.run_sync(lambda: rt.namespace(name).foundation) \
            if rt is not None and name in {n.name for n in snap.namespaces} else None
        if found is not None and node is not None:
            source = str(node.id)
            recent = self._thread.run(lambda: found.events.query(
                where=lambda data: isinstance(data, dict) and data.get("id") == source, limit=20, order="desc"))
            events = [{"id": e.id, "type": e.type, "data": _jsonable(e.data)} for e in recent]
        return {"t": "details", "path": path, "error": None if node is None else node.last_error,
                "traceback": None if node is None else node.last_traceback, "events": events}

    def act(self, action: str, path: str) -> dict[str, Any]:
        """Restart or terminate the service at ``path`` (in the runtime thread)."""
        name, *ids = path.split("/")
        rt = self._thread.runtime
        if rt is None or not ids:
            return {"t": "action", "ok": False, "message": f"cannot {action} {path}"}

        def find() -> tuple[Any, Any] | None:
            ns = rt.namespace(name)
            for child_path, sup, child in supervised(ns.root) if ns.root is not None else ():
                if list(child_path) == ids:
                    return sup, child
            return None

        try:
            found = self._thread.run_sync(find)
            if found is None:
                return {"t": "action", "ok": False, "message": f"{path} is not a supervised child"}
            self._thread.run(restart_service if action == "restart" else terminate_child, *found)
        except Exception as exc:
            return {"t": "action", "ok": False, "message": f"{action} {path} failed: {exc}"}
        return {"t": "action", "ok": True, "message": f"{path}: {action} done"}

    # -- saved notebooks --------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data: dict[str, Any] = bundle[0] if isinstance(bundle, tuple) else bundle  # type: ignore[assignment]
        snap = self.snapshot()
        data["text/plain"] = repr(snap)
        data["text/html"] = render_html(snap)
        data[SNAPSHOT_MIME] = {"kind": "tree", "nodes": tree_nodes(snap, self.namespace)}
        return bundle


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
