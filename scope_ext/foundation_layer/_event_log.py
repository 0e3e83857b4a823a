"""The in-memory event log: events in id order, indexed by type and correlation id.

Ids are consecutive and timestamps never decrease along them, so a time range is two bisections
and an id is an offset. Retention drops the oldest events from the front (the indexes' oldest
entries are at their fronts too), so memory stays bounded by ``max_events``.

Rows are stored as plain tuples in :class:`Event`'s field order (a named tuple costs a call per
event to build); queries hand out :class:`Event` objects.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import json
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any, Literal, NamedTuple

Order = Literal["asc", "desc"]
Row = tuple[Any, ...]
_id = itemgetter(0)
_ts = itemgetter(2)


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


#: What producers send: ``(type, data[, correlation_id[, parent_id[, source]]])``.
Item = tuple[Any, ...]
_event = Event._make


_SIZES = frozenset((2, 3, 4, 5))
_first = itemgetter(0)


def check_items(items: list[Any], from_dict: Callable[[dict[str, Any]], Item]) -> None:
    """Make every entry an event item in place (dicts through ``from_dict``), or raise ValueError
    naming the first bad one. The common case (all good tuples) is checked in C by set passes."""
    if set(map(type, items)) <= {tuple} and set(map(len, items)) <= _SIZES:
        types = set(map(_first, items))
        if set(map(type, types)) <= {str} and "" not in types:
            return
    for index, item in enumerate(items):
        if item.__class__ is dict:
            items[index] = item = from_dict(item)
        if item.__class__ is not tuple or not 2 <= len(item) <= 5 or item[0].__class__ is not str or not item[0]:
            raise ValueError(
                f"an event is (type, data[, correlation_id[, parent_id[, source]]]) with a "
                f"non-empty string type, not {item!r}"
            )


class EventLog:
    """See the module docstring. Not thread-safe: owned by one event store process."""

    def __init__(self, namespace: str, next_id: int = 1) -> None:
        self.namespace = namespace
        self._events: list[Row] = []
        self._start = 0
        self._next_id = next_id
        self._last_ts = 0.0
        self._by_type: dict[str, list[Row]] = {}
        self._by_corr: dict[Hashable, list[Row]] = {}

    def __len__(self) -> int:
        return len(self._events) - self._start

    @property
    def next_id(self) -> int:
        """The id the next event gets."""
        return self._next_id

    def ingest(self, chunks: Iterable[tuple[float, Sequence[Item]]]) -> list[Row]:
        """Store ``(production time, items)`` chunks (items checked by :func:`check_items`), in
        order; returns the new rows. Timestamps never go back: an earlier time is raised to the
        latest one stored."""
        paused = gc.isenabled()  # rows hold no cycles: one collection afterwards instead of dozens during
        if paused:
            gc.disable()
        try:
            return self._ingest(chunks)
        finally:
            if paused:
                gc.enable()

    def _ingest(self, chunks: Iterable[tuple[float, Sequence[Item]]]) -> list[Row]:
        last, next_id, ns = self._last_ts, self._next_id, self.namespace
        by_type, by_corr = self._by_type, self._by_corr
        rows: list[Row] = []
        append = rows.append
        same_type: str | None = None  # runs of one type are common: skip the dict look-up
        same_list: list[Row] = []
        for ts, items in chunks:
            if ts > last:
                last = ts
            else:
                ts = last
            for item in items:
                size = len(item)
                if size == 2:
                    type_, data = item
                    corr = parent = source = None
                elif size == 3:
                    type_, data, corr = item
                    parent = source = None
                else:
                    type_, data, corr, parent, source = item + (None,) * (5 - size)
                row = (next_id, type_, ts, ns, corr, parent, source, data)
                next_id += 1
                append(row)
                if type_ == same_type:
                    same_list.append(row)
                else:
                    listed = by_type.get(type_)
                    if listed is None:
                        listed = by_type[type_] = [row]
                    else:
                        listed.append(row)
                    same_type, same_list = type_, listed
                if corr is not None:
                    listed = by_corr.get(corr)
                    if listed is None:
                        by_corr[corr] = [row]
                    else:
                        listed.append(row)
        self._last_ts, self._next_id = last, next_id
        self._events.extend(rows)
        return rows

    def restore(self, rows: Iterable[Row]) -> None:
        """Load already-stored rows (in id order), e.g. from the SQLite file."""
        for row in rows:
            self._next_id = row[0]
            self.ingest([(row[2], [(row[1], row[7], row[4], row[5], row[6])])])

    def get(self, event_id: int) -> Event | None:
        """The live event with ``event_id``, or None."""
        row = self._row(event_id)
        return None if row is None else _event(row)

    def _row(self, event_id: int) -> Row | None:
        events, start = self._events, self._start
        if start >= len(events):
            return None
        position = start + event_id - events[start][0]
        if start <= position < len(events) and events[position][0] == event_id:
            return events[position]
        position = bisect.bisect_left(events, event_id, start, len(events), key=_id)
        return events[position] if position < len(events) and events[position][0] == event_id else None

    def chain(self, event_id: int) -> list[Event]:
        """The event and its ancestors through ``parent_id``, nearest first (stops at pruned ones)."""
        found: list[Event] = []
        seen: set[int] = set()
        row = self._row(event_id)
        while row is not None and row[0] not in seen:
            found.append(_event(row))
            seen.add(row[0])
            row = self._row(row[5]) if row[5] is not None else None
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
        after_id: int | None = None,
    ) -> list[Event]:
        """Events matching every given filter: types, ``since <= timestamp < until``, correlation
        id, ``id > after_id`` (what a live view has not seen yet), and ``where(data)``; then
        ``offset`` and ``limit`` in ``order`` of id."""
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
        if after_id is not None:  # every source is in id order
            ranges = [(seq, bisect.bisect_right(seq, after_id, lo, hi, key=_id), hi) for seq, lo, hi in ranges]
        if len(ranges) == 1 and where is None and (correlation_id is None or type_set is None):
            seq, lo, hi = ranges[0]  # plain slicing: no copy of what offset and limit skip
            if order == "asc":
                lo += offset
                hi = hi if limit is None else min(hi, lo + limit)
                return list(map(_event, seq[lo:hi]))
            hi = max(lo, hi - offset)  # never below lo: a negative end would count from the back
            lo = lo if limit is None else max(lo, hi - limit)
            return list(map(_event, seq[lo:hi][::-1]))
        items: Iterable[Row]
        if len(ranges) == 1:
            seq, lo, hi = ranges[0]
            items = seq[lo:hi]
        else:
            items = list(heapq.merge(*(seq[lo:hi] for seq, lo, hi in ranges), key=_id))
        if correlation_id is not None and type_set is not None:
            items = [e for e in items if e[1] in type_set]
        if order == "desc":
            items = reversed(items)  # type: ignore[call-overload]
        if where is not None:
            items = (e for e in items if where(e[7]))
        return list(map(_event, islice(items, offset, None if limit is None else offset + limit)))

    @staticmethod
    def _time_range(seq: list[Row], lo: int, since: float | None, until: float | None) -> tuple[list[Row], int, int]:
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
        indexes: tuple[tuple[dict[Any, list[Row]], int], ...] = ((self._by_type, 1), (self._by_corr, 4))
        for index, field in indexes:
            for key, count in Counter(row[field] for row in pruned).items():
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


_strict_encoder = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def json_safe(value: Any) -> Any:
    """``value`` itself if it encodes as JSON, else its ``repr`` (event data may be anything)."""
    try:
        _strict_encoder.encode(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
