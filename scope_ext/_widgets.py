"""Live notebook views (anywidget; their JavaScript ships in ``scope_ext/static``, nothing is
fetched from a CDN): the supervision tree, the event timeline, telemetry charts, and a dashboard
of the three.

A view never touches runtime state itself: one :class:`Publisher` thread per runtime thread
reads through the bridge, works out what each view does not have yet and sends one custom
message per batch with only that (changed tree nodes, new events, new points), at the view's
rate (10 Hz by default), and only while the view is visible and not paused. A page that opens
or reconnects says hello and gets everything again. Messages from the page (details, restart,
terminate) may arrive on the main or a subshell thread; they too go through the bridge.

Every display also carries a snapshot (:data:`SNAPSHOT_MIME`, see :func:`snapshot`) that the
JupyterLab extension draws with the views' own code when the live view cannot be shown; the
extension refreshes it from the page's state when the notebook is saved.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import anywidget
import ipywidgets
import traitlets

from ._code_query import QueryResult
from ._display import render_html
from ._event_log import Event
from ._foundation import Foundation
from ._snapshot import NodeSnapshot, RuntimeSnapshot
from ._supervisor import restart_service, supervised, terminate_child
from ._thread import RuntimeThread

log = logging.getLogger("scope_ext.widgets")
STATIC = Path(__file__).with_name("static")
SNAPSHOT_MIME = "application/vnd.scope-ext.snapshot+json"
SNAPSHOT_VERSION = 1  # views.js reads the same version


def snapshot(kind: str, batch: dict[str, Any] | None, **traits: Any) -> dict[str, Any]:
    """A view as a saved notebook keeps it: the batch that rebuilds it from nothing, the model's
    traits, and when it was taken (views.js documents the format)."""
    return {"v": SNAPSHOT_VERSION, "kind": kind, "at": round(time.time(), 3),
            "traits": {name: value for name, value in traits.items() if value is not None}, "batch": batch}


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


class TreeDiff:
    """What a page has of the trees, and the batch that brings it up to date."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        self._sent: dict[str, dict[str, Any]] = {}
        self._started: dict[int, float] = {}

    def next(self, snap: RuntimeSnapshot, reset: bool = False) -> dict[str, Any] | None:
        """Changed and removed nodes since the last batch (all of them with ``reset``), or None."""
        nodes = tree_nodes(snap, self.namespace, self._started)
        before = {} if reset else self._sent
        changed = {path: node for path, node in nodes.items() if before.get(path) != node}
        gone = [path for path in before if path not in nodes]
        self._sent = nodes
        if not (changed or gone or reset):
            return None
        return {"t": "tree", "reset": reset, "set": changed, "del": gone}


def foundations(thread: RuntimeThread) -> list[tuple[str, Foundation]]:
    """Every namespace's Foundation that takes requests, by name (through the bridge)."""
    rt = thread.runtime
    assert rt is not None
    return thread.run_sync(lambda: [(ns.name, ns.foundation) for ns in rt.namespaces()
                                    if ns.foundation is not None and ns.foundation.accepting])


class EventTail:
    """Per namespace, the last event a page has: the next batch is the events stored since, or
    the newest ``history`` of them for a page that has none."""

    def __init__(self, history: int, limit: int) -> None:
        self.history = history
        self.limit = limit
        self._last: dict[str, int] = {}

    def next(self, thread: RuntimeThread, reset: bool = False) -> list[list[Any]]:
        """The events to send now as rows (see :func:`event_row`), oldest first."""
        if reset:
            self._last = {}
        rows: list[list[Any]] = []
        for name, found in foundations(thread):
            after = self._last.get(name)
            if after is None:
                events = thread.run(lambda f=found: f.events.query(limit=self.history, order="desc"))
                events.reverse()
            else:
                events = thread.run(lambda f=found, a=after: f.events.query(after_id=a, limit=self.limit))
            if events:
                self._last[name] = events[-1].id
            elif after is None:
                self._last[name] = -1
            rows.extend(map(event_row, events))
        rows.sort(key=lambda row: row[1])
        return rows


class Feed(Protocol):
    """What the publisher drives: a live view, or the Scope sidebar's feed."""

    closed: bool
    due: float
    interval: float

    def wants_updates(self) -> bool: ...

    def publish(self, reset: bool = False) -> None: ...


class Publisher:
    """The one thread that feeds every live view of a runtime thread (see the module docstring).

    ``paused`` holds every view of the runtime (the sidebar's pause command)."""

    _by_thread: weakref.WeakKeyDictionary[RuntimeThread, Publisher] = weakref.WeakKeyDictionary()

    def __init__(self, thread: RuntimeThread) -> None:
        self.thread = thread
        self.views: weakref.WeakSet[Feed] = weakref.WeakSet()  # type: ignore[type-var]
        self.paused = False
        self._wake = threading.Event()
        self._guard = threading.Lock()
        self._worker: threading.Thread | None = None

    @classmethod
    def of(cls, thread: RuntimeThread) -> Publisher:
        """The publisher of ``thread`` (made on first use)."""
        found = cls._by_thread.get(thread)
        if found is None:
            found = cls._by_thread[thread] = cls(thread)
        return found

    def add(self, view: Feed) -> None:
        with self._guard:
            self.views.add(view)
            if self._worker is None:
                self._worker = threading.Thread(target=self._loop, name="scope_ext-widgets", daemon=True)
                self._worker.start()
        self._wake.set()

    def wake(self) -> None:
        """Look at every view now (after a pause or resume)."""
        self._wake.set()

    def _loop(self) -> None:
        while True:
            with self._guard:
                if not self.views:  # the last view closed; the next one starts a new thread
                    self._worker = None
                    return
            now = time.monotonic()
            wait = 0.5
            for view in list(self.views):
                if view.closed:
                    self.views.discard(view)
                    continue
                if view.due <= now and view.wants_updates():
                    try:
                        view.publish()
                    except Exception:  # a stopping runtime, a closed comm: the next tick tries again
                        log.debug("publishing to %r failed", view, exc_info=True)
                    view.due = now + view.interval
                wait = min(wait, max(0.0, view.due - now))
            self._wake.wait(max(wait, 0.01))
            self._wake.clear()


class LiveView(anywidget.AnyWidget):
    """What every live view shares: rate, pause, visibility, hello, ordered batches, traffic counts."""

    _esm = STATIC / "views.js"
    _css = STATIC / "widgets.css"
    kind = traitlets.Unicode("tree").tag(sync=True)  # which view views.js draws
    interval = traitlets.Float(0.1, min=0.05).tag(sync=True)
    paused = traitlets.Bool(False).tag(sync=True)

    def __init__(self, thread: RuntimeThread, interval: float = 0.1, **traits: Any) -> None:
        super().__init__(interval=interval, **traits)
        self._thread = thread
        self._lock = threading.Lock()
        self.visible = False  # until displayed: nothing is sent for a view no page shows
        self.closed = False
        self.due = 0.0
        self.messages_sent = 0
        self.bytes_sent = 0
        self.on_msg(self._on_message)
        Publisher.of(thread).add(self)

    def close(self) -> None:
        self.closed = True
        super().close()

    def wants_updates(self) -> bool:
        """In sight, not paused (by itself or the whole runtime's), and the runtime runs."""
        return self.visible and not self.paused and not Publisher.of(self._thread).paused and self._thread.running

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        """The next message: what the page does not have yet (everything with ``reset``), or None."""
        raise NotImplementedError

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

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("t")
        if kind == "hello":  # a view rendered; a page with nothing yet gets everything
            if content.get("fresh", True):
                self.publish(reset=True)
            self.visible = True
        elif kind == "visible":
            self.visible = bool(content.get("value"))
        else:
            self.on_request(content)

    def on_request(self, content: dict[str, Any]) -> None:
        """A view's own requests from the page."""

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        """What a saved notebook keeps: a stable text, a rich renderable (for the HTML) and the
        snapshot for ``application/vnd.scope-ext.snapshot+json``."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.visible = True  # displayed: start now, not when the page's hello gets through a busy kernel
        bundle = super()._repr_mimebundle_(**kwargs)
        data = _data_of(bundle)
        text, renderable, snapshot = self.saved()
        data["text/plain"] = text
        data["text/html"] = render_html(renderable)
        data[SNAPSHOT_MIME] = snapshot
        return bundle


class TreeView(LiveView):
    """The supervision trees, live: status colours, restarts, mailbox fill, uptime, restart
    budgets; click a node for its last exception and recent events, and to restart or terminate it."""

    namespace = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    def __init__(self, thread: RuntimeThread, namespace: str | None = None, interval: float = 0.1) -> None:
        self._diff = TreeDiff(namespace)
        super().__init__(thread, interval, namespace=namespace)

    def snapshot(self) -> RuntimeSnapshot:
        """The runtime's snapshot now, through the bridge."""
        rt = self._thread.runtime
        assert rt is not None
        return self._thread.run_sync(rt.snapshot)

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        return self._diff.next(self.snapshot(), reset)

    # -- what comes from the page -----------------------------------------------------------

    def on_request(self, content: dict[str, Any]) -> None:
        kind = content.get("t")
        if kind == "details":
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
            for child_path, sup, child in supervised(ns.root):
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

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        snap = self.snapshot()
        batch = {"t": "tree", "reset": True, "set": tree_nodes(snap, self.namespace), "del": []}
        return repr(snap), snap, snapshot("tree", batch, namespace=self.namespace)


#: Events a timeline sends when a page opens (per namespace), and keeps in the page at most.
TIMELINE_HISTORY = 5_000
TIMELINE_RING = 100_000
SAVED_EVENTS = 500  # a saved notebook keeps this many of the newest (views.js saves as many)
_ERROR_WORDS = ("crash", "fail", "error")
_WARNING_WORDS = ("drop", "pressure", "detached", "degraded", "health", "circuit_breaker", "refused")


def severity(event_type: str) -> str:
    """error, warning or info, read from an event's type."""
    lowered = event_type.lower()
    if any(word in lowered for word in _ERROR_WORDS):
        return "error"
    return "warning" if any(word in lowered for word in _WARNING_WORDS) else "info"


def event_row(event: Event) -> list[Any]:
    """One event for the page: id, time, namespace, type, severity, correlation, parent, source, data."""
    data = _jsonable(event.data)
    text = data if isinstance(data, str) else json.dumps(data)
    return [event.id, round(event.timestamp, 3), event.namespace, event.type, severity(event.type),
            None if event.correlation_id is None else str(event.correlation_id), event.parent_id, event.source,
            text[:300]]


class TimelineView(LiveView):
    """Every namespace's events as they are stored: filters by namespace, type, severity and
    correlation id; click an event's correlation to follow its chain. The page keeps a ring of
    the last 100,000 and draws only the rows in sight."""

    kind = traitlets.Unicode("timeline").tag(sync=True)
    ring = traitlets.Int(TIMELINE_RING, min=100).tag(sync=True)

    def __init__(self, thread: RuntimeThread, interval: float = 0.1) -> None:
        self._tail = EventTail(TIMELINE_HISTORY, TIMELINE_RING)
        super().__init__(thread, interval)

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        rows = self._tail.next(self._thread, reset)
        if not rows and not reset:
            return None
        return {"t": "events", "reset": reset, "items": rows}

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        rows = recent_events(self._thread)
        return ("<event timeline>", recent_events_table(rows[-50:]),
                snapshot("timeline", {"t": "events", "reset": True, "items": rows}, ring=self.ring))


def recent_events(thread: RuntimeThread, count: int = SAVED_EVENTS) -> list[list[Any]]:
    """The newest ``count`` events of each namespace as rows, oldest first."""
    return EventTail(count, 0).next(thread)


def recent_events_table(rows: list[list[Any]]) -> QueryResult:
    """Event rows (see :func:`event_row`) as a table: the timeline's text form."""
    return QueryResult("recent events", ("id", "time", "namespace", "type", "severity", "correlation"),
                       [(r[0], time.strftime("%H:%M:%S", time.localtime(r[1])), *r[2:6]) for r in rows])


class TelemetryView(LiveView):
    """Every metric of every namespace as a live chart of its last ~1,000 points (counters, sums,
    gauges; distributions with p50/p90/p99); the history is replayed when a page opens."""

    kind = traitlets.Unicode("telemetry").tag(sync=True)

    def __init__(self, thread: RuntimeThread, interval: float = 0.1) -> None:
        self._since: dict[str, float] = {}
        super().__init__(thread, interval)

    def _read(self, since: dict[str, float] | None) -> dict[str, dict[str, Any]]:
        rt = self._thread.runtime
        assert rt is not None

        def read() -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for ns in rt.namespaces():
                if ns.foundation is None:
                    continue
                for name, metric in ns.foundation.telemetry.metrics.items():
                    key = f"{ns.name}: {name}"
                    after = None if since is None else since.get(key)
                    fresh = [(t, v) for t, v in metric.points if after is None or t > after]
                    summary = metric.summary()
                    found[key] = {"kind": metric.kind, "points": [[round(t, 3), v] for t, v in fresh],
                                  "summary": [summary.value, summary.observed, summary.p50, summary.p90, summary.p99],
                                  "last": fresh[-1][0] if fresh else after}
            return found

        return self._thread.run_sync(read)

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        metrics = self._read(None if reset else self._since)
        known = set(self._since)
        for key, metric in metrics.items():
            last = metric.pop("last")
            if last is not None:
                self._since[key] = last  # the exact time: the wire's rounded one could resend a point
        fresh = metrics if reset else {key: m for key, m in metrics.items() if m["points"] or key not in known}
        if not fresh and not reset:
            return None
        return {"t": "metrics", "reset": reset, "metrics": fresh}

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        metrics = self._read(None)
        for metric in metrics.values():
            del metric["last"]
        table = QueryResult("telemetry", ("metric", "kind", "value", "observed", "p50", "p90", "p99"),
                            [(key, m["kind"], *m["summary"]) for key, m in sorted(metrics.items())])
        return "<telemetry>", table, snapshot("telemetry", {"t": "metrics", "reset": True, "metrics": metrics})


class ProgressView(LiveView):
    """An index run's progress, live: files done of total, rate, ETA, errors, then its outcome."""

    kind = traitlets.Unicode("progress").tag(sync=True)

    def __init__(self, thread: RuntimeThread, read: Callable[[], dict[str, Any]], title: str,
                 interval: float = 0.2) -> None:
        self._read = read
        self._title = title
        self._last: dict[str, Any] | None = None
        super().__init__(thread, interval)

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        progress = {**self._read(), "title": self._title}
        if progress == self._last and not reset:
            return None
        self._last = progress
        return {"t": "progress", **progress}

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        progress = self._read()
        line = (f"{self._title}: {progress['status']}, {progress['files_done']}/{progress['files_total']} files, "
                f"{progress['errors']} errors")
        return self._title, line, snapshot("progress", {"t": "progress", **progress, "title": self._title})


REFRESH = (("10 Hz", 0.1), ("1 s", 1.0), ("5 s", 5.0))


class Dashboard(ipywidgets.VBox):
    """The tree, the timeline and telemetry in tabs, with a pause control and a refresh selector.
    Only the tab in sight updates: hidden views report themselves invisible."""

    def __init__(self, thread: RuntimeThread, namespace: str | None = None) -> None:
        self.tree = TreeView(thread, namespace)
        self.timeline = TimelineView(thread)
        self.telemetry = TelemetryView(thread)
        self.views: tuple[LiveView, ...] = (self.tree, self.timeline, self.telemetry)
        self.pause = ipywidgets.ToggleButton(value=False, description="pause", icon="pause")
        self.refresh = ipywidgets.Dropdown(options=REFRESH, value=0.1, description="refresh")
        self.tabs = ipywidgets.Tab(children=list(self.views), titles=["supervision", "events", "telemetry"])
        self.pause.observe(self._paused, "value")
        self.refresh.observe(self._interval, "value")
        super().__init__([ipywidgets.HBox([self.pause, self.refresh]), self.tabs])

    def _paused(self, change: dict[str, Any]) -> None:
        for view in self.views:
            view.paused = bool(change["new"])

    def _interval(self, change: dict[str, Any]) -> None:
        for view in self.views:
            view.interval = float(change["new"])

    def close(self) -> None:
        for view in self.views:
            view.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.tree.visible = True  # the first tab is the one in sight
        bundle = super()._repr_mimebundle_(**kwargs)
        data = _data_of(bundle)
        saved = [view.saved() for view in self.views]
        data["text/plain"] = "<scope_ext dashboard>"
        data["text/html"] = "".join(render_html(renderable) for _, renderable, _ in saved)
        data[SNAPSHOT_MIME] = {"v": SNAPSHOT_VERSION, "kind": "dashboard", "at": round(time.time(), 3),
                               "views": [view for _, _, view in saved]}
        return bundle


def _data_of(bundle: Any) -> dict[str, Any]:
    """The mimetype dict of what ``Widget._repr_mimebundle_`` returned (a dict or (data, metadata))."""
    return bundle[0] if isinstance(bundle, tuple) else bundle  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
