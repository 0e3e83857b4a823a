"""Random event-query filters and the brute-force answer they should get (shared by the log's
and the store's query tests)."""

from typing import Any

from hypothesis import strategies as st

kinds = st.sampled_from(["a", "b", "c"])
drafts = st.lists(st.tuples(kinds, st.integers(0, 9), st.one_of(st.none(), st.sampled_from(["x", "y"]))), max_size=60)


def draw_filters(data: st.DataObject, stored: list[Any]) -> dict[str, Any]:
    """Keyword arguments for a query over ``stored`` events (``since`` is one of their times)."""
    lo = data.draw(st.integers(0, max(0, len(stored))))
    return {
        "types": data.draw(st.one_of(st.none(), st.lists(kinds, min_size=1, max_size=2))),
        "correlation_id": data.draw(st.one_of(st.none(), st.sampled_from(["x", "y"]))),
        "since": stored[lo].timestamp if lo < len(stored) else None,
        "limit": data.draw(st.one_of(st.none(), st.integers(0, 10))),
        "offset": data.draw(st.integers(0, 5)),
        "order": data.draw(st.sampled_from(["asc", "desc"])),
        "where": data.draw(st.sampled_from([None, lambda d: d % 2 == 0])),
        "after_id": data.draw(st.one_of(st.none(), st.integers(-1, len(stored) + 2))),
    }


def brute_force(stored: list[Any], f: dict[str, Any]) -> list[Any]:
    """What a query with filters ``f`` returns from ``stored`` (every event, in id order)."""
    found = [
        e
        for e in stored
        if (f["types"] is None or e.type in f["types"])
        and (f["correlation_id"] is None or e.correlation_id == f["correlation_id"])
        and (f["since"] is None or e.timestamp >= f["since"])
        and (f["where"] is None or f["where"](e.data))
        and (f["after_id"] is None or e.id > f["after_id"])
    ]
    if f["order"] == "desc":
        found.reverse()
    return found[f["offset"] : None if f["limit"] is None else f["offset"] + f["limit"]]
