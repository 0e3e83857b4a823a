"""Result tables: display, records, and pandas DataFrames."""

from __future__ import annotations

import io

from code_project import ask

from scope_ext import QueryResult


def test_results_display_and_convert():
    result = QueryResult("functions", ("fullname", "complexity"), [("a.<b>", 3)])
    assert list(result) == [{"fullname": "a.<b>", "complexity": 3}] and result[0]["complexity"] == 3
    assert "&lt;b&gt;" in result._repr_mimebundle_()["text/html"] and repr(result) == "<QueryResult 'functions': 1 row>"
    from rich.console import Console

    console = Console(record=True, width=80, color_system=None)
    console.print(result)
    assert "a.<b>" in console.export_text()


def test_results_convert_to_a_pandas_dataframe(project):
    (result,) = ask(project, "functions order by complexity desc")
    frame = result.to_pandas()
    assert list(frame.columns) == ["fullname", "complexity", "lines", "path", "line"]
    assert frame.iloc[0]["fullname"] == "app.core.Engine.start" and len(frame) == len(result)


def _text(renderable, width=80):
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text().splitlines()


def test_tables_fit_an_80_column_terminal_with_the_title_on_its_own_line():
    long = "x" * 150
    result = QueryResult("grep $X.append($Y)", ("path", "line", "match"), [("a/b.py", 3, long), ("c.py", 12, "y")])
    lines = _text(result)
    assert lines[0] == "grep $X.append($Y) (2 rows)" and all(len(line) <= 80 for line in lines)
    assert sum(line.count("x") for line in lines) == 150, "long text folds onto more lines, nothing cut"


def test_html_tables_align_text_left_numbers_right_and_are_never_typeset_as_math():
    result = QueryResult("grep $X.append($Y)", ("path", "line"), [("a.py", 3), ("b.py", None)])
    page = result._html()
    assert 'class="tex2jax_ignore mathjax_ignore"' in page
    assert '<th style="text-align:left">path</th>' in page and '<th style="text-align:right">line</th>' in page
    assert '<td style="text-align:left">a.py</td><td style="text-align:right">3</td>' in page
    assert "(1 row)" in QueryResult("q", ("a",), [(1,)])._html() and "(0 rows)" in QueryResult("q", ("a",), [])._html()


def test_the_status_fits_an_80_column_terminal(in_runtime):
    from scope_ext.notebook._magics import Status

    async def main(rt):
        for i in range(3):
            await rt.create_namespace(f"a-rather-long-scratch-namespace-name-{i}")
        return rt.snapshot()

    lines = _text(Status(True, in_runtime(main), {"production": "healthy"}))
    assert lines[0].startswith("scope_ext runtime running  up ") and lines[0].endswith(" crashes")
    assert all(len(line) <= 80 for line in lines) and sum("a-rather-long" in line for line in lines) == 3
