"""The in-memory event log: events in id order, indexed by type and correlation id.

Ids are consecutive and timestamps never decrease along them, so a time range is two bisections
and an id is an offset. Retention drops the oldest events from the front (the indexes' oldest
entries are at their fronts too), so memory stays bounded by ``max_events``.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import islice
from operator import attrgetter
from typing import Any, Literal, NamedTuple

_ts = attrgetter("timestamp")
_id = attrgetter("id")
Order = Literal["asc", "desc"]


class Event(NamedTuple):
    """One stored event."""

    id: int
    type: str
    timestamp: float
    namespace: str
    correlation_id: Hashable | None
    parent_id: int | None
    source: str | None
    data: Any


#: What producers send: type, data, correlation id, parent id, source, production time.
Draft = tuple[str, Any, Hashable | None, int | None, str | None, float]


class EventLog:
    """See the module docstring. Not thread-safe: owned by one event store process."""

    def __init__(self, namespace: str, next_id: int = 1) -> None:
        self.namespace = namespace
        self._events: list[Event] = []
        self._start = 0
        self._next_id = next_id
        self._last_ts = 0.0
        self._by_type: dict[str, list[Event]] = {}
        self._by_corr: dict[Hashable, list[Event]] = {}

    def __len__(self) -> int:
        return len(self._events) - self._start

    @property
    def next_id(self) -> int:
        """The id the next event gets."""
        return self._next_id

    def append(self, draft: Draft) -> Event:
        """Store one event from its draft; returns it."""
        type_, data, corr, parent, source, produced = draft
        ts = produced if produced > self._last_ts else self._last_ts
        self._last_ts = ts
        event = Event(self._next_id, type_, ts, self.namespace, corr, parent, source, data)
        self._next_id += 1
        self._events.append(event)
        by_type = self._by_type.get(type_)
        if by_type is None:
            self._by_type[type_] = [event]
        else:
            by_type.append(event)
        if corr is not None:
            by_corr = self._by_corr.get(corr)
            if by_corr is None:
                self._by_corr[corr] = [event]
            else:
                by_corr.append(event)
        return event

    def extend(self, drafts: Iterable[Draft]) -> list[Event]:
        """Store many events in order."""
        append = self.append
        return [append(draft) for draft in drafts]

    def restore(self, events: Iterable[Event]) -> None:
        """Load already-stored events (in id order), e.g. from the SQLite file."""
        for event in events:
            self._next_id = event.id
            self.append((event.type, event.data, event.correlation_id, event.parent_id, event.source, event.timestamp))

    def get(self, event_id: int) -> Event | None:
        """The live event with ``event_id``, or None."""
        events, start = self._events, self._start
        if start >= len(events):
            return None
        position = start + event_id - events[start].id
        if start <= position < len(events) and events[position].id == event_id:
            return events[position]
        position = bisect.bisect_left(events, event_id, start, len(events), key=_id)
        return events[position] if position < len(events) and events[position].id == event_id else None

    def chain(self, event_id: int) -> list[Event]:
        """The event and its ancestors through ``parent_id``, nearest first (stops at pruned ones)."""
        found: list[Event] = []
        seen: set[int] = set()
        event = self.get(event_id)
        while event is not None and event.id not in seen:
            found.append(event)
            seen.add(event.id)
            event = self.get(event.parent_id) if event.parent_id is not None else None
        return found

    def query(
        self,
        *,
        types: Iterable[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        correlation_id: Hashable | None = None,
        where: Callable[[Any], bool] | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: Order = "asc",
    ) -> list[Event]:
        """Events matching every given filter: types, ``since <= timestamp < until``, correlation
        id, and ``where(data)``; then ``offset`` and ``limit`` in ``order`` of id."""
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit must be >= 0")
        type_set = set(types) if types is not None else None
        if correlation_id is not None:
            sources = [(self._by_corr.get(correlation_id, []), 0)]
        elif type_set is not None:
            sources = [(self._by_type[t], 0) for t in type_set if t in self._by_type]
        else:
            sources = [(self._events, self._start)]
        ranges = [self._time_range(seq, lo, since, until) for seq, lo in sources]
        if len(ranges) == 1 and where is None and (correlation_id is None or type_set is None):
            seq, lo, hi = ranges[0]  # plain slicing: no copy of what offset and limit skip
            if order == "asc":
                lo += offset
                hi = hi if limit is None else min(hi, lo + limit)
                return seq[lo:hi]
            hi = max(lo, hi - offset)  # never below lo: a negative end would count from the back
            lo = lo if limit is None else max(lo, hi - limit)
            return seq[lo:hi][::-1]
        items: Iterable[Event]
        if len(ranges) == 1:
            seq, lo, hi = ranges[0]
            items = seq[lo:hi]
        else:
            items = list(heapq.merge(*(seq[lo:hi] for seq, lo, hi in ranges), key=_id))
        if correlation_id is not None and type_set is not None:
            items = [e for e in items if e.type in type_set]
        if order == "desc":
            items = reversed(items)  # type: ignore[call-overload]
        if where is not None:
            items = (e for e in items if where(e.data))
        return list(islice(items, offset, None if limit is None else offset + limit))

    @staticmethod
    def _time_range(seq: list[Event], lo: int, since: float | None, until: float | None) -> tuple[list[Event], int, int]:
        hi = len(seq)
        if since is not None:
            lo = bisect.bisect_left(seq, since, lo, hi, key=_ts)
        if until is not None:
            hi = bisect.bisect_left(seq, until, lo, hi, key=_ts)
        return seq, lo, hi

    def prune(self, max_events: int | None, max_age: float | None, now: float) -> int:
        """Drop the oldest events beyond ``max_events`` or older than ``max_age``; returns how many."""
        events, start = self._events, self._start
        cut = start
        if max_events is not None and len(events) - start > max_events:
            cut = len(events) - max_events
        if max_age is not None:
            cut = max(cut, bisect.bisect_left(events, now - max_age, cut, len(events), key=_ts))
        if cut == start:
            return 0
        pruned = events[start:cut]
        indexes: tuple[tuple[dict[Any, list[Event]], Callable[[Event], Hashable | None]], ...] = (
            (self._by_type, _type_of), (self._by_corr, _corr_of))
        for index, key_of in indexes:
            for key, count in Counter(key_of(e) for e in pruned).items():
                if key is None:
                    continue
                entries = index[key]
                del entries[:count]
                if not entries:
                    del index[key]
        self._start = cut
        if cut > 4096 and cut * 2 > len(events):
            del events[:cut]
            self._start = 0
        return len(pruned)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events[self._start:])


def _type_of(event: Event) -> str:
    return event.type


def _corr_of(event: Event) -> Hashable | None:
    return event.correlation_id
