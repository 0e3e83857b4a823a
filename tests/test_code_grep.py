"""Structural grep: ast-grep patterns, files narrowed by the index's identifiers."""

from __future__ import annotations

import pytest
from code_project import with_code

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


def test_nested_and_repeated_matches_are_all_found_with_short_texts(tmp_path):
    from scope_ext.code._grep import TEXT_LIMIT

    operands = 2000  # every binary node of a long ``a + a + ...`` matches, nested in the next
    (tmp_path / "nested.py").write_text("x = " + " + ".join(["a"] * operands) + "\ny = b + c; z = b + c\n")

    async def main(rt, code):
        await (await code.index()).wait()
        found = await code.grep("$A + $B")
        nested = [r for r in found if r["line"] == 1]
        assert len(nested) == operands - 1 and all(len(r["match"]) <= TEXT_LIMIT + 1 for r in nested)
        assert {len(r["captures"]["A"]) for r in nested} >= {1, TEXT_LIMIT + 1}  # short ones whole, long ones cut
        assert all(r["captures"]["B"] == "a" for r in nested)
        repeated = [(r["column"], r["match"], r["captures"]) for r in found if r["line"] == 2]
        assert repeated == [(4, "b + c", {"A": "b", "B": "c"}), (15, "b + c", {"A": "b", "B": "c"})]

    with_code(tmp_path, main)
