"""Query language and analysis: compiled queries, clear errors, resolution, cycles, unused code."""

from __future__ import annotations

import pytest
from code_project import ask

from scope_ext.code._analysis import cycles, resolve_relative
from scope_ext.code._query_language import QueryError, compile_query


def test_example_questions_answer_from_the_index(project):
    (functions, callers, callees, importers, derived, unused, cyc, errors, modules) = ask(
        project,
        "functions where complexity > 1 order by complexity desc limit 20",
        "callers of json.dumps",
        "callees of app.core.run",
        "importers of app.util",
        "classes deriving from Exception",
        "unused functions in app",
        "import cycles",
        "errors",
        "modules where name like 'app%' order by name",
    )
    assert [r["fullname"] for r in functions] == ["app.core.Engine.start"]
    assert functions[0]["complexity"] == 3
    assert [(r["caller"], r["line"]) for r in callers] == [("app.core.Engine.start", 10)]
    assert {(r["callee"], r["target"]) for r in callees} == {
        ("h", "app.util.helper"),
        ("Engine", "app.core.Engine"),
        ("Engine(...).start", "app.core.Engine.start"),  # resolved: Engine() is an Engine
    }
    assert {r["importer"] for r in importers} == {"app", "app.core"}
    assert [r["fullname"] for r in derived] == ["app.core.Engine"]
    assert [r["fullname"] for r in unused] == ["app.core.never_called"]
    assert [r["modules"] for r in cyc] == ["app.core -> app.util"]  # "from app import core" names the submodule
    assert [(r["path"], r["line"]) for r in errors] == [("app/broken.py", 1)]
    assert [(r["name"], r["functions"]) for r in modules] == [
        ("app", 0),
        ("app.broken", 0),
        ("app.core", 4),
        ("app.models", 0),
        ("app.util", 1),
    ]


def test_self_calls_and_aliases_resolve(project):
    (callees,) = ask(project, "callees of app.core.Engine.start")
    assert {(r["callee"], r["target"]) for r in callees} == {
        ("self.stop", "app.core.Engine.stop"),
        ("json.dumps", "json.dumps"),
    }
    (stop,) = ask(project, "callees of app.core.Engine.stop")
    assert [(r["callee"], r["target"]) for r in stop] == [("osp.join", "os.path.join")]


@pytest.mark.parametrize(
    ("query", "message", "word"),
    [
        (
            "functions where complexty > 10",
            "unknown field 'complexty' for functions; did you mean 'complexity'?",
            "complexty",
        ),
        ("funtions", "unknown question 'funtions'; did you mean 'functions'?", "funtions"),
        ("callers json.dumps", "expected 'of', not 'json.dumps'", "json.dumps"),
        ("functions limit many", "limit takes a whole number, not 'many'", "many"),
        ("functions where name = 'x' extra", "unexpected 'extra' after a complete query", "extra"),
        ("functions where complexity >", "the query ends where a value should follow", ""),
    ],
)
def test_bad_queries_point_at_the_word_and_say_what_fits(query, message, word):
    with pytest.raises(QueryError) as info:
        compile_query(query)
    assert message in str(info.value) and info.value.word == word
    assert info.value.position == (query.index(word) if word else len(query))


def test_user_text_never_becomes_sql():
    compiled = compile_query("functions where name = 'x'' OR 1=1 --' and complexity > 2 limit 5")
    assert "OR 1=1" not in compiled.sql and compiled.params == ("x' OR 1=1 --", 2, 5)


def test_relative_imports_and_cycle_detection():
    assert resolve_relative("pkg.sub", 1, "") == "pkg.sub"
    assert resolve_relative("pkg.sub", 2, "other") == "pkg.other"
    assert resolve_relative("pkg", 3, "x") is None
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}) == [["a", "b", "c"]]
