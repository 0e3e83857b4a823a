"""A query's selection reads the log in small batches while the log goes on: the result is what
the log held when the selection was taken, whatever is ingested or pruned meanwhile."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scope_ext.foundation_layer import _event_log
from scope_ext.foundation_layer._event_log import EventLog

kinds = st.sampled_from(["a", "b", "c"])
items = st.lists(st.tuples(kinds, st.integers(0, 9), st.one_of(st.none(), st.sampled_from(["x", "y"]))), max_size=80)


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
@given(items, items, st.data())
def test_batches_equal_a_brute_force_read_of_the_log_at_selection_time(before, after, data):
    log = EventLog("ns")
    _fill(log, before, 0.0)
    log.prune(data.draw(st.integers(0, 80)), None, 0.0)
    held = log.query()
    types = data.draw(st.one_of(st.none(), st.lists(kinds, min_size=1, max_size=2)))
    corr = data.draw(st.one_of(st.none(), st.sampled_from(["x", "y"])))
    since = data.draw(st.one_of(st.none(), st.floats(0, 80)))
    limit = data.draw(st.one_of(st.none(), st.integers(0, 12)))
    offset = data.draw(st.integers(0, 12))
    order = data.draw(st.sampled_from(["asc", "desc"]))
    where = data.draw(st.sampled_from([None, lambda d: d % 2 == 0]))
    after_id = data.draw(st.one_of(st.none(), st.integers(-1, 90)))
    selection = log.select(
        types=types,
        correlation_id=corr,
        since=since,
        limit=limit,
        offset=offset,
        order=order,
        where=where,
        after_id=after_id,
    )
    batches = selection.batches(data.draw(st.integers(1, 5)))
    got = []
    for batch in batches:  # the log takes and drops events between batches
        got += batch
        if data.draw(st.booleans()):
            _fill(log, after[:3], 100.0)
            after = after[3:]
        if data.draw(st.booleans()):
            log.prune(data.draw(st.integers(0, 10)), None, 0.0)
    expected = [
        e
        for e in held
        if (types is None or e.type in types)
        and (corr is None or e.correlation_id == corr)
        and (since is None or e.timestamp >= since)
        and (where is None or where(e.data))
        and (after_id is None or e.id > after_id)
    ]
    if order == "desc":
        expected.reverse()
    assert got == expected[offset : None if limit is None else offset + limit]


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
    got = next(batches)
    _fill(log, [("a", 99, "x")] * 10, 100.0)
    log.prune(2, None, 0.0)  # keeps 2 of 50: every list is cut or compacted
    got += [event for batch in batches for event in batch]
    assert got == held and len(held) >= 20
