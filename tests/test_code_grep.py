"""Structural grep: ast-grep patterns, files narrowed by the index's identifiers."""

from __future__ import annotations

import pytest

import scope_ext as sx
from scope_ext import start_code_layer


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
