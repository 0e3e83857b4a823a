"""The event store service and its client API.

Producers ``await events.store(...)``: a cast into the store's bounded mailbox, so a producer
waits only when the store falls behind (backpressure), or, with ``events.overflow = "drop"``,
never waits and every dropped event is counted and later reported as a ``scope.events.dropped``
event. While the store is down (restarting), events go to a bounded buffer on the namespace's
Foundation handle and are replayed when it is back.

With ``events.path`` set, events are also written to a SQLite file in batches, at most
``events.commit_interval`` seconds apart, from a worker thread; reopening the file restores them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

from ._config import ConfigChanged
from ._event_db import EventDB
from ._event_log import Draft, Event, EventLog, Order
from ._exceptions import MailboxFull, ScopeError
from ._process import CAST
from ._service import Service, _post, call

if TYPE_CHECKING:
    from ._foundation import Foundation


class ShuttingDown(ScopeError):
    """The namespace's Foundation is shutting down and accepts no new work."""


class _Query(NamedTuple):
    kwargs: dict[str, Any]


class _Chain(NamedTuple):
    event_id: int


class _Failed(NamedTuple):
    error: Exception


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
    buffered: int
    path: str | None


_TICK = "tick"
_OVERFLOW = ("events", "overflow")


class EventStore(Service):
    """Owns the event log of one namespace; started by the Foundation with ``init(foundation)``."""

    mailbox_capacity = 10_000

    async def init(self, foundation: Foundation) -> None:
        self.foundation = foundation
        config = foundation.config
        self.max_events: int = config.get("events.max_events")
        self.max_age: float | None = config.get("events.max_age")
        self.interval: float = config.get("events.commit_interval")
        self.log = EventLog(foundation.namespace.name)
        self.db: EventDB | None = None
        self.pending: list[Event] = []
        self.write_lock = trio.Lock()
        path = config.get("events.path")
        if path is not None:
            self.db = await trio.to_thread.run_sync(EventDB, path)
            restored = await trio.to_thread.run_sync(self._load, self.db)
            self.log = EventLog(foundation.namespace.name, next_id=self.db_next_id)
            self.log.restore(restored)
        foundation.config.subscribe(self.process, "events")
        buffered = foundation._event_buffer
        while buffered:
            self._ingest(buffered.popleft())
        self.send_after(self.interval if self.db is not None else 1.0, _TICK)

    def _load(self, db: EventDB) -> list[Event]:
        self.db_next_id = db.last_id() + 1
        since = None if self.max_age is None else time.time() - self.max_age
        return db.load(self.max_events, since)

    def _ingest(self, message: Draft | list[Draft]) -> None:
        if type(message) is list:
            stored = self.log.extend(message)
            if self.db is not None:
                self.pending.extend(stored)
        else:
            event = self.log.append(message)  # type: ignore[arg-type]
            if self.db is not None:
                self.pending.append(event)

    async def handle_cast(self, message: Draft | list[Draft]) -> None:
        self._ingest(message)
        if len(self.pending) > 10 * self.mailbox_capacity:
            await self._write()  # the writer fell behind: hold producers here rather than grow

    async def handle_call(self, request: Any, caller: Any) -> Any:
        kind = type(request)
        if kind is _Query or kind is _Chain:
            try:  # bad arguments or a raising ``where`` are the caller's error, not the store's crash
                return self.log.query(**request.kwargs) if kind is _Query else self.log.chain(request.event_id)
            except Exception as exc:
                return _Failed(exc)
        if kind is _Flush:
            await self._write()
            return len(self.log)
        if kind is _Stats:
            f = self.foundation
            path = self.db.path if self.db is not None else None
            return EventStats(len(self.log), self.log.next_id, len(self.pending), f.events_dropped, len(f._event_buffer), path)
        return Service.handle_call(self, request, caller)

    async def handle_info(self, message: Any) -> None:
        if message == _TICK:
            await self._tick()
            self.send_after(self.interval if self.db is not None else 1.0, _TICK)
        elif isinstance(message, ConfigChanged):
            if message.path == ("events", "max_events"):
                self.max_events = message.new
            elif message.path == ("events", "max_age"):
                self.max_age = message.new

    async def _tick(self) -> None:
        f = self.foundation
        if f.events_dropped > f._drops_reported:
            count = f.events_dropped - f._drops_reported
            f._drops_reported = f.events_dropped
            self._ingest(("scope.events.dropped", {"count": count}, None, None, "events", time.time()))
        pruned_before = self.log.next_id - len(self.log)
        if self.log.prune(self.max_events, self.max_age, time.time()) and self.db is not None:
            first_live = self.log.next_id - len(self.log)
            self.pending = [e for e in self.pending if e.id >= first_live]
            await self._write(prune_before=first_live if first_live > pruned_before else None)
        else:
            await self._write()

    async def _write(self, prune_before: int | None = None) -> None:
        db = self.db
        if db is None:
            return
        async with self.write_lock:
            batch, self.pending = self.pending, []
            if batch:
                await trio.to_thread.run_sync(db.write, batch)
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

    def __init__(self, foundation: Foundation) -> None:
        self._foundation = foundation

    def _draft(self, type: str, data: Any, correlation_id: Hashable | None, parent_id: int | None,
               source: str | None) -> Draft:
        if type.__class__ is not str or not type:
            raise ValueError(f"an event type is a non-empty string, not {type!r}")
        return (type, data, correlation_id, parent_id, source, time.time())

    async def store(self, type: str, data: Any = None, *, correlation_id: Hashable | None = None,
                    parent_id: int | None = None, source: str | None = None) -> None:
        """Store one event without waiting for it to be written (see the module docstring)."""
        await self._send(self._draft(type, data, correlation_id, parent_id, source))

    async def store_batch(self, events: Iterable[tuple[str, Any] | dict[str, Any]]) -> int:
        """Store many events in one message: ``(type, data)`` pairs or dicts with the ``store``
        keywords (``type``, ``data``, ``correlation_id``, ``parent_id``, ``source``)."""
        drafts: list[Draft] = []
        for item in events:
            if isinstance(item, dict):
                extra = set(item) - {"type", "data", "correlation_id", "parent_id", "source"}
                if extra:
                    raise ValueError(f"unknown event fields {sorted(extra)}")
                drafts.append(self._draft(item["type"], item.get("data"), item.get("correlation_id"),
                                          item.get("parent_id"), item.get("source")))
            else:
                type_, data = item
                drafts.append(self._draft(type_, data, None, None, None))
        if drafts:
            await self._send(drafts)
        return len(drafts)

    def store_nowait(self, type: str, data: Any = None, *, correlation_id: Hashable | None = None,
                     parent_id: int | None = None, source: str | None = None) -> bool:
        """Store from synchronous code: never waits; returns False (and counts a drop) when full."""
        f = self._foundation
        if not f.accepting:
            raise ShuttingDown(f"namespace {f.namespace.name!r} is shutting down")
        draft = self._draft(type, data, correlation_id, parent_id, source)
        proc = f.namespace.names.whereis("events")
        if proc is None:
            return f._buffer_event(draft)
        try:
            proc.put_nowait(CAST, draft)
        except MailboxFull:
            f.events_dropped += 1
            return False
        return True

    async def _send(self, message: Draft | list[Draft]) -> None:
        f = self._foundation
        if not f.accepting:
            raise ShuttingDown(f"namespace {f.namespace.name!r} is shutting down")
        proc = f.namespace.names.whereis("events")
        if proc is None:  # the store is restarting: keep the events for it
            for draft in (message if type(message) is list else [message]):
                f._buffer_event(draft)  # type: ignore[arg-type]
            return
        if f.config.get(_OVERFLOW) == "drop":
            try:
                proc.put_nowait(CAST, message)
            except MailboxFull:
                f.events_dropped += len(message) if type(message) is list else 1
            return
        await _post(proc, CAST, message)

    async def query(
        self, *, types: Iterable[str] | str | None = None, since: float | None = None, until: float | None = None,
        correlation_id: Hashable | None = None, where: Callable[[Any], bool] | None = None,
        limit: int | None = None, offset: int = 0, order: Order = "asc", timeout: float | None = 5.0,
    ) -> list[Event]:
        """Events matching every given filter (after everything already sent is stored)."""
        if isinstance(types, str):
            types = [types]
        kwargs = {"types": None if types is None else list(types), "since": since, "until": until,
                  "correlation_id": correlation_id, "where": where, "limit": limit, "offset": offset, "order": order}
        return await self._ask(_Query(kwargs), timeout)

    async def chain(self, event_id: int) -> list[Event]:
        """The event and its ancestors through ``parent_id``, nearest first."""
        return await self._ask(_Chain(event_id), 5.0)

    async def _ask(self, request: _Query | _Chain, timeout: float | None) -> list[Event]:
        result = await call(self._foundation.namespace.via("events"), request, timeout)
        if type(result) is _Failed:
            raise result.error
        return result  # type: ignore[no-any-return]

    async def flush(self, timeout: float | None = 30.0) -> int:
        """Wait until everything sent so far is stored (and written, with a file); returns the count."""
        return await call(self._foundation.namespace.via("events"), _Flush(), timeout)  # type: ignore[no-any-return]

    async def stats(self) -> EventStats:
        """Counts: stored, next id, pending writes, dropped, buffered, and the file path."""
        return await call(self._foundation.namespace.via("events"), _Stats())  # type: ignore[no-any-return]
