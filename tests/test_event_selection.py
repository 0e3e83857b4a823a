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
    """Copy live parts out of the log's lists after 2 pruned rows (not 4096), so the examples
    below reach that path too."""
    saved, _event_log.COMPACT_AFTER = _event_log.COMPACT_AFTER, 2
    yield
    _event_log.COMPACT_AFTER = saved


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
    _fill(log, [("a", 99, "x")] * 10, 100.0)
    log.prune(2, None, 0.0)  # keeps 2 of 50: every list is cut or compacted
    got += [event for entries, data in batches for event in EventList(entries, data)]
    assert got == held and len(held) >= 20


def test_stored_events_and_query_results_give_the_garbage_collector_nothing_to_walk():
    import gc

    log = EventLog("ns")
    _fill(log, [("a", {"n": i}, ("req", i)) for i in range(1000)], 0.0)
    found = log.query(types=["a"])
    gc.collect()
    assert not any(map(gc.is_tracked, log._entries)), "entries hold only atoms: untracked after one pass"
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
