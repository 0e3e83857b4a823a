"""The code layer's services answer any query or pattern text: a result or one clear error, and
never a crash (property-based: texts built from the query language's words, numbers of every size,
quotes, metavariables and arbitrary text)."""

from __future__ import annotations

import math

import trio
from code_project import write_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scope_ext as sx
from scope_ext.code._query_language import FIELDS, OPERATORS, QUESTIONS

NUMBER = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([2**63, 2**63 - 1, -(2**63), 10**400, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f) if math.isfinite(f) else str(f)),
).map(str)
VALUE = st.one_of(
    NUMBER, st.text(max_size=10).map(lambda s: "'" + s.replace("'", "''") + "'"), st.sampled_from(["x", "'"])
)
NAME = st.one_of(st.sampled_from(["json.dumps", "app", "app.core.run", "", "%", "_"]), st.text(max_size=12))


@st.composite
def queries(draw: st.DrawFn) -> str:
    """Mostly well-formed questions with hostile values (huge numbers, NaN, quotes, 1,200 conditions),
    and some arbitrary text."""
    kind = draw(st.sampled_from(["listing", "listing", "relation", "other"]))
    if kind == "listing":
        entity = draw(st.sampled_from(sorted(FIELDS)))
        fields = sorted(FIELDS[entity])
        parts = [entity]
        count = draw(st.sampled_from([0, 1, 2, 150, 1200]))
        if count:
            one = f"{draw(st.sampled_from(fields))} {draw(st.sampled_from(sorted(OPERATORS)))} {draw(VALUE)}"
            parts += ["where", " and ".join([one] * count)]
        if draw(st.booleans()):
            parts += ["order by", draw(st.sampled_from(fields)), draw(st.sampled_from(["asc", "desc", ""]))]
        if draw(st.booleans()):
            parts += ["limit", draw(NUMBER)]
        return " ".join(parts)
    if kind == "relation":
        question = draw(st.sampled_from([q for q in QUESTIONS if q not in ("functions", "classes", "modules")]))
        return f"{question} {draw(NAME)}"
    return draw(st.text(max_size=40))


PATTERNS = st.one_of(
    st.sampled_from(["$$$", "$$$ARGS", "f($$$)", "$$$ + 1", "$", "$X", "$X.append($Y)", "$X.append($Y", "", " "]),
    st.text(alphabet="$XY().,+ append'\"1", max_size=16),
    st.text(max_size=8),
)
REFUSED = (sx.QueryError, sx.PatternError, sx.CodeError)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(queries(), min_size=30, max_size=30), patterns=st.lists(PATTERNS, min_size=15, max_size=15))
def test_any_text_is_answered_or_refused_and_no_service_crashes(tmp_path_factory, texts, patterns):
    root = write_project(tmp_path_factory.mktemp("project"))

    async def main(rt):
        await sx.start_foundation(rt.production)
        code = await sx.start_code_layer(rt.production, root)
        await (await code.index()).wait()
        (layer,) = [c for c in await sx.which_children(rt.production.root) if c.id == "code"]
        before = [(c.id, c.process.pid) for c in await sx.which_children(layer.process)]
        for text in texts:
            try:
                assert isinstance(await code.query(text), sx.QueryResult)
            except REFUSED as exc:
                assert str(exc)  # says what is wrong
        for pattern in patterns:
            try:
                assert isinstance(await code.grep(pattern), sx.QueryResult)
            except REFUSED:
                pass
        with trio.fail_after(5):
            assert [(c.id, c.process.pid) for c in await sx.which_children(layer.process)] == before
        assert [r.label for r in rt.crashes] == []

    sx.run(main)
