"""A query's selection reads the log in small batches while the log goes on: the result is what
the log held when the selection was taken, whatever is ingested or pruned meanwhile."""

import pytest
from event_queries import brute_force, drafts, draw_filters
from hypothesis import given, settings
from hypothesis import strategies as st

from scope_ext.foundation_layer import _event_log
from scope_ext.foundation_layer._event_log import EventList, EventLog


def _fill(log: EventLog, drafts: list[tuple[str, int, str | None]], t0: float) -> None:
    log.ingest([(t0 + i, [(kind, n, corr)]) for i, (kind, n, corr) in enumerate(drafts)])


@pytest.fixture(autouse=True, scope="module")
def compact_often():
    """Pages of 3 entries, and lists copied out after 2 pruned ones (not 1024 and 4096), so the
    examples below reach sealing, page drops and copies too."""
    saved = _event_log.PAGE, _event_log.COMPACT_AFTER
    _event_log.PAGE, _event_log.COMPACT_AFTER = 3, 2
    yield
    _event_log.PAGE, _event_log.COMPACT_AFTER = saved


@settings(max_examples=150, deadline=None)
@given(drafts, drafts, st.data())
def test_batches_equal_a_brute_force_read_of_the_log_at_selection_time(before, after, data):
    log = EventLog("ns")
    _fill(log, before, 0.0)
    log.prune(data.draw(st.integers(0, 80)), None, 0.0)
    held = log.query()
    filters = draw_filters(data, held)
    selection = log.select(**filters)
    batches = selection.batches(data.draw(st.integers(1, 5)))
    got = []
    for entries, values in batches:  # the log takes and drops events between batches
        got += EventList(entries, values)
        if data.draw(st.booleans()):
            _fill(log, after[:3], 100.0)
            after = after[3:]
        if data.draw(st.booleans()):
            log.prune(data.draw(st.integers(0, 10)), None, 0.0)
    assert got == brute_force(held, filters)
    assert selection.read() == got, "read at once (sharing the log's pages) after all that: the same"


def test_pruning_a_large_log_keeps_indexes_consistent():
    log = EventLog("ns")
    for round_ in range(6):
        _fill(log, [("a" if i % 3 else "b", i, "x" if i % 5 == 0 else None) for i in range(5000)], round_ * 5000.0)
        log.prune(7000, None, 0.0)
    live = log.query()
    assert len(live) == 7000 and [e.id for e in live] == list(range(23001, 30001))
    assert log.query(types=["b"]) == [e for e in live if e.type == "b"]
    assert log.query(correlation_id="x") == [e for e in live if e.correlation_id == "x"]


def test_bad_query_arguments_are_refused_before_any_read():
    log = EventLog("ns")
    for bad in ({"limit": -1}, {"offset": 1.5}, {"limit": float("nan")}, {"order": "up"}, {"where": 3}):
        try:
            log.select(**bad)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")


@pytest.mark.parametrize("filters", [{}, {"types": ["a"]}, {"types": ["a", "b"]}, {"correlation_id": "x"}])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_selection_read_while_the_log_prunes_everything_yields_what_it_held(filters, order):
    log = EventLog("ns")
    _fill(log, [("ab"[i % 2], i, "x") for i in range(40)], 0.0)
    held = log.query(order=order, **filters)
    batches = log.select(order=order, **filters).batches(3)
    got = list(EventList(*next(batches)))
    log.prune(30, None, 0.0)  # whole pages dropped: the new lists share the old ones' tails
    _fill(log, [("a", 99, "x")] * 10, 100.0)  # and seal new pages out of them
    got += list(EventList(*next(batches)))
    _fill(log, [("a", 98, "x")] * 10, 200.0)
    log.prune(2, None, 0.0)  # keeps 2 of 60: every list is cut or compacted
    got += [event for entries, data in batches for event in EventList(entries, data)]
    assert got == held and len(held) >= 20


def test_stored_events_and_query_results_give_the_garbage_collector_nothing_to_walk():
    import gc

    log = EventLog("ns")
    _fill(log, [("a", {"n": i}, ("req", i)) for i in range(1000)], 0.0)
    found = log.query(types=["a"])
    gc.collect()
    gc.collect()
    assert not any(map(gc.is_tracked, log._entries)), "entries hold only atoms: untracked after one pass"
    assert len(log._entries.pages) > 300 and not any(map(gc.is_tracked, log._entries.pages)), "pages too"
    assert gc.is_tracked(found._entries) and not any(map(gc.is_tracked, found._entries))
    assert found[3] == (4, "a", 3.0, "ns", ("req", 3), None, None, {"n": 3})


def test_an_event_list_reads_like_a_list():
    log = EventLog("ns")
    _fill(log, [("ab"[i % 2], i, None) for i in range(10)], 0.0)
    found = log.query()
    events = list(found)
    assert len(found) == 10 and found[-1] == events[-1] and found[2:5] == events[2:5]
    assert found[::-1] == events[::-1] and list(reversed(found)) == events[::-1]
    assert found == events and events == found and found != events[:-1] and found != "abc"
    assert found[1:3] == log.query(offset=1, limit=2) and [e.data for e in found[7:]] == [7, 8, 9]
    assert "10 events" in repr(found) and repr(found[:2]) == f"EventList({events[:2]!r})"
    with pytest.raises(IndexError):
        found[10]


@given(
    st.lists(st.integers(), max_size=40),
    st.integers(-50, 50),
    st.integers(-50, 50),
    st.sampled_from([None, 1, 2, -1, -3]),
)
def test_a_column_reads_like_the_list_it_holds(items, start, stop, step):
    column = _event_log.Column()
    for part in (items[:7], items[7:8], items[8:]):  # several extends, pages sealed between them
        column.extend(list(part))
    assert list(column) == items and list(reversed(column)) == items[::-1] and len(column) == len(items)
    assert column[start:stop:step] == items[start:stop:step]
    for index in (start, stop):
        if -len(items) <= index < len(items):
            assert column[index] == items[index]


@given(
    st.lists(st.integers(), max_size=40), st.integers(0, 45), st.integers(0, 45), st.integers(0, 45), st.integers(0, 45)
)
def test_a_window_of_a_column_is_the_slice_it_names(items, a, b, c, d):
    column = _event_log.Column()
    column.extend(list(items))
    window = column.window(a, b)
    assert list(window) == items[a:b] and len(window) == len(items[a:b]) and list(reversed(window)) == items[a:b][::-1]
    assert window[:] == items[a:b] and window[c:d] == items[a:b][c:d]
    assert list(window.window(c, d)) == items[a:b][c:d]  # a window of a window
    if items[a:b]:
        assert window[0] == items[a] and window[-1] == items[a:b][-1]


@given(st.lists(st.integers(0, 12), max_size=8), st.integers(1, 10))
def test_ingest_slices_keep_every_item_in_order_and_within_the_size(sizes, size):
    chunks = [(float(i), [("t", (i, j)) for j in range(n)]) for i, n in enumerate(sizes)]
    parts = list(_event_log.in_slices(chunks, size))
    assert [item for part in parts for _, items in part for item in items] == [
        item for _, items in chunks for item in items
    ]
    assert all(ts == items[0][1][0] for part in parts for ts, items in part if items)  # each item keeps its time
    assert all(sum(len(items) for _, items in part) <= size for part in parts) or parts == [chunks]
