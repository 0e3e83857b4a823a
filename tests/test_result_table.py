"""Result tables: display, records, and pandas DataFrames."""

from __future__ import annotations

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
