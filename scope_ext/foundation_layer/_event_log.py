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
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import chain, islice
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


#: Pruned rows kept at the front of a list before its live part is copied out (when they are
#: also most of it): amortised O(1) per event, and no list is ever shortened in place.
COMPACT_AFTER = 4096

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


class Selection:
    """What one query reads: ranges of the log's id-ordered lists, and the filters, offset and
    limit still to apply. The log only appends to those lists (pruning replaces them), so a
    selection can be read a batch at a time while the log goes on."""

    __slots__ = ("ranges", "type_set", "where", "offset", "limit", "descending")

    def __init__(
        self,
        ranges: list[tuple[list[Row], int, int]],
        type_set: set[str] | None,
        where: Callable[[Any], bool] | None,
        offset: int,
        limit: int | None,
        descending: bool,
    ) -> None:
        self.ranges = ranges
        self.type_set = type_set
        self.where = where
        self.offset = offset
        self.limit = limit
        self.descending = descending

    def batches(self, size: int = 4096) -> Iterator[list[Event]]:
        """The matching events in order, as lists built from at most ``size`` rows read each (so
        a reader can pause between them; a list may be empty)."""
        skip, left = self.offset, self.limit
        ranges = self.ranges
        if len(ranges) == 1 and self.type_set is None and self.where is None:
            seq, lo, hi = ranges[0]  # offset and limit become bounds: nothing skipped is read
            if self.descending:
                hi = max(lo, hi - skip)
                lo = lo if left is None else max(lo, hi - left)
            else:
                lo = min(hi, lo + skip)
                hi = hi if left is None else min(hi, lo + left)
            for chunk in _chunks(seq, lo, hi, size, self.descending):
                yield list(map(_event, chunk))
            return
        if left == 0:
            return
        rows: Iterator[Row]
        if len(ranges) == 1:
            rows = chain.from_iterable(_chunks(*ranges[0], size, self.descending))
        else:
            parts = (chain.from_iterable(_chunks(seq, lo, hi, size, self.descending)) for seq, lo, hi in ranges)
            rows = heapq.merge(*parts, key=_id, reverse=self.descending)
        type_set, where = self.type_set, self.where
        while chunk := list(islice(rows, size)):
            if type_set is not None:
                chunk = [row for row in chunk if row[1] in type_set]
            if where is not None:
                chunk = [row for row in chunk if where(row[7])]
            if skip:
                taken = chunk[skip:]
                skip -= len(chunk) - len(taken)
                chunk = taken
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            yield list(map(_event, chunk))
            if left == 0:
                return


def _chunks(seq: list[Row], lo: int, hi: int, size: int, descending: bool) -> Iterator[list[Row]]:
    """``seq[lo:hi]`` (reversed when ``descending``) in slices of ``size``."""
    if descending:
        for end in range(hi, lo, -size):
            yield seq[max(lo, end - size) : end][::-1]
    else:
        for start in range(lo, hi, size):
            yield seq[start : min(hi, start + size)]


class EventLog:
    """See the module docstring. Not thread-safe: owned by one event store process."""

    def __init__(self, namespace: str, next_id: int = 1) -> None:
        self.namespace = namespace
        self._events: list[Row] = []
        self._start = 0
        self._next_id = next_id
        self._last_ts = 0.0
        # Lists here only grow at the back: pruning moves their first live entry (``_start``, the
        # skips) and now and then replaces a list by a copy of its live part, so a selection
        # taken earlier never sees one shrink.
        self._by_type: dict[str, list[Row]] = {}
        self._by_corr: dict[Hashable, list[Row]] = {}
        self._type_skip: dict[str, int] = {}
        self._corr_skip: dict[Hashable, int] = {}

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

    def select(
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
    ) -> Selection:
        """What a query matching every given filter reads: types, ``since <= timestamp < until``,
        correlation id, ``id > after_id`` (what a live view has not seen yet), and ``where(data)``;
        then ``offset`` and ``limit`` in ``order`` of id. Only bisections: the reading is left to
        :meth:`Selection.batches`, which stays right while this log takes and prunes events."""
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
        for name, value in (("offset", offset), ("limit", limit)):
            if value is not None and (value.__class__ is not int or value < 0):
                raise ValueError(f"{name} is a whole number >= 0, not {value!r}")
        if where is not None and not callable(where):
            raise ValueError(f"where is a function of an event's data, not {where!r}")
        type_set = set(types) if types is not None else None
        sources: list[tuple[list[Row], int]]
        if correlation_id is not None:
            sources = [(self._by_corr.get(correlation_id, []), self._corr_skip.get(correlation_id, 0))]
        elif type_set is not None:
            sources = [(self._by_type[t], self._type_skip.get(t, 0)) for t in type_set if t in self._by_type]
        else:
            sources = [(self._events, self._start)]
        ranges = [self._time_range(seq, lo, since, until) for seq, lo in sources]
        if after_id is not None:  # every source is in id order
            ranges = [(seq, bisect.bisect_right(seq, after_id, lo, hi, key=_id), hi) for seq, lo, hi in ranges]
        if correlation_id is None:
            type_set = None  # the sources already hold only those types
        return Selection(ranges, type_set, where, offset, limit, order == "desc")

    def query(self, **filters: Any) -> list[Event]:
        """The events :meth:`select` describes, read at once (``EventsClient.query`` reads them a
        few milliseconds at a time instead)."""
        return [event for batch in self.select(**filters).batches() for event in batch]

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
        indexes = ((self._by_type, self._type_skip, 1), (self._by_corr, self._corr_skip, 4))
        for index, skip, field in indexes:
            for key, count in Counter(row[field] for row in pruned).items():
                if key is None:
                    continue
                entries = index[key]
                first = skip.get(key, 0) + count
                if first >= len(entries):
                    del index[key]
                    skip.pop(key, None)
                elif first > COMPACT_AFTER and first * 2 > len(entries):
                    index[key] = entries[first:]
                    skip.pop(key, None)
                else:
                    skip[key] = first
        self._start = cut
        if cut > COMPACT_AFTER and cut * 2 > len(events):
            self._events = events[cut:]
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
