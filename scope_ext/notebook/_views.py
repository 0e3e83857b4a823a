"""Live notebook views (anywidget; their JavaScript ships in ``scope_ext/notebook/static``,
nothing is fetched from a CDN): the supervision tree, the event timeline, telemetry charts, and a
dashboard of the three.

A view never touches runtime state itself: one :class:`~._feeds.Publisher` thread per runtime thread
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

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets

from .._display import render_html
from .._result_table import QueryResult
from ..foundation_layer._event_log import json_safe
from ..foundation_layer._foundation import find_foundation
from ..foundation_layer._telemetry import TELEMETRY_COLUMNS
from ..runtime._exceptions import ScopeError
from ..runtime._snapshot import RuntimeSnapshot, render_snapshot
from ..runtime._supervisor import restart_service, supervised, terminate_child
from ..runtime._thread import RuntimeThread
from ._feeds import (
    SAVED_EVENTS,
    SNAPSHOT_MIME,
    SNAPSHOT_VERSION,
    TIMELINE_HISTORY,
    TIMELINE_RING,
    EventTail,
    Publisher,
    RequestGate,
    TreeDiff,
    in_parts,
    snapshot,
)

log = logging.getLogger("scope_ext.widgets")
STATIC = Path(__file__).with_name("static")
#: Nodes the tree's HTML fallback draws (for pages without the live view; saving a notebook in
#: JupyterLab replaces it with the page's whole last state).
FALLBACK_NODES = 60


VENDORED = "./vendor/uplot.js"  # views.js's one import, a file beside it that ends in `export default uPlot;`


def bundled_views(charts: bool = False) -> tuple[str, str]:
    """views.js and widgets.css as the single module and stylesheet anywidget loads. With
    ``charts``, views.js's import of the vendored uPlot is replaced by uPlot's own code (a module
    loaded from a string cannot import a file beside it) and uPlot's stylesheet joins ours;
    without, by nothing (the views that draw no charts load 50 kB less)."""
    views = (STATIC / "views.js").read_text(encoding="utf-8")
    line = f'import uPlot from "{VENDORED}";'
    if line not in views:
        raise RuntimeError("scope_ext's views.js does not import uPlot as bundled_views expects")
    css = (STATIC / "widgets.css").read_text(encoding="utf-8")
    if not charts:
        return views.replace(line, "const uPlot = null;  // this bundle draws no charts", 1), css
    uplot = (STATIC / "vendor" / "uplot.js").read_text(encoding="utf-8").rstrip()
    if not uplot.endswith("export default uPlot;"):
        raise RuntimeError("scope_ext's vendored uPlot does not end as bundled_views expects")
    return views.replace(line, uplot.removesuffix("export default uPlot;"), 1), (
        (STATIC / "vendor" / "uplot.css").read_text(encoding="utf-8") + "\n" + css
    )


class LiveView(anywidget.AnyWidget):
    """What every live view shares: rate, pause, visibility, hello, ordered batches."""

    _esm, _css = bundled_views()
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
        self._began = False  # whether a whole batch went out yet
        self._gate = RequestGate()
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
        """Send the next batch, if there is one (one at a time: batches reach the page in order).
        The first is always whole (``reset``): a page applies changes only to a whole state."""
        with self._lock:
            message = self.batch(reset or not self._began)
            if message is not None:
                for part in in_parts(message):
                    self.send(part)
                self._began = True

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not self._gate.admit(content, self._tell):
            return
        try:
            kind = content["t"]
            if kind == "hello":  # a view rendered; a page with nothing yet gets everything
                if content.get("fresh", True):
                    self.publish(reset=True)
                self.visible = True
            elif kind == "visible":
                self.visible = bool(content.get("value"))
            else:
                self.on_request(content)
        except Exception as exc:  # a stopped runtime, a dead service: an answer, never a traceback
            log.debug("%r could not answer %r", self, content, exc_info=True)
            self._answer_error(f"{type(exc).__name__}: {exc}")

    def _answer_error(self, message: str) -> None:
        self._tell({"t": "error", "message": message})

    def _tell(self, message: dict[str, Any]) -> None:
        try:
            self.send(message)
        except Exception:  # the comm is closed: nobody to tell
            log.debug("could not tell the page %r", message, exc_info=True)

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
        """The runtime's snapshot now, through the bridge (shared with the other views this round)."""
        rt = self._thread.runtime
        assert rt is not None
        reads = Publisher.of(self._thread).reads
        return reads.get(("snapshot", id(rt)), lambda: self._thread.run_sync(rt.snapshot))  # type: ignore[no-any-return]

    def batch(self, reset: bool = False) -> dict[str, Any] | None:
        return self._diff.next(self.snapshot(), reset)

    # -- what comes from the page -----------------------------------------------------------

    def on_request(self, content: dict[str, Any]) -> None:
        kind = content.get("t")
        if kind == "details":
            self.send(self.details(str(content.get("path"))))
        elif kind == "action" and content.get("action") in ("restart", "terminate"):
            self.send(self.act(str(content["action"]), str(content.get("path"))))
        else:
            self._answer_error(f"a tree view answers details and actions, not {kind!r}")

    def _outside(self, name: str) -> str | None:
        """Why ``name`` is not this view's to act on, if it is not."""
        if self.namespace is not None and name != self.namespace:
            return f"this view shows namespace {self.namespace!r}, not {name!r}"
        return None

    def details(self, path: str) -> dict[str, Any]:
        """Last exception (with traceback) and recent events of the node at ``path``."""
        name, *ids = path.split("/")
        outside = self._outside(name)
        if outside is not None:
            return {"t": "details", "path": path, "error": None, "traceback": None, "events": [], "note": outside}
        snap = self.snapshot()
        node = next((ns.root for ns in snap.namespaces if ns.name == name), None)
        for part in ids:
            node = next((c for c in node.children if str(c.id) == part), None) if node is not None else None
        events: list[dict[str, Any]] = []
        rt = self._thread.runtime
        found = (
            self._thread.run_sync(lambda: find_foundation(rt.namespace(name)))
            if rt is not None and name in {n.name for n in snap.namespaces}
            else None
        )
        note = None
        if found is not None and node is not None:
            source = str(node.id)
            try:
                recent = self._thread.run(
                    lambda: found.events.query(
                        where=lambda data: isinstance(data, dict) and data.get("id") == source, limit=20, order="desc"
                    )
                )
                events = [{"id": e.id, "type": e.type, "data": json_safe(e.data)} for e in recent]
            except ScopeError as exc:  # the event store is down or restarting: the rest still answers
                note = f"recent events unavailable: {exc}"
        return {
            "t": "details",
            "path": path,
            "error": None if node is None else node.last_error,
            "traceback": None if node is None else node.last_traceback,
            "events": events,
            "note": note,
        }

    def act(self, action: str, path: str) -> dict[str, Any]:
        """Restart or terminate the service at ``path`` (in the runtime thread)."""

        def answer(ok: bool, message: str) -> dict[str, Any]:
            return {"t": "action", "path": path, "action": action, "ok": ok, "message": message}

        name, *ids = path.split("/")
        rt = self._thread.runtime
        outside = self._outside(name)
        if outside is not None:
            return answer(False, outside)
        if rt is None or not ids:
            return answer(False, f"cannot {action} {path}")

        def find() -> tuple[Any, Any] | None:
            ns = rt.namespace(name)
            for child_path, sup, child in supervised(ns.root):
                if list(child_path) == ids:
                    return sup, child
            return None

        try:
            found = self._thread.run_sync(find)
            if found is None:
                return answer(False, f"{path} is not a supervised child")
            self._thread.run(restart_service if action == "restart" else terminate_child, *found)
        except Exception as exc:
            return answer(False, f"{action} {path} failed: {exc}")
        return answer(True, f"{path}: {action} done")

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        snap = self.snapshot()
        batch = self._diff.next(snap, reset=True)  # the first batch after it reuses these nodes
        return repr(snap), render_snapshot(snap, FALLBACK_NODES), snapshot("tree", batch, namespace=self.namespace)


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
        rows = self._tail.next(self._thread, reset, Publisher.of(self._thread).reads)
        if not rows and not reset:
            return None
        return {"t": "events", "reset": reset, "items": rows}

    def saved(self) -> tuple[str, Any, dict[str, Any]]:
        rows = recent_events(self._thread)
        return (
            "<event timeline>",
            recent_events_table(rows[-50:]),
            snapshot("timeline", {"t": "events", "reset": True, "items": rows}, ring=self.ring),
        )


def recent_events(thread: RuntimeThread, count: int = SAVED_EVENTS) -> list[list[Any]]:
    """The newest ``count`` events of each namespace as rows, oldest first."""
    return EventTail(count, 0).next(thread)


def recent_events_table(rows: list[list[Any]]) -> QueryResult:
    """Event rows (see :func:`event_row`) as a table: the timeline's text form."""
    return QueryResult(
        "recent events",
        ("id", "time", "namespace", "type", "severity", "correlation"),
        [(r[0], time.strftime("%H:%M:%S", time.localtime(r[1])), *r[2:6]) for r in rows],
    )


class TelemetryView(LiveView):
    """Every metric of every namespace as a live chart of its last ~1,000 points (counters, sums,
    gauges; distributions with p50/p90/p99); the history is replayed when a page opens."""

    _esm, _css = bundled_views(charts=True)
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
                f = find_foundation(ns)
                if f is None:
                    continue
                for name, metric in f.telemetry.metrics.items():
                    key = f"{ns.name}: {name}"
                    after = None if since is None else since.get(key)
                    fresh = [(t, v) for t, v in metric.points if after is None or t > after]
                    summary = metric.summary()
                    found[key] = {
                        "kind": metric.kind,
                        "points": [[round(t, 3), v] for t, v in fresh],
                        "summary": list(summary[2:]),  # value, observed, p50, p90, p99, rate
                        "last": fresh[-1][0] if fresh else after,
                    }
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
        table = QueryResult(
            "telemetry",
            TELEMETRY_COLUMNS,
            [(key, m["kind"], *m["summary"]) for key, m in sorted(metrics.items())],
        )
        return "<telemetry>", table, snapshot("telemetry", {"t": "metrics", "reset": True, "metrics": metrics})


class ProgressView(LiveView):
    """An index run's progress, live: files done of total, rate, ETA, errors, then its outcome."""

    kind = traitlets.Unicode("progress").tag(sync=True)

    def __init__(
        self, thread: RuntimeThread, read: Callable[[], dict[str, Any]], title: str, interval: float = 0.2
    ) -> None:
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
        line = (
            f"{self._title}: {progress['status']} after {progress['elapsed']:.1f} s, "
            f"{progress['files_done']}/{progress['files_total']} files, {progress['errors']} errors"
        )
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
        data[SNAPSHOT_MIME] = {
            "v": SNAPSHOT_VERSION,
            "kind": "dashboard",
            "at": round(time.time(), 3),
            "views": [view for _, _, view in saved],
        }
        return bundle


def _data_of(bundle: Any) -> dict[str, Any]:
    """The mimetype dict of what ``Widget._repr_mimebundle_`` returned (a dict or (data, metadata))."""
    return bundle[0] if isinstance(bundle, tuple) else bundle  # type: ignore[no-any-return]
