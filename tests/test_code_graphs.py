"""Focused pictures of the code: grown to a depth, never over their limit without saying so,
names read through re-exports, bad requests refused clearly."""

from __future__ import annotations

import textwrap

import pytest
from code_project import with_code

from scope_ext.code._errors import CodeError

SOURCES = {
    "shop/__init__.py": "from .core import checkout as buy\n",
    "shop/core.py": """
        from . import tax, cart
        def checkout(items):
            total = cart.total(items)
            return tax.apply(total)
        def refund():
            checkout([])
        """,
    "shop/cart.py": """
        from . import core
        def total(items):
            return sum(price(i) for i in items)
        def price(item):
            return item
        """,
    "shop/tax.py": """
        def apply(amount):
            return rate() * amount
        def rate():
            return 1.2
        """,
    "shop/models.py": """
        class Item: pass
        class Book(Item): pass
        class Ebook(Book): pass
        class Pen(Item): pass
        def big(x):
            if x:
                for i in x:
                    if i:
                        pass
            return x
        """,
}


def write(root):
    for name, source in SOURCES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(source))


def test_call_pictures_grow_to_their_depth_and_count_what_they_leave_out(tmp_path):
    write(tmp_path)

    async def main(rt, code):
        await (await code.index()).wait()
        await code.resolved()
        one = await code.graph("callees", "shop.buy", depth=1)  # a re-export: shop.core.checkout
        assert one.focus == "shop.core.checkout"
        assert {(e["source"], e["target"]) for e in one.edges} == {
            ("shop.core.checkout", "shop.cart.total"),
            ("shop.core.checkout", "shop.tax.apply"),
        }
        two = await code.graph("callees", "shop.core.checkout", depth=2)
        assert {n["id"] for n in two.nodes} == {
            "shop.core.checkout",
            "shop.cart.total",
            "shop.tax.apply",
            "shop.cart.price",
            "shop.tax.rate",
        }
        assert {n["id"]: n["depth"] for n in two.nodes}["shop.tax.rate"] == 2
        node = {n["id"]: n for n in two.nodes}["shop.tax.apply"]
        assert (node["kind"], node["path"], node["line"]) == ("function", "shop/tax.py", 2)
        assert two.left_out == 0
        cut = await code.graph("callees", "shop.core.checkout", depth=2, limit=3)
        assert len(cut.nodes) == 3 and cut.left_out == len(two.nodes) - 3  # said, not silently dropped
        assert all(e["source"] in {n["id"] for n in cut.nodes} for e in cut.edges)
        both = await code.graph("calls", "shop.core.checkout", depth=1)
        assert ("shop.core.refund", "shop.core.checkout") in {(e["source"], e["target"]) for e in both.edges}
        assert {n["id"]: n["depth"] for n in both.nodes}["shop.core.refund"] == -1  # a caller: above
        table = cut.table()
        assert "more not shown" in table.query and len(table.rows) == len(cut.edges)

    with_code(tmp_path, main)


def test_import_class_and_complexity_pictures(tmp_path):
    write(tmp_path)

    async def main(rt, code):
        await (await code.index()).wait()
        await code.resolved()
        imports = await code.graph("imports", "shop")
        cycle = {(e["source"], e["target"]) for e in imports.edges if e["cycle"]}
        assert cycle == {("shop.core", "shop.cart"), ("shop.cart", "shop.core")}
        assert ("shop.core", "shop.tax") in {(e["source"], e["target"]) for e in imports.edges}
        classes = await code.graph("classes", "shop.models.Book", depth=3)
        assert {(e["source"], e["target"]) for e in classes.edges} == {
            ("shop.models.Book", "shop.models.Item"),
            ("shop.models.Ebook", "shop.models.Book"),
        }
        hierarchy = await code.graph("classes", "shop.models.Item", depth=3)
        assert {n["id"] for n in hierarchy.nodes} == {f"shop.models.{c}" for c in ("Item", "Book", "Ebook", "Pen")}
        heat = await code.graph("complexity", "shop", limit=2)
        functions = [n for n in heat.nodes if n["kind"] == "function"]
        assert [n["id"] for n in functions][0] == "shop.models.big" and functions[0]["complexity"] == 4
        assert len(functions) == 2 and heat.left_out == 7 - 2  # of seven functions

    with_code(tmp_path, main)


@pytest.mark.parametrize(
    ("kind", "name", "options", "message"),
    [
        ("pie", "shop", {}, "no picture 'pie'"),
        ("callers", "shop.core.nothing", {}, "no function or class"),
        ("classes", "shop.core.checkout", {}, "no class"),
        ("imports", "nowhere", {}, "no module or package"),
        ("callers", "shop.core.checkout", {"depth": -1}, "depth takes 0 to 10"),
        ("callers", "shop.core.checkout", {"depth": 10**9}, "depth takes 0 to 10"),
        ("callers", "shop.core.checkout", {"limit": 0}, "limit takes 1 to 10000"),
    ],
)
def test_what_cannot_be_drawn_is_refused_clearly(tmp_path, kind, name, options, message):
    write(tmp_path)

    async def main(rt, code):
        await (await code.index()).wait()
        with pytest.raises(CodeError, match=message):
            await code.graph(kind, name, **options)

    with_code(tmp_path, main)
