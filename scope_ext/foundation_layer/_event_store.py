"""The event store service and its client API.

Producers append to the namespace's *outbox* (:class:`Outbox`, kept by its Foundation), and the
store is told (one ``drain`` message at a time) to take everything there in one ingest. So events
stored one by one cost about what a batch does, and order is kept across ``store`` and
``store_batch``. When the outbox is full, producers wait for the store (backpressure); with
``events.overflow = "drop"`` they never wait, and every dropped event is counted and later reported
as a ``scope.events.dropped`` event. The outbox outlives the store process: events produced while
the store restarts wait there (up to ``events.outbox_size``, the rest counted as dropped) and are
ingested when it is back. An event's timestamp is the time of its ``store`` / ``store_batch`` call.

Without a file the in-memory log itself outlives a store restart (its history and ids go on).
With ``events.path`` set, events are also written to a SQLite file in batches, at most
``events.commit_interval`` seconds apart, from a worker thread; reopening the file restores them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from ..runtime._exceptions import MailboxFull, ScopeError
from ..runtime._mailbox import INFO
from ..runtime._process import Refused
from ..runtime._service import Service, call, pace
from ._config import ConfigChanged, ConfigClient
from ._event_log import Event, EventList, EventLog, Item, Order, Selection, check_items, in_slices

if TYPE_CHECKING:
    from ..runtime._namespace import Namespace
    from ._event_db import EventDB

log = logging.getLogger("scope_ext.events")


_FIELDS = frozenset(("type", "data", "correlation_id", "parent_id", "source"))


def _item(type: str, data: Any, correlation_id: Hashable | None, parent_id: int | None, source: str | None) -> Item:
    if type.__class__ is not str or not type:
        raise ValueError(f"an event type is a non-empty string, not {type!r}")
    if correlation_id is None and parent_id is None and source is None:
        return (type, data)
    return (type, data, correlation_id, parent_id, source)


def _from_dict(fields: dict[str, Any]) -> Item:
    if not fields.keys() <= _FIELDS or "type" not in fields:
        raise ValueError(f"an event dict has a 'type' and only {sorted(_FIELDS)}, not {sorted(fields)}")
    return _item(
        fields["type"], fields.get("data"), fields.get("correlation_id"), fields.get("parent_id"), fields.get("source")
    )


class ShuttingDown(ScopeError):
    """The namespace's Foundation is shutting down and accepts no new work."""


class _Query(NamedTuple):
    kwargs: dict[str, Any]


class _Chain(NamedTuple):
    event_id: int


class _Flush(NamedTuple):
    pass


class _Stats(NamedTuple):
    pass


class EventStats(NamedTuple):
    """What ``events.stats()`` reports."""

    stored: int
    next_id: int
    pending_writes: int
    dropped: int
    outbox: int
    path: str | None


#: Seconds a query reads before it lets the runtime's other tasks run.
_SLICE = 0.002
#: Events ingested before the store lets the runtime's other tasks run (about 5 ms).
_INGEST_SLICE = 8192
_TICK = "tick"
_DRAIN = "drain"
_OVERFLOW = ("events", "overflow")


class Outbox:
    """What outlives a restart of a namespace's event store: the events on their way to it
    (producers put them here without a round trip, the store drains them), the intake's counters,
    and, without a file, the log itself."""

    def __init__(self, namespace: Namespace, config: ConfigClient, size: int) -> None:
        self.namespace = namespace
        self.config = config
        self.size = size
        self.chunks: list[tuple[float, Sequence[Item]]] = []
        self.count = 0
        self.space = trio.lowlevel.ParkingLot()
        self.drain_requested = False
        #: Seconds a producer waits for room in a full outbox before MailboxFull.
        self.send_timeout = 5.0
        self.dropped = 0
        self.drops_reported = 0
        #: False once the namespace shuts down: producers are refused with ShuttingDown.
        self.accepting = True
        #: The in-memory event log, kept here so a restarted store goes on with it.
        self.log: EventLog | None = None


class EventStore(Service):
    """Owns the event log of one namespace; started by the Foundation with ``init(outbox)``."""

    mailbox_capacity = 10_000

    async def init(self, outbox: Outbox) -> None:
        self.outbox = outbox
        config = outbox.config
        self.max_events: int = config.get("events.max_events")
        self.max_age: float | None = config.get("events.max_age")
        self.interval: float = config.get("events.commit_interval")
        self.db: EventDB | None = None
        #: With a file: the place (see EventLog) of the first event not yet handed to the writer.
        self.written = 0
        self.write_lock = trio.Lock()
        path = config.get("events.path")
        if path is None:  # in memory: the log outlives a restart of its store (history and ids go on)
            if outbox.log is None:
                outbox.log = EventLog(outbox.namespace.name)
            self.log = outbox.log
        else:
            from ._event_db import EventDB  # here: a Foundation without an events file never loads sqlite3

            self.db = await trio.to_thread.run_sync(EventDB, path)
            since = None if self.max_age is None else time.time() - self.max_age
            next_id, restored = await trio.to_thread.run_sync(self.db.restore, self.max_events, since)
            self.log = EventLog(outbox.namespace.name, next_id=next_id)
            self.log.restore(restored)
            self.written = self.log.end
            if self.db.recovery is not None:
                recovery = self.db.recovery
                log.warning("%s", recovery.describe())
                item = ("scope.events.recovered", {**recovery._asdict(), "message": recovery.describe()})
                self.log.ingest([(time.time(), [item + (None, None, "events")])])
        config.subscribe(self.process, "events")
        await self._drain()  # what producers left while no store was running
        self.send_after(self.interval if self.db is not None else 1.0, _TICK)

    async def _drain(self) -> None:
        """Ingest what the outbox holds, :data:`_INGEST_SLICE` events at a time with a checkpoint
        between (a batch of a million never holds the runtime's thread); producers put what
        comes meanwhile in the emptied outbox, for the next drain."""
        outbox = self.outbox
        outbox.drain_requested = False
        chunks, outbox.chunks, outbox.count = outbox.chunks, [], 0
        outbox.space.unpark_all()
        for part in in_slices(chunks, _INGEST_SLICE):
            self.log.ingest(part)
            if part is not chunks:
                await trio.lowlevel.checkpoint()

    @property
    def unwritten(self) -> int:
        """Live events not yet handed to the file's writer."""
        log = self.log
        return 0 if self.db is None else log.end - max(self.written, log.end - len(log))

    async def handle_call(self, request: Any, caller: Any) -> Any:
        kind = type(request)
        if kind is _Query or kind is _Chain:
            try:  # bad arguments are the caller's error, not the store's crash
                return self.log.select(**request.kwargs) if kind is _Query else self.log.chain(request.event_id)
            except Exception as exc:
                return Refused(exc)
        if kind is _Flush:
            await self._write()
            return len(self.log)
        if kind is _Stats:
            path = self.db.path if self.db is not None else None
            outbox = self.outbox
            return EventStats(len(self.log), self.log.next_id, self.unwritten, outbox.dropped, outbox.count, path)
        return Service.handle_call(self, request, caller)

    async def handle_info(self, message: Any) -> None:
        if message == _DRAIN:
            await self._drain()
            if self.db is not None and self.log.end - self.written > 10 * self.outbox.size:
                await self._write()  # the file writer fell behind: hold producers here rather than grow
        elif message == _TICK:
            await self._tick()
            self.send_after(self.interval if self.db is not None else 1.0, _TICK)
        elif isinstance(message, ConfigChanged):
            if message.path == ("events", "max_events"):
                self.max_events = message.new
            elif message.path == ("events", "max_age"):
                self.max_age = message.new

    async def _tick(self) -> None:
        outbox = self.outbox
        if outbox.dropped > outbox.drops_reported:
            count = outbox.dropped - outbox.drops_reported
            outbox.drops_reported = outbox.dropped
            self.log.ingest([(time.time(), [("scope.events.dropped", {"count": count}, None, None, "events")])])
        pruned_before = self.log.next_id - len(self.log)
        if self.log.prune(self.max_events, self.max_age, time.time()) and self.db is not None:
            first_live = self.log.next_id - len(self.log)
            await self._write(prune_before=first_live if first_live > pruned_before else None)
        else:
            await self._write()

    async def _write(self, prune_before: int | None = None) -> None:
        db = self.db
        if db is None:
            return
        async with self.write_lock:
            entries, data = self.log.since(self.written)  # copies: the log goes on meanwhile
            self.written = self.log.end
            if entries:
                await trio.to_thread.run_sync(db.write, entries, data)
            if prune_before is not None:
                await trio.to_thread.run_sync(db.prune_before, prune_before)

    def memory_bytes(self) -> int:
        """A rough size of the log: events plus index entries (for the memory manager)."""
        return len(self.log) * 250

    def shrink(self, fraction: float) -> int:
        """Drop the oldest ``fraction`` of events now (memory pressure); returns how many."""
        keep = int(len(self.log) * (1 - fraction))
        return self.log.prune(keep, None, time.time())

    async def terminate(self, reason: Any) -> None:
        if self.db is not None:
            with trio.CancelScope(shield=True):
                await self._write()
                await trio.to_thread.run_sync(self.db.close)


class EventsClient:
    """The event API of one namespace (``foundation.events``)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def store(
        self,
        type: str,
        data: Any = None,
        *,
        correlation_id: Hashable | None = None,
        parent_id: int | None = None,
        source: str | None = None,
    ) -> None:
        """Store one event without waiting for it to be stored (see the module docstring)."""
        await self._put([_item(type, data, correlation_id, parent_id, source)])

    async def store_batch(self, events: Iterable[Item | dict[str, Any]]) -> int:
        """Store many events: tuples ``(type, data[, correlation_id[, parent_id[, source]]])`` or
        dicts with the ``store`` keywords. A bad item refuses the whole batch."""
        items: list[Any] = list(events)  # check_items turns dicts into items in place
        for start in range(0, len(items), _INGEST_SLICE):  # a big batch is checked a slice at a time
            if start:
                await trio.lowlevel.checkpoint()
            check_items(items, _from_dict, start, start + _INGEST_SLICE)
        await self._put(items)
        return len(items)

    def store_nowait(
        self,
        type: str,
        data: Any = None,
        *,
        correlation_id: Hashable | None = None,
        parent_id: int | None = None,
        source: str | None = None,
    ) -> bool:
        """Store from synchronous code: never waits; returns False (and counts a drop) when full."""
        items = [_item(type, data, correlation_id, parent_id, source)]
        if self._offer(items):
            return True
        self._outbox.dropped += 1
        return False

    def _offer(self, items: list[Item]) -> int:
        """Put what fits of ``items`` into the outbox and make sure the store will drain it."""
        outbox = self._outbox
        if not outbox.accepting:
            raise ShuttingDown(f"namespace {outbox.namespace.name!r} is shutting down")
        room = outbox.size - outbox.count
        taken = len(items) if len(items) <= room else max(room, 0)
        if taken:
            outbox.chunks.append((time.time(), items if taken == len(items) else items[:taken]))
            outbox.count += taken
            if not outbox.drain_requested:
                store = outbox.namespace.names.whereis("events")
                if store is not None and store.mailbox is not None:
                    store._deliver(INFO, _DRAIN, None)
                    outbox.drain_requested = True
        return taken

    async def _put(self, items: list[Item]) -> None:
        outbox = self._outbox
        taken = self._offer(items)
        if taken == len(items):
            await pace()  # a producer that never waits still lets the store ingest and commit
            return
        deadline = trio.current_time() + outbox.send_timeout
        while taken < len(items):
            running = outbox.namespace.names.whereis("events") is not None
            if outbox.config.get(_OVERFLOW) == "drop" or not running:  # nobody drains a full outbox of a dead store
                outbox.dropped += len(items) - taken
                return
            with trio.move_on_at(deadline):
                await outbox.space.park()
            if trio.current_time() >= deadline:
                raise MailboxFull(
                    f"the event outbox of {outbox.namespace.name!r} stayed full for {outbox.send_timeout} s"
                )
            taken += self._offer(items[taken:])

    async def query(
        self,
        *,
        types: Iterable[str] | str | None = None,
        since: float | None = None,
        until: float | None = None,
        correlation_id: Hashable | None = None,
        where: Callable[[Any], bool] | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: Order = "asc",
        after_id: int | None = None,
        timeout: float | None = 5.0,
    ) -> EventList:
        """Events matching every given filter (after everything already sent is stored), as an
        :class:`EventList` (read it like a list; ``list(...)`` makes one).

        The store answers at once with what to read (:class:`Selection`); this task reads it, a
        few milliseconds at a time, so a query over a million events never holds the runtime's
        thread (``where`` runs here too, in the runtime's thread, as before). ``timeout`` bounds
        the wait for the store's answer; cancel the task to stop a long read."""
        if isinstance(types, str):
            types = [types]
        kwargs = {
            "types": None if types is None else list(types),
            "since": since,
            "until": until,
            "correlation_id": correlation_id,
            "where": where,
            "limit": limit,
            "offset": offset,
            "order": order,
            "after_id": after_id,
        }
        selection: Selection = await call(self._outbox.namespace.via("events"), _Query(kwargs), timeout)
        at_once = selection.at_once()
        if at_once is not None:
            return at_once
        found = EventList()
        pause_at = trio.current_time() + _SLICE
        for entries, data in selection.batches():
            found._add(entries, data)
            if trio.current_time() >= pause_at:
                await trio.lowlevel.checkpoint()
                pause_at = trio.current_time() + _SLICE
        return found

    async def chain(self, event_id: int) -> list[Event]:
        """The event and its ancestors through ``parent_id``, nearest first."""
        return await call(self._outbox.namespace.via("events"), _Chain(event_id), 5.0)  # type: ignore[no-any-return]

    async def flush(self, timeout: float | None = 30.0) -> int:
        """Wait until everything sent so far is stored (and written, with a file); returns the count."""
        return await call(self._outbox.namespace.via("events"), _Flush(), timeout)  # type: ignore[no-any-return]

    async def stats(self) -> EventStats:
        """Counts: stored, next id, pending writes, dropped, buffered, and the file path."""
        return await call(self._outbox.namespace.via("events"), _Stats())  # type: ignore[no-any-return]
