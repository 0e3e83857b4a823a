"""Query language and analysis: compiled queries, clear errors, resolution, cycles, unused code."""

from __future__ import annotations

import pytest

import scope_ext as sx
from scope_ext import QueryResult, start_code_layer
from scope_ext.code._analysis import cycles, resolve_relative
from scope_ext.code._query_language import QueryError, compile_query

PROJECT = {
    "app/__init__.py": "from .core import run\nfrom . import util\n",
    "app/core.py": (
        "import json\nimport os.path as osp\nfrom app.util import helper as h\nfrom .models import Model\n\n"
        "class Engine(Exception):\n    def start(self, x):\n        if x and x > 1:\n            return self.stop()\n"
        "        return json.dumps(x)\n\n    def stop(self):\n        return osp.join('a', 'b')\n\n\n"
        "def run():\n    h()\n    return Engine().start(1)\n\n\ndef never_called():\n    pass\n"
    ),
    "app/util.py": "from app import core\n\n\ndef helper():\n    return core.run\n",
    "app/models.py": "class Model:\n    pass\n\n\nclass Special(Model):\n    pass\n",
    "app/broken.py": "def oops(:\n",
}


@pytest.fixture
def project(tmp_path):
    for rel, text in PROJECT.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def ask(project, *queries):
    async def main(rt):
        await sx.start_foundation(rt.production)
        code = await start_code_layer(rt.production, project)
        await (await code.index()).wait()
        return [await code.query(q) for q in queries]

    return sx.run(main)


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
        ("Engine(...).start", None),
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


def test_results_display_and_convert():
    result = QueryResult("functions", ("fullname", "complexity"), [("a.<b>", 3)])
    assert list(result) == [{"fullname": "a.<b>", "complexity": 3}] and result[0]["complexity"] == 3
    assert (
        "&lt;b&gt;" in result._repr_mimebundle_()["text/html"] and repr(result) == "<QueryResult 'functions': 1 rows>"
    )
    from rich.console import Console

    console = Console(record=True, width=80, color_system=None)
    console.print(result)
    assert "a.<b>" in console.export_text()


def test_relative_imports_and_cycle_detection():
    assert resolve_relative("pkg.sub", 1, "") == "pkg.sub"
    assert resolve_relative("pkg.sub", 2, "other") == "pkg.other"
    assert resolve_relative("pkg", 3, "x") is None
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}) == [["a", "b", "c"]]


def test_structural_patterns_narrowed_by_the_index(project):
    (project / "app" / "lists.py").write_text(
        "items = []\nitems.append(1)\nother.append(x + 1)\ntext = 'append here'\n"
    )

    async def main(rt):
        await sx.start_foundation(rt.production)
        code = await start_code_layer(rt.production, project)
        await (await code.index()).wait()
        appends = await code.grep("$X.append($Y)")
        assert [(r["path"], r["line"], r["captures"]) for r in appends] == [
            ("app/lists.py", 2, {"X": "items", "Y": "1"}),
            ("app/lists.py", 3, {"X": "other", "Y": "x + 1"}),
        ]
        calls = await code.grep("json.dumps($$$ARGS)")
        assert [(r["path"], r["captures"]) for r in calls] == [("app/core.py", {"ARGS": "x"})]
        with pytest.raises(sx.ScopeError, match="ast-grep cannot use the pattern"):
            await code.grep("def (")

    sx.run(main)


def test_pattern_identifiers_skip_metavariables_keywords_and_strings():
    from scope_ext.code._grep import identifiers

    assert identifiers("$X.append($Y)") == ["append"]
    assert identifiers("if $A: return json.dumps($$$B, 'sort_keys')") == ["dumps", "json"]


def test_results_convert_to_a_pandas_dataframe(project):
    (result,) = ask(project, "functions order by complexity desc")
    frame = result.to_pandas()
    assert list(frame.columns) == ["fullname", "complexity", "lines", "path", "line"]
    assert frame.iloc[0]["fullname"] == "app.core.Engine.start" and len(frame) == len(result)
