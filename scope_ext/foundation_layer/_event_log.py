"""The in-memory event log: events in id order, indexed by type and correlation id.

Ids increase and timestamps never decrease along them, so a time range is two bisections and an
id is (nearly always) an offset. Retention drops the oldest events from the front (the indexes'
oldest entries are at their fronts too), so memory stays bounded by ``max_events``.

Each event is kept as an *entry*, a plain tuple of :class:`Event`'s fields but ``data``, then the
event's *place* in the data column (``_data``, beside the entries). Entries hold only atoms, so
the garbage collector stops tracking them after one pass, and a million stored events do not make
every full collection walk a million objects (before this, each took half a second). Query
results (:class:`EventList`) keep entries and data too, and make an :class:`Event` only when one is
read.

Lists here only grow at the back: pruning moves where the live part starts (``_start`` and the
indexes' skips) and now and then replaces a list by a copy of its live part. A :class:`Selection`
taken earlier so never sees a list shrink, and can be read a batch at a time while the log goes on.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import json
import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any, Literal, NamedTuple, overload

Order = Literal["asc", "desc"]
#: An event as a plain tuple in :class:`Event`'s field order (what the events file stores).
Row = tuple[Any, ...]
#: ``(id, type, timestamp, namespace, correlation_id, parent_id, source, place)``.
Entry = tuple[Any, ...]
_id = itemgetter(0)
_ts = itemgetter(2)
_place = itemgetter(7)


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
_make_event = Event._make


def _event(entry: Entry, data: Any) -> Event:
    return _make_event(entry[:7] + (data,))


#: Pruned entries kept at the front of a list before its live part is copied out (when they are
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


class EventList(Sequence[Event]):
    """The events a query found, read like a list (``list(events)`` makes one).

    Each :class:`Event` is made when it is read, from the log's entries and data kept here: a
    million results cost two lists, not a million objects for the garbage collector to walk."""

    __slots__ = ("_entries", "_data")

    def __init__(self, entries: list[Entry] | None = None, data: list[Any] | None = None) -> None:
        self._entries: list[Entry] = entries if entries is not None else []
        self._data: list[Any] = data if data is not None else []

    def _add(self, entries: list[Entry], data: list[Any]) -> None:
        self._entries += entries
        self._data += data

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> EventList: ...

    def __getitem__(self, index: int | slice) -> Event | EventList:
        if isinstance(index, slice):
            return EventList(self._entries[index], self._data[index])
        return _event(self._entries[index], self._data[index])

    def __iter__(self) -> Iterator[Event]:
        return map(_event, self._entries, self._data)

    def __reversed__(self) -> Iterator[Event]:
        return map(_event, reversed(self._entries), reversed(self._data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(map(operator.eq, self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if len(self) <= 6:
            return f"EventList({list(self)!r})"
        return f"EventList([{self[0]!r}, {self[1]!r}, ..., {self[-1]!r}]: {len(self)} events)"


class Selection:
    """What one query reads: ranges of the log's id-ordered entry lists, its data column, and
    the filters, offset and limit still to apply (see the module docstring)."""

    __slots__ = ("ranges", "data", "base", "aligned", "type_set", "where", "offset", "limit", "descending")

    def __init__(
        self,
        ranges: list[tuple[list[Entry], int, int]],
        data: list[Any],
        base: int,
        aligned: bool,
        type_set: set[str] | None,
        where: Callable[[Any], bool] | None,
        offset: int,
        limit: int | None,
        descending: bool,
    ) -> None:
        self.ranges = ranges
        #: The data column, and the place of its first item.
        self.data = data
        self.base = base
        #: Whether the one range is of the entry list the data column lies beside.
        self.aligned = aligned
        self.type_set = type_set
        self.where = where
        self.offset = offset
        self.limit = limit
        self.descending = descending

    def read(self) -> EventList:
        """Every batch at once."""
        found = EventList()
        for entries, data in self.batches():
            found._add(entries, data)
        return found

    def batches(self, size: int = 4096) -> Iterator[tuple[list[Entry], list[Any]]]:
        """The matching entries in order with their data, from at most ``size`` entries read each
        (so a reader can pause between them; a batch may be empty)."""
        skip, left = self.offset, self.limit
        ranges, data, base = self.ranges, self.data, self.base
        if len(ranges) == 1 and self.type_set is None and self.where is None:
            seq, lo, hi = ranges[0]  # offset and limit become bounds: nothing skipped is read
            if self.descending:
                hi = max(lo, hi - skip)
                lo = lo if left is None else max(lo, hi - left)
            else:
                lo = min(hi, lo + skip)
                hi = hi if left is None else min(hi, lo + left)
            for a, b in _bounds(lo, hi, size, self.descending):
                entries = seq[a:b]
                values = data[a:b] if self.aligned else [data[p - base] for p in map(_place, entries)]
                if self.descending:
                    entries.reverse()
                    values.reverse()
                yield entries, values
            return
        if left == 0:
            return
        parts = [_in_order(seq, lo, hi, size, self.descending) for seq, lo, hi in ranges]
        entries_in_order: Iterator[Entry] = (
            parts[0] if len(parts) == 1 else heapq.merge(*parts, key=_id, reverse=self.descending)
        )
        type_set, where = self.type_set, self.where
        while chunk := list(islice(entries_in_order, size)):
            if type_set is not None:
                chunk = [entry for entry in chunk if entry[1] in type_set]
            if where is not None:
                chunk = [entry for entry in chunk if where(data[entry[7] - base])]
            if skip:
                taken = chunk[skip:]
                skip -= len(chunk) - len(taken)
                chunk = taken
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            yield chunk, [data[p - base] for p in map(_place, chunk)]
            if left == 0:
                return


def _in_order(seq: list[Entry], lo: int, hi: int, size: int, descending: bool) -> Iterator[Entry]:
    """``seq[lo:hi]`` one by one (from the back when ``descending``), sliced ``size`` at a time."""
    for a, b in _bounds(lo, hi, size, descending):
        yield from (seq[a:b] if not descending else seq[a:b][::-1])


def _bounds(lo: int, hi: int, size: int, descending: bool) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` in pieces of ``size``, from the back when ``descending``."""
    if descending:
        for end in range(hi, lo, -size):
            yield max(lo, end - size), end
    else:
        for start in range(lo, hi, size):
            yield start, min(hi, start + size)


class EventLog:
    """See the module docstring. Not thread-safe: owned by one event store process."""

    def __init__(self, namespace: str, next_id: int = 1) -> None:
        self.namespace = namespace
        self._entries: list[Entry] = []
        self._data: list[Any] = []
        self._base = 0  # the place of _entries[0]
        self._start = 0  # the first live entry
        self._next_id = next_id
        self._last_ts = 0.0
        self._by_type: dict[str, list[Entry]] = {}
        self._by_corr: dict[Hashable, list[Entry]] = {}
        self._type_skip: dict[str, int] = {}
        self._corr_skip: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self._entries) - self._start

    @property
    def next_id(self) -> int:
        """The id the next event gets."""
        return self._next_id

    @property
    def end(self) -> int:
        """The place the next event gets (places only grow)."""
        return self._base + len(self._entries)

    def since(self, place: int) -> tuple[list[Entry], list[Any]]:
        """The live entries and data from ``place`` on (what is still to be written to a file)."""
        first = max(place - self._base, self._start)
        return self._entries[first:], self._data[first:]

    def ingest(self, chunks: Iterable[tuple[float, Sequence[Item]]]) -> None:
        """Store ``(production time, items)`` chunks (items checked by :func:`check_items`), in
        order. Timestamps never go back: an earlier time is raised to the latest one stored."""
        paused = gc.isenabled()  # entries hold no cycles: one collection afterwards instead of dozens during
        if paused:
            gc.disable()
        try:
            self._ingest(chunks)
        finally:
            if paused:
                gc.enable()

    def _ingest(self, chunks: Iterable[tuple[float, Sequence[Item]]]) -> None:
        last, next_id, ns = self._last_ts, self._next_id, self.namespace
        place = self._base + len(self._entries)
        by_type, by_corr = self._by_type, self._by_corr
        entries: list[Entry] = []
        append = entries.append
        values: list[Any] = []
        keep = values.append
        same_type: str | None = None  # runs of one type are common: skip the dict look-up
        same_list: list[Entry] = []
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
                entry = (next_id, type_, ts, ns, corr, parent, source, place)
                next_id += 1
                place += 1
                append(entry)
                keep(data)
                if type_ == same_type:
                    same_list.append(entry)
                else:
                    listed = by_type.get(type_)
                    if listed is None:
                        listed = by_type[type_] = [entry]
                    else:
                        listed.append(entry)
                    same_type, same_list = type_, listed
                if corr is not None:
                    listed = by_corr.get(corr)
                    if listed is None:
                        by_corr[corr] = [entry]
                    else:
                        listed.append(entry)
        self._last_ts, self._next_id = last, next_id
        self._entries += entries
        self._data += values

    def restore(self, rows: Iterable[Row]) -> None:
        """Load already-stored rows (in id order), e.g. from the SQLite file."""
        for row in rows:
            self._next_id = row[0]
            self.ingest([(row[2], [(row[1], row[7], row[4], row[5], row[6])])])

    def get(self, event_id: int) -> Event | None:
        """The live event with ``event_id``, or None."""
        index = self._index(event_id)
        return None if index is None else _event(self._entries[index], self._data[index])

    def _index(self, event_id: int) -> int | None:
        entries, start = self._entries, self._start
        if start >= len(entries):
            return None
        index = start + event_id - entries[start][0]
        if start <= index < len(entries) and entries[index][0] == event_id:
            return index
        index = bisect.bisect_left(entries, event_id, start, len(entries), key=_id)
        return index if index < len(entries) and entries[index][0] == event_id else None

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
        sources: list[tuple[list[Entry], int]]
        if correlation_id is not None:
            sources = [(self._by_corr.get(correlation_id, []), self._corr_skip.get(correlation_id, 0))]
        elif type_set is not None:
            sources = [(self._by_type[t], self._type_skip.get(t, 0)) for t in type_set if t in self._by_type]
        else:
            sources = [(self._entries, self._start)]
        ranges = [self._time_range(seq, lo, since, until) for seq, lo in sources]
        if after_id is not None:  # every source is in id order
            ranges = [(seq, bisect.bisect_right(seq, after_id, lo, hi, key=_id), hi) for seq, lo, hi in ranges]
        aligned = correlation_id is None and type_set is None
        if correlation_id is None:
            type_set = None  # the sources already hold only those types
        return Selection(ranges, self._data, self._base, aligned, type_set, where, offset, limit, order == "desc")

    def query(self, **filters: Any) -> EventList:
        """The events :meth:`select` describes, read at once (``EventsClient.query`` reads them a
        few milliseconds at a time instead)."""
        return self.select(**filters).read()

    @staticmethod
    def _time_range(
        seq: list[Entry], lo: int, since: float | None, until: float | None
    ) -> tuple[list[Entry], int, int]:
        hi = len(seq)
        if since is not None:
            lo = bisect.bisect_left(seq, since, lo, hi, key=_ts)
        if until is not None:
            hi = bisect.bisect_left(seq, until, lo, hi, key=_ts)
        return seq, lo, hi

    def prune(self, max_events: int | None, max_age: float | None, now: float) -> int:
        """Drop the oldest events beyond ``max_events`` or older than ``max_age``; returns how many."""
        entries, start = self._entries, self._start
        cut = start
        if max_events is not None and len(entries) - start > max_events:
            cut = len(entries) - max_events
        if max_age is not None:
            cut = max(cut, bisect.bisect_left(entries, now - max_age, cut, len(entries), key=_ts))
        if cut == start:
            return 0
        pruned = entries[start:cut]
        indexes = ((self._by_type, self._type_skip, 1), (self._by_corr, self._corr_skip, 4))
        for index, skip, field in indexes:
            for key, count in Counter(entry[field] for entry in pruned).items():
                if key is None:
                    continue
                listed = index[key]
                first = skip.get(key, 0) + count
                if first >= len(listed):
                    del index[key]
                    skip.pop(key, None)
                elif first > COMPACT_AFTER and first * 2 > len(listed):
                    index[key] = listed[first:]
                    skip.pop(key, None)
                else:
                    skip[key] = first
        self._start = cut
        if cut > COMPACT_AFTER and cut * 2 > len(entries):
            self._entries = entries[cut:]
            self._data = self._data[cut:]
            self._base += cut
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
