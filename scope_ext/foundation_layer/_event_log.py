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
from itertools import chain, islice
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


def in_slices(chunks: list[tuple[float, Sequence[Item]]], size: int) -> Iterator[list[tuple[float, Sequence[Item]]]]:
    """``(time, items)`` chunks regrouped, in order, into lists of at most ``size`` items (a big
    chunk is cut); ``chunks`` itself when it is small enough."""
    if sum(len(items) for _, items in chunks) <= size:
        yield chunks
        return
    part: list[tuple[float, Sequence[Item]]] = []
    room = size
    for ts, items in chunks:
        start = 0
        while start < len(items):
            taken = items[start : start + room]
            part.append((ts, taken))
            start += len(taken)
            room -= len(taken)
            if room == 0:
                yield part
                part, room = [], size
    if part:
        yield part


def check_items(
    items: list[Any], from_dict: Callable[[dict[str, Any]], Item], start: int = 0, stop: int | None = None
) -> None:
    """Make every entry of ``items[start:stop]`` an event item in place (dicts through
    ``from_dict``), or raise ValueError naming the first bad one. The common case (all good
    tuples) is checked in C by set passes."""
    stop = len(items) if stop is None else min(stop, len(items))
    part = items[start:stop]
    if set(map(type, part)) <= {tuple} and set(map(len, part)) <= _SIZES:
        types = set(map(_first, part))
        if set(map(type, types)) <= {str} and "" not in types:
            return
    for index in range(start, stop):
        item = items[index]
        if item.__class__ is dict:
            items[index] = item = from_dict(item)
        if item.__class__ is not tuple or not 2 <= len(item) <= 5 or item[0].__class__ is not str or not item[0]:
            raise ValueError(
                f"an event is (type, data[, correlation_id[, parent_id[, source]]]) with a "
                f"non-empty string type, not {item!r}"
            )


#: Items per frozen page of a :class:`Column`.
PAGE = 1024


class Column(Sequence[Any]):
    """A list that only grows at the back, kept as frozen pages (tuples of :data:`PAGE` items) and
    an open tail. A page of atoms is a tuple the garbage collector stops tracking, so a full
    collection walks a few hundred pages instead of a million items (a plain list of a million
    entries cost every full collection about 15 ms to walk). Sealing moves items from the tail into
    pages without moving their index; :meth:`after` and :meth:`window` share the pages they keep
    (``skip`` items of the first page are not part of a window)."""

    __slots__ = ("pages", "tail", "skip")

    def __init__(
        self, pages: list[tuple[Any, ...]] | None = None, tail: list[Any] | None = None, skip: int = 0
    ) -> None:
        self.pages = pages if pages is not None else []
        self.tail = tail if tail is not None else []
        self.skip = skip

    def __len__(self) -> int:
        return len(self.pages) * PAGE + len(self.tail) - self.skip

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:  # rare: read it all, then step
                return self._between(0, len(self))[index]
            return self._between(start, stop)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("column index out of range")
        index += self.skip
        page, offset = divmod(index, PAGE)
        pages = self.pages
        return pages[page][offset] if page < len(pages) else self.tail[index - len(pages) * PAGE]

    def _between(self, start: int, stop: int) -> list[Any]:
        found: list[Any] = []
        start, stop = start + self.skip, max(start, stop) + self.skip
        pages, sealed = self.pages, len(self.pages) * PAGE
        while start < min(stop, sealed):
            page, offset = divmod(start, PAGE)
            end = min(stop - page * PAGE, PAGE)
            found += pages[page][offset:end]
            start = page * PAGE + end
        if start < stop:
            found += self.tail[start - sealed : stop - sealed]
        return found

    def __iter__(self) -> Iterator[Any]:
        return islice(chain(chain.from_iterable(self.pages), self.tail), self.skip, None)

    def __reversed__(self) -> Iterator[Any]:
        backwards = chain(reversed(self.tail), chain.from_iterable(map(reversed, reversed(self.pages))))
        return islice(backwards, len(self))

    def extend(self, items: list[Any]) -> None:
        """Append ``items`` and seal every full page."""
        self.tail += items
        self.seal()

    def seal(self) -> None:
        """Freeze the tail's full pages (callers that appended to :attr:`tail` directly)."""
        tail = self.tail
        if len(tail) >= PAGE:
            full = len(tail) - len(tail) % PAGE
            self.pages += [tuple(tail[i : i + PAGE]) for i in range(0, full, PAGE)]
            self.tail = tail[full:]  # a new list: the old one may be another column's tail too

    def after(self, pages: int) -> Column:
        """A new column without the first ``pages`` pages; it shares the rest, tail included (no
        list here is ever shortened in place, so the two never disturb each other)."""
        return Column(self.pages[pages:], self.tail)

    def window(self, start: int, stop: int) -> Column:
        """Items ``[start, stop)`` as a new column that shares the whole pages among them: a few
        page references and at most a page of copied items, however long the window."""
        start, stop = start + self.skip, max(start, stop) + self.skip
        pages, sealed = self.pages, len(self.pages) * PAGE
        first, last = start // PAGE, min(stop, sealed) // PAGE
        if first >= last:  # inside one page, or in the tail
            return Column([], self._between(start - self.skip, stop - self.skip))
        rest = pages[last][: stop - last * PAGE] if stop < sealed else self.tail[: stop - sealed]
        return Column(pages[first:last], list(rest), start - first * PAGE)


class EventList(Sequence[Event]):
    """The events a query found, read like a list (``list(events)`` makes one).

    Each :class:`Event` is made when it is read, from the log's entries and data kept here in
    columns: a million results cost a few thousand pages, not a million objects (nor two
    million-item lists) for the garbage collector to walk."""

    __slots__ = ("_entries", "_data")

    def __init__(self, entries: list[Entry] | None = None, data: list[Any] | None = None) -> None:
        self._entries = Column()
        self._data = Column()
        if entries:
            self._add(entries, data or [])

    @classmethod
    def _of(cls, entries: Column, data: Column) -> EventList:
        found = cls()
        found._entries, found._data = entries, data
        return found

    def _add(self, entries: list[Entry], data: list[Any]) -> None:
        self._entries.extend(entries)
        self._data.extend(data)

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
        ranges: list[tuple[Column | list[Entry], int, int]],
        data: Column,
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
        """The whole answer now (see :meth:`at_once`, else every batch)."""
        found = self.at_once()
        if found is None:
            found = EventList()
            for entries, data in self.batches():
                found._add(entries, data)
        return found

    def at_once(self) -> EventList | None:
        """The answer, if it is one stretch of the log in id order with no filter (the usual
        newest-N or everything): it then shares the log's pages, a few references however many
        events. None for anything else (read :meth:`batches`)."""
        if len(self.ranges) != 1 or not self.aligned or self.descending or self.where is not None:
            return None
        seq, lo, hi = self.ranges[0]
        if not isinstance(seq, Column) or not isinstance(self.data, Column):
            return None
        lo, hi = self._bounded(lo, hi)
        return EventList._of(seq.window(lo, hi), self.data.window(lo, hi))

    def _bounded(self, lo: int, hi: int) -> tuple[int, int]:
        """``[lo, hi)`` of one range cut to the offset and limit (counted from the back when
        descending): nothing skipped is read."""
        skip, left = self.offset, self.limit
        if self.descending:
            hi = max(lo, hi - skip)
            return (lo if left is None else max(lo, hi - left)), hi
        lo = min(hi, lo + skip)
        return lo, (hi if left is None else min(hi, lo + left))

    def batches(self, size: int = 4096) -> Iterator[tuple[list[Entry], list[Any]]]:
        """The matching entries in order with their data, from at most ``size`` entries read each
        (so a reader can pause between them; a batch may be empty)."""
        skip, left = self.offset, self.limit
        ranges, data, base = self.ranges, self.data, self.base
        if len(ranges) == 1 and self.type_set is None and self.where is None:
            seq, lo, hi = ranges[0]
            lo, hi = self._bounded(lo, hi)
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


def _in_order(seq: Column | list[Entry], lo: int, hi: int, size: int, descending: bool) -> Iterator[Entry]:
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
        self._entries = Column()
        self._data = Column()
        self._base = 0  # the place of _entries[0]
        self._start = 0  # the first live entry
        self._next_id = next_id
        self._last_ts = 0.0
        self._by_type: dict[str, Column] = {}
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
                    column = by_type.get(type_)
                    if column is None:
                        column = by_type[type_] = Column()
                    same_type, same_list = type_, column.tail  # sealed below, after the loop
                    same_list.append(entry)
                if corr is not None:
                    listed = by_corr.get(corr)
                    if listed is None:
                        by_corr[corr] = [entry]
                    else:
                        listed.append(entry)
        self._last_ts, self._next_id = last, next_id
        self._entries.extend(entries)
        self._data.extend(values)
        for column in by_type.values():
            column.seal()

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
        sources: list[tuple[Column | list[Entry], int]]
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
        seq: Column | list[Entry], lo: int, since: float | None, until: float | None
    ) -> tuple[Column | list[Entry], int, int]:
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
        for key, count in Counter(entry[1] for entry in pruned).items():
            column = self._by_type[key]
            first = self._type_skip.get(key, 0) + count
            if first >= len(column):
                del self._by_type[key]
                self._type_skip.pop(key, None)
                continue
            if first >= PAGE:  # whole pages are dropped by sharing the rest: never shortened in place
                column = self._by_type[key] = column.after(first // PAGE)
                first %= PAGE
            self._type_skip[key] = first
        for key, count in Counter(entry[4] for entry in pruned).items():
            if key is None:
                continue
            listed = self._by_corr[key]
            first = self._corr_skip.get(key, 0) + count
            if first >= len(listed):
                del self._by_corr[key]
                self._corr_skip.pop(key, None)
            elif first > COMPACT_AFTER and first * 2 > len(listed):
                self._by_corr[key] = listed[first:]
                self._corr_skip.pop(key, None)
            else:
                self._corr_skip[key] = first
        self._start = cut
        if cut >= PAGE:
            self._entries = entries.after(cut // PAGE)
            self._data = self._data.after(cut // PAGE)
            self._base += cut - cut % PAGE
            self._start = cut % PAGE
        return len(pruned)


_strict_encoder = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def json_safe(value: Any) -> Any:
    """``value`` itself if it encodes as JSON, else its ``repr`` (event data may be anything)."""
    try:
        _strict_encoder.encode(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
