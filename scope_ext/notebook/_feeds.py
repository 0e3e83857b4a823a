"""What the live views and the Scope sidebar send: snapshots, tree diffs, event tails, and the
one publisher thread per runtime thread that feeds every view (see :mod:`._views`).

Pure Python over the bridge: nothing here needs a widget library, so the sidebar's comm uses it
without loading anywidget.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

from ..foundation_layer._event_log import Event, json_safe
from ..foundation_layer._foundation import Foundation, find_foundation
from ..runtime._exceptions import ScopeError
from ..runtime._snapshot import NodeSnapshot, RuntimeSnapshot
from ..runtime._thread import RuntimeThread

log = logging.getLogger("scope_ext.widgets")
SNAPSHOT_MIME = "application/vnd.scope-ext.snapshot+json"
SNAPSHOT_VERSION = 1  # views.js reads the same version


def snapshot(kind: str, batch: dict[str, Any] | None, **traits: Any) -> dict[str, Any]:
    """A view as a saved notebook keeps it: the batch that rebuilds it from nothing, the model's
    traits, and when it was taken (views.js documents the format)."""
    return {
        "v": SNAPSHOT_VERSION,
        "kind": kind,
        "at": round(time.time(), 3),
        "traits": {name: value for name, value in traits.items() if value is not None},
        "batch": batch,
    }


#: A node's health from its recent restart rate, best first (see :func:`health`).
HEALTH = ("ok", "restarting", "crashing")
#: Restarts in the last minute from which a service counts as crash-looping.
CRASHING = 5


def health(recent_restarts: int) -> str:
    """``ok``, ``restarting`` (it restarted in the last minute) or ``crashing`` (it keeps doing so):
    a crash loop looks "running" most of the time, so the view shows this beside the status."""
    return HEALTH[0] if not recent_restarts else HEALTH[2] if recent_restarts >= CRASHING else HEALTH[1]


def tree_nodes(
    snap: RuntimeSnapshot, namespace: str | None = None, started: dict[int, float] | None = None
) -> dict[str, dict[str, Any]]:
    """Every node of the trees as a flat dict keyed by path (``ns/child/...``). Uptime travels as
    a start time (kept per pid in ``started``), so a node changes only when something about it does.
    A node's ``health`` and the worst health ``below`` it, its ``restarts``, ``recent`` restarts,
    last ``error``, ``started`` and ``dynamic`` are left out where they say nothing (0, None,
    "ok", False): a tree of 10,000 services travels in two thirds of the bytes."""
    known = {} if started is None else started
    seen: dict[int, float] = {}
    now = time.time()
    nodes: dict[str, dict[str, Any]] = {}

    def add(node: NodeSnapshot, path: str, parent: str | None, index: int) -> str:
        """Add ``node`` and what is below it; returns the worst health among them."""
        entry: dict[str, Any] = {
            "p": parent,
            "i": index,
            "id": str(node.id),
            "kind": node.kind,
            "status": node.status,
            "mailbox": node.mailbox,
            "capacity": node.capacity,
        }
        own = health(node.recent_restarts)
        optional = {"restarts": node.restarts, "error": node.last_error, "recent": node.recent_restarts, "health": own}
        entry.update((key, value) for key, value in optional.items() if value and value != "ok")
        if node.pid is not None:
            entry["started"] = seen[node.pid] = known.get(node.pid, round(now - node.uptime, 1))
        if node.supervision is not None:
            sup = node.supervision
            entry.update(strategy=sup.strategy, used=sup.restarts_used, max=sup.max_restarts, left=sup.restarts_left)
            if sup.dynamic:
                entry["dynamic"] = True
        nodes[path] = entry
        below = "ok"
        for i, child in enumerate(node.children):
            below = max(below, add(child, f"{path}/{child.id}", path, i), key=HEALTH.index)
        if below != "ok":
            entry["below"] = below
        return max(own, below, key=HEALTH.index)

    for i, ns in enumerate(snap.namespaces):
        if namespace is not None and ns.name != namespace:
            continue
        if ns.root is not None:
            add(ns.root, ns.name, None, i)
    known.clear()
    known.update(seen)
    return nodes


class SharedReads:
    """What every feed of one publisher reads, read once for all of them: a value computed under
    a key is handed to everyone who asks for it within ``ttl`` seconds (a publisher's round), so
    300 sidebars cost one snapshot, one health check and one event query, not 300."""

    def __init__(self, ttl: float = 0.1) -> None:
        self.ttl = ttl
        self.computed = 0  # how many values were read (the rest were shared)
        self._values: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The value under ``key`` from this round, or ``compute()`` (any thread may ask)."""
        with self._lock:
            now = time.monotonic()
            found = self._values.get(key)
            if found is not None and now - found[0] < self.ttl:
                return found[1]
            value = compute()
            self.computed += 1
            self._values = {k: v for k, v in self._values.items() if now - v[0] < self.ttl}  # stays small
            self._values[key] = (now, value)
            return value


class SharedTree:
    """The trees' nodes as one object per content: a round whose nodes equal the last round's gets
    the same dict, so a feed that has it knows it is up to date without comparing a node."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}
        self._last: dict[str, dict[str, Any]] = {}

    def nodes(self, snap: RuntimeSnapshot) -> dict[str, dict[str, Any]]:
        nodes = tree_nodes(snap, None, self._started)
        if nodes != self._last:
            self._last = nodes
        return self._last


class TreeDiff:
    """What a page has of the trees, and the batch that brings it up to date."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        self._sent: dict[str, dict[str, Any]] = {}
        self._started: dict[int, float] = {}
        self._read: tuple[RuntimeSnapshot | None, dict[str, dict[str, Any]]] = (None, {})

    def next(self, snap: RuntimeSnapshot, reset: bool = False) -> dict[str, Any] | None:
        """Changed and removed nodes since the last batch (all of them with ``reset``), or None.
        The nodes of a snapshot are worked out once (a display's snapshot and the live view's
        first batch come from the same one)."""
        if self._read[0] is not snap:
            self._read = (snap, tree_nodes(snap, self.namespace, self._started))
        return self.diff(self._read[1], reset)

    def diff(self, nodes: dict[str, dict[str, Any]], reset: bool = False) -> dict[str, Any] | None:
        """The batch from what the page has to ``nodes`` (the same dict as last time: nothing)."""
        if nodes is self._sent and not reset:
            return None
        before = {} if reset else self._sent
        changed = {path: node for path, node in nodes.items() if before.get(path) != node}
        gone = [path for path in before if path not in nodes]
        self._sent = nodes
        if not (changed or gone or reset):
            return None
        return {"t": "tree", "reset": reset, "set": changed, "del": gone}


#: Nodes a tree message carries at most: the kernel turns a message into JSON in one C call
#: that holds the GIL, so a 10,000-node batch in one piece stalls every other thread (the cell's
#: too) for about 100 ms; in parts of this size each stall is a tenth of that.
PART_NODES = 1000


def in_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A tree batch as messages of at most :data:`PART_NODES` nodes each, in order: the first
    carries ``reset`` and ``del``, the others only more nodes (any other message is one part)."""
    changed = message.get("set")
    if message.get("t") != "tree" or not isinstance(changed, dict) or len(changed) <= PART_NODES:
        return [message]
    items = list(changed.items())
    parts = [{**message, "set": dict(items[:PART_NODES])}]
    for at in range(PART_NODES, len(items), PART_NODES):
        parts.append({"t": "tree", "reset": False, "set": dict(items[at : at + PART_NODES]), "del": []})
    return parts


def foundations(thread: RuntimeThread) -> list[tuple[str, Foundation]]:
    """Every namespace's Foundation that takes requests, by name (through the bridge)."""
    rt = thread.runtime
    assert rt is not None
    found = thread.run_sync(lambda: [(ns.name, find_foundation(ns)) for ns in rt.namespaces()])
    return [(name, f) for name, f in found if f is not None and f.accepting]


class EventTail:
    """Per namespace, the last event a page has: the next batch is the events stored since, or
    the newest ``history`` of them for a page that has none."""

    def __init__(self, history: int, limit: int) -> None:
        self.history = history
        self.limit = limit
        self._last: dict[str, int] = {}

    def next(self, thread: RuntimeThread, reset: bool = False, reads: SharedReads | None = None) -> list[list[Any]]:
        """The events to send now as rows (see :func:`event_row`), oldest first; with ``reads``,
        the same questions from other pages this round are asked once."""
        if reset:
            self._last = {}

        def shared(key: Any, compute: Callable[[], Any]) -> Any:
            return compute() if reads is None else reads.get((id(thread.runtime), *key), compute)

        rows: list[list[Any]] = []
        for name, found in shared(("foundations",), lambda: foundations(thread)):
            after = self._last.get(name)
            try:  # one store down or restarting must not cost the others' rows: its turn comes later
                if after is None:
                    events = shared(("history", name, self.history), partial(self._history, thread, found))
                else:
                    events = shared(("after", name, after, self.limit), partial(self._after, thread, found, after))
            except ScopeError:
                log.debug("events of %r unavailable this round", name, exc_info=True)
                continue
            if events:
                self._last[name] = events[-1].id
            elif after is None:
                self._last[name] = -1
            rows.extend(map(event_row, events))
        rows.sort(key=lambda row: row[1])
        return rows

    def _history(self, thread: RuntimeThread, found: Foundation) -> Sequence[Event]:
        return thread.run(lambda: found.events.query(limit=self.history, order="desc"))[::-1]

    def _after(self, thread: RuntimeThread, found: Foundation, after: int) -> Sequence[Event]:
        return thread.run(lambda: found.events.query(after_id=after, limit=self.limit))


class RequestGate:
    """What a page may ask of a view or sidebar: objects with a string ``t`` only, at most
    ``rate`` a second with bursts up to ``burst`` (a page that floods is refused, not served)."""

    def __init__(self, rate: float = 50.0, burst: int = 100) -> None:
        self.rate = rate
        self.burst = burst
        self.refused = 0
        self._tokens = float(burst)
        self._at = time.monotonic()

    def admit(self, content: Any, tell: Callable[[dict[str, Any]], None]) -> bool:
        """Whether ``content`` may be handled now; if not, ``tell`` the page why (a flood once)."""
        if not isinstance(content, dict) or not isinstance(content.get("t"), str):
            tell({"t": "error", "message": "a message is an object with a string field 't'"})
            return False
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            self.refused += 1
            if self.refused == 1:
                tell({"t": "error", "message": "too many messages; slow down"})
            return False
        self._tokens -= 1
        return True


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
        #: What the feeds read, shared between them within a round.
        self.reads = SharedReads()
        #: The sidebars' tree nodes, one dict per content (see :class:`SharedTree`).
        self.tree = SharedTree()
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
    data = json_safe(event.data)
    text = data if isinstance(data, str) else json.dumps(data)
    return [
        event.id,
        round(event.timestamp, 3),
        event.namespace,
        event.type,
        severity(event.type),
        None if event.correlation_id is None else str(event.correlation_id),
        event.parent_id,
        event.source,
        text[:300],
    ]
