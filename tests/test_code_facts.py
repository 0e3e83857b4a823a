"""Facts extraction: complexity equal to radon's on the whole standard library, and bad input."""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from scope_ext.code import _extract_tree
from scope_ext.code._facts import extract_cpython, facts_of, module_name, reads_like_cpython

STDLIB = sysconfig.get_paths()["stdlib"]


def stdlib_files() -> list[str]:
    found = []
    for folder, dirs, files in os.walk(STDLIB):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "__pycache__")]
        found.extend(os.path.join(folder, f) for f in files if f.endswith(".py"))
    return sorted(found)


def compare_with_radon(paths: list[str]) -> tuple[int, list[str]]:
    from radon.complexity import cc_visit
    from radon.visitors import Function

    compared, mismatches = 0, []
    for path in paths:
        facts = facts_of(STDLIB, path)
        if facts.error is not None:
            continue
        ours = {(f.lineno, f.name): f.complexity for f in facts.functions}
        try:
            blocks = cc_visit(Path(path).read_text(encoding="utf-8"))
        except Exception:  # files radon itself cannot read (e.g. other encodings)
            continue
        for block in blocks:
            functions = [block] if isinstance(block, Function) else list(getattr(block, "methods", []))
            for fn in functions:
                compared += 1
                if ours.get((fn.lineno, fn.name)) != fn.complexity:
                    mismatches.append(
                        f"{path}:{fn.lineno} {fn.name}: radon {fn.complexity}, ours {ours.get((fn.lineno, fn.name))}"
                    )
    return compared, mismatches


# The whole standard library on 2 processes: about a minute idle, 2-3 on a loaded 2-core machine.
@pytest.mark.timeout(900)
def test_complexity_equals_radon_on_the_whole_standard_library():
    files = stdlib_files()
    assert len(files) > 1000
    chunks = [files[i::2] for i in range(2)]
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(compare_with_radon, chunks))
    compared = sum(c for c, _ in results)
    mismatches = [m for _, ms in results for m in ms]
    assert compared > 30_000
    assert mismatches == [], f"{len(mismatches)} of {compared} differ, e.g. {mismatches[:5]}"


def comparable(extracted) -> list[list]:
    """Each table of extracted facts in an order-free form (the flow as its facts and scopes)."""
    *tables, flow = extracted
    return [sorted(t, key=repr) for t in tables] + [sorted(flow.facts) + sorted(flow.scopes)]


def compare_with_cpython(paths: list[str]) -> tuple[int, int, list[str]]:
    """tree-sitter's facts against CPython's for every file tree-sitter is trusted with."""
    parser = _extract_tree.parser()
    compared, handed_over, differences = 0, 0, []
    for path in paths:
        data = Path(path).read_bytes()
        fast = _extract_tree.extract(parser.parse(data)) if reads_like_cpython(data) else None
        if fast is None:
            handed_over += 1
            continue
        try:
            reference = extract_cpython(ast.parse(data))
        except SyntaxError as exc:
            differences.append(f"{path}: tree-sitter accepted what CPython rejects ({exc.msg})")
            continue
        compared += 1
        for table, ours, theirs in zip(
            ("classes", "functions", "calls", "imports", "flow"), comparable(fast), comparable(reference), strict=True
        ):
            if ours != theirs:
                only_ours = sorted(set(ours) - set(theirs), key=repr)[:2]
                only_theirs = sorted(set(theirs) - set(ours), key=repr)[:2]
                differences.append(f"{path} {table}: tree-sitter {only_ours}, CPython {only_theirs}")
    return compared, handed_over, differences


# The whole standard library on 2 processes: about a minute idle, 2-3 on a loaded 2-core machine.
@pytest.mark.timeout(900)
def test_tree_sitter_facts_equal_cpython_facts_on_the_whole_standard_library():
    files = stdlib_files()
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(compare_with_cpython, [files[i::2] for i in range(2)]))
    compared = sum(c for c, _, _ in results)
    handed_over = sum(h for _, h, _ in results)
    differences = [d for _, _, ds in results for d in ds]
    assert differences == [], f"{len(differences)} files differ, e.g. {differences[:3]}"
    assert compared > 0.97 * len(files) and handed_over < 0.03 * len(files)  # the fast path is the usual one


def test_cpython_takes_over_where_tree_sitter_cannot_be_trusted(tmp_path):
    cases = {
        "py2.py": (b"print 'hello'\n", "Missing parentheses"),  # tree-sitter parses Python 2 print
        "broken.py": (b"def f(:\n    pass\n", "invalid syntax"),
        "latin.py": ("# -*- coding: latin-1 -*-\ndef f():\n    return 'é'\n".encode("latin-1"), None),
        "cr.py": (b"def f():\r    return g()\r", None),
        # a real type alias statement: 3.12 syntax, an error for older interpreters
        "alias.py": (
            b"def f():\n    pass\ntype Point = tuple[int, int]\n",
            "invalid syntax" if sys.version_info < (3, 12) else None,
        ),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert _extract_tree.extract(_extract_tree.parser().parse(data)) is None or not reads_like_cpython(data), name
    for name, (_, message) in cases.items():
        facts = facts_of(str(tmp_path), str(tmp_path / name))
        if message is not None:
            assert message in facts.error.message, name
        else:
            assert facts.error is None and [f.name for f in facts.functions] == ["f"], name
    assert facts_of(str(tmp_path), str(tmp_path / "cr.py")).calls[0].lineno == 2


@pytest.mark.parametrize(
    "source",
    [
        "def f(k):\n    return {*k.items()}\n",  # read as (*k).items()
        "x = *a.b(), *c[0].d(), *e()\n",
        "def f(*args: *tuple[int, ...]):\n    return tuple[*args]\n",
        "def f(m):\n    type(m).x = 1\n",  # read as a type alias statement
        "def f(m):\n    type(m).x = a.b() if c() else [g(i) for i in m if i]\n",
        "class A:\n    type(self)[f()].z: List[h()] = g(h())\n",
        "type(x).y = lambda s: s.g()\n",
    ],
)
def test_misreadings_of_the_grammar_are_read_as_cpython_reads_them(source):
    ours = _extract_tree.extract(_extract_tree.parser().parse(source.encode()))
    assert ours is not None, "handed over to CPython"
    assert comparable(ours) == comparable(extract_cpython(ast.parse(source)))


def test_strict_mode_reports_what_only_cpython_rejects(tmp_path):
    (tmp_path / "m.py").write_text("def f(a=1, b):\n    pass\n")
    assert facts_of(str(tmp_path), str(tmp_path / "m.py")).error is None  # tree-sitter's grammar accepts it
    strict = facts_of(str(tmp_path), str(tmp_path / "m.py"), strict=True).error
    assert strict.line == 1 and "default" in strict.message


def test_bad_input_becomes_error_facts(tmp_path):
    cases = {
        "syntax.py": b"def broken(:\n    pass\n",
        "binary.py": b"\x00\x01\x02binary",
        "latin.py": b"# no coding cookie\nname = '\xe9t\xe9'\n",
        "empty.py": b"",
        "ok_latin.py": b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n",
        "deep.py": b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    facts = {name: facts_of(str(tmp_path), str(tmp_path / name)) for name in cases}
    assert facts["syntax.py"].error.line == 1 and "invalid syntax" in facts["syntax.py"].error.message
    assert "binary" in facts["binary.py"].error.message
    assert facts["latin.py"].error is not None
    assert facts["empty.py"].error is None and facts["empty.py"].lines == 0
    assert facts["ok_latin.py"].error is None  # PEP 263 declarations are honoured
    assert facts["deep.py"].error is None  # tree-sitter has no nesting limit; CPython's parser has
    strict = facts_of(str(tmp_path), str(tmp_path / "deep.py"), strict=True)
    assert "too many nested parentheses" in strict.error.message
    missing = facts_of(str(tmp_path), str(tmp_path / "missing.py"))
    assert missing.error.message.startswith("unreadable")


def test_extracted_facts(tmp_path):
    source = '''
"""Module doc."""
import os, json as j
from . import sibling
from ..pkg.mod import thing as other

@decorate(arg=compute())
class Base(Parent, mixins.Mixin):
    """A class.

    More text."""

    def method(self, a, *rest, key=default(), **extra):
        self.helper(a)
        return [os.path.join(x) for x in rest if x]

    async def later(self):
        async for item in stream():
            await item.wait()

def outer():
    def inner():
        return fn()
    return inner
'''
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(source)
    facts = facts_of(str(tmp_path), str(tmp_path / "pkg" / "mod.py"))
    assert facts.module == "pkg.mod" and facts.error is None
    (base,) = facts.classes
    assert (base.qualname, base.bases, base.decorators, base.methods, base.doc) == (
        "Base",
        ("Parent", "mixins.Mixin"),
        ("decorate(...)",),
        ("method", "later"),
        "A class.",
    )
    by_name = {f.qualname: f for f in facts.functions}
    method = by_name["Base.method"]
    assert method.cls == "Base" and method.args == ("self", "a", "*rest", "key", "**extra")
    assert method.complexity == 3  # 1 + comprehension + its if
    assert by_name["Base.later"].is_async and by_name["Base.later"].complexity == 2
    assert by_name["outer.inner"].cls is None
    calls = {(c.caller, c.callee) for c in facts.calls}
    assert {
        ("<module>", "decorate"),
        ("<module>", "compute"),
        ("Base.method", "self.helper"),
        ("Base.method", "os.path.join"),
        ("Base", "default"),
        ("outer.inner", "fn"),  # defaults run in the class body
        ("Base.later", "stream"),
        ("Base.later", "item.wait"),
    } <= calls
    imports = {(i.module, i.name, i.alias, i.level) for i in facts.imports}
    assert imports == {
        ("os", None, None, 0),
        ("json", None, "j", 0),
        ("", "sibling", None, 1),
        ("pkg.mod", "thing", "other", 2),
    }
    assert module_name(str(tmp_path), str(tmp_path / "pkg" / "__init__.py")) == "pkg"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def f():\n    with a:\n        pass\n", 1),  # radon does not count with
        ("def f():\n    assert a and b\n", 2),  # assert counts 1, its expression is not visited
        ("def f(x):\n    match x:\n        case 1: pass\n        case 2: pass\n        case _: pass\n", 3),
        ("def f():\n    try:\n        pass\n    except* ValueError:\n        pass\n", 1),  # except* is not counted
        ("def f():\n    while a:\n        pass\n    else:\n        pass\n", 3),
        ("def f():\n    return lambda: a if b else c\n", 2),
    ],
)
def test_complexity_rules(tmp_path, code, expected):
    from radon.complexity import cc_visit

    (tmp_path / "m.py").write_text(code)
    (fn,) = facts_of(str(tmp_path), str(tmp_path / "m.py")).functions
    assert fn.complexity == expected == cc_visit(code)[0].complexity
