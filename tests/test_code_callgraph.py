"""Call resolution: each Python feature with the edges it must give, the limits that keep it
precise, and a small package whose executed calls (recorded by the profiler) must all be found."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest
import trio
from code_project import with_code

import scope_ext as sx
from scope_ext.code._callgraph import MAX_VALUES, Solver, import_groups, program
from scope_ext.code._trace import executed_calls


def resolve(tmp_path, files: dict[str, str]) -> set[tuple[str, str]]:
    """(caller, target) of every resolved call of the files under ``tmp_path`` once ``files``
    (relative path -> source) are written."""
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    solver = Solver(program(str(tmp_path), sorted(str(p) for p in tmp_path.rglob("*.py"))))
    solver.solve()
    return {(caller, target) for _, caller, _, target, _ in solver.edges()}


FEATURES = {
    "self attributes set in __init__": (
        """
        class Engine:
            def start(self): pass
        class Car:
            def __init__(self):
                self.engine = Engine()
            def drive(self):
                self.engine.start()
        """,
        {("m.Car.drive", "m.Engine.start"), ("m.Car.__init__", "m.Engine")},
    ),
    "returned functions and closures": (
        """
        def impl(): pass
        def pick(): return impl
        def outer():
            def inner(): pass
            return inner
        def use():
            pick()()
            f = outer()
            f()
        """,
        {("m.use", "m.impl"), ("m.use", "m.outer.inner"), ("m.use", "m.pick"), ("m.use", "m.outer")},
    ),
    "decorators that wrap": (
        """
        def logged(fn):
            def wrapper(*args):
                return fn(*args)
            return wrapper
        @logged
        def work(): pass
        def main():
            work()
        """,
        {("m.main", "m.logged.wrapper"), ("m.logged.wrapper", "m.work"), ("m.<module>", "m.logged")},
    ),
    "calls inside lambdas belong to the function around them": (
        """
        def target(): pass
        def main():
            return lambda: target()
        """,
        {("m.main", "m.target")},
    ),
    "dict and list members": (
        """
        def a(): pass
        def b(): pass
        TABLE = {"a": a, "b": b}
        def dispatch(key):
            TABLE[key]()
            for step in [a, b]:
                step()
        """,
        {("m.dispatch", "m.a"), ("m.dispatch", "m.b")},
    ),
    "super() and the MRO": (
        """
        class A:
            def __init__(self): pass
            def m(self): pass
        class B(A):
            def __init__(self):
                super().__init__()
        def main():
            B().m()
        """,
        {("m.B.__init__", "m.A.__init__"), ("m.main", "m.A.m"), ("m.main", "m.B.__init__")},
    ),
    "keyword-passed callables": (
        """
        def on_done(): pass
        def run(callback=None):
            callback()
        def main():
            run(callback=on_done)
        """,
        {("m.run", "m.on_done"), ("m.main", "m.run")},
    ),
    "instantiation reaches __init__ along the MRO": (
        """
        class Base:
            def __init__(self, x): pass
        class Child(Base): pass
        def main():
            Child(1)
        """,
        {("m.main", "m.Child"), ("m.main", "m.Base.__init__")},
    ),
    "classmethods and staticmethods": (
        """
        class Shape:
            @classmethod
            def create(cls):
                return cls()
            @staticmethod
            def helper(): pass
            def area(self): pass
        def main():
            Shape.create().area()
            Shape.helper()
        """,
        {("m.main", "m.Shape.create"), ("m.main", "m.Shape.area"), ("m.main", "m.Shape.helper")},
    ),
    "properties are called when read": (
        """
        class Box:
            @property
            def size(self):
                return 1
        def main(box: Box):
            return Box().size
        """,
        {("m.main", "m.Box.size")},
    ),
    "overrides reached through self": (
        """
        class Base:
            def run(self):
                self.hook()
            def hook(self): pass
        class Sub(Base):
            def hook(self): pass
        """,
        {("m.Base.run", "m.Base.hook"), ("m.Base.run", "m.Sub.hook")},
    ),
    "callables kept in an attribute's container": (
        """
        def on_a(): pass
        class Bus:
            def __init__(self):
                self.handlers = []
            def subscribe(self, handler):
                self.handlers.append(handler)
            def publish(self):
                for handler in self.handlers:
                    handler()
        def main():
            bus = Bus()
            bus.subscribe(on_a)
        """,
        {("m.Bus.publish", "m.on_a"), ("m.main", "m.Bus.subscribe")},
    ),
    "*args and **kwargs": (
        """
        def f(): pass
        def g(): pass
        def call_all(*fns, **named):
            for fn in fns:
                fn()
            named["x"]()
        def main():
            call_all(f, x=g)
        """,
        {("m.call_all", "m.f"), ("m.call_all", "m.g")},
    ),
    "tuple unpacking of a returned pair": (
        """
        def f(): pass
        class K:
            def m(self): pass
        def pair():
            return f, K()
        def main():
            a, b = pair()
            a()
            b.m()
        """,
        {("m.main", "m.f"), ("m.main", "m.K.m")},
    ),
    "a list subclass's elements are not the list": (
        """
        class Leaf:
            def value(self): pass
        class Tokens(list):
            def first(self):
                return self[0].value()
            def add(self, leaf):
                self.append(leaf)
        def main():
            Tokens().add(Leaf())
        """,
        {("m.Tokens.first", "m.Leaf.value")},
    ),
}


@pytest.mark.parametrize("feature", list(FEATURES))
def test_each_feature_resolves(tmp_path, feature):
    source, expected = FEATURES[feature]
    found = resolve(tmp_path, {"m.py": source})
    assert expected <= found, sorted(expected - found)


def test_imports_re_exports_and_relative_imports_resolve_across_modules(tmp_path):
    found = resolve(
        tmp_path,
        {
            "pkg/__init__.py": "from .impl import work as job\nfrom . import tools\n",
            "pkg/impl.py": "from .tools import helper\ndef work():\n    helper()\n",
            "pkg/tools.py": "def helper(): pass\nclass Tool:\n    def use(self): pass\n",
            "app.py": """
                import pkg
                import pkg.tools as t
                from pkg import job
                def main():
                    pkg.job()
                    job()
                    t.Tool().use()
                    pkg.tools.helper()
                """,
        },
    )
    assert {
        ("app.main", "pkg.impl.work"),
        ("pkg.impl.work", "pkg.tools.helper"),
        ("app.main", "pkg.tools.Tool.use"),
        ("app.main", "pkg.tools.helper"),
    } <= found


def test_names_outside_the_index_are_targets_but_do_not_flow_into_parameters(tmp_path):
    found = resolve(
        tmp_path,
        {
            "m.py": """
                import re
                def use(pattern):
                    pattern()
                def main():
                    re.compile("x")
                    use(re.escape)
                """
        },
    )
    assert ("m.main", "re.compile") in found
    assert not any(caller == "m.use" for caller, _ in found)


def test_overrides_follow_the_c3_order(tmp_path):
    found = resolve(
        tmp_path,
        {
            "m.py": """
                class A:
                    def who(self): pass
                class B(A):
                    def who(self): pass
                class C(A):
                    def who(self): pass
                class D(B, C): pass
                def main():
                    D().who()
                """
        },
    )
    assert {t for c, t in found if c == "m.main" and t.endswith("who")} == {"m.B.who"}


def test_an_over_general_helper_leaves_its_calls_unresolved(tmp_path):
    functions = "".join(f"def f{i}(): pass\n" for i in range(MAX_VALUES + 1))
    calls = "".join(f"    apply(f{i})\n" for i in range(MAX_VALUES + 1))
    found = resolve(tmp_path, {"m.py": f"{functions}def apply(fn):\n    fn()\ndef main():\n{calls}"})
    assert not any(caller == "m.apply" for caller, _ in found)  # not 65 guesses
    assert ("m.main", "m.apply") in found


def test_a_cycle_of_attribute_reads_on_an_outside_name_ends(tmp_path):
    found = resolve(
        tmp_path, {"m.py": "import os\ndef walk(p):\n    p = os.path\n    while p:\n        p = p.parent\n"}
    )
    assert found == set()


PACKAGE = {
    "shop/__init__.py": "from .cart import Cart\nfrom .pricing import RULES, price\n",
    "shop/pricing.py": """
        def flat(amount):
            return amount
        def discounted(amount):
            return amount * 0.9
        RULES = {"flat": flat, "sale": discounted}
        def price(kind, amount):
            return RULES[kind](amount)
        """,
    "shop/cart.py": """
        from . import pricing
        class Item:
            def __init__(self, name, amount):
                self.name, self.amount = name, amount
            @property
            def label(self):
                return self.name.title()
        class Cart:
            def __init__(self):
                self.items = []
                self.listeners = []
            def on_change(self, listener):
                self.listeners.append(listener)
            def add(self, name, amount):
                self.items.append(Item(name, amount))
                for listener in self.listeners:
                    listener(self)
            def total(self, kind):
                return sum(pricing.price(kind, item.amount) for item in self.items)
            def labels(self):
                return [item.label for item in self.items]
        class LoggedCart(Cart):
            def add(self, name, amount):
                super().add(name, amount)
        """,
    "shop/run.py": """
        from .cart import LoggedCart
        def report(cart):
            return cart.labels()
        def main():
            cart = LoggedCart()
            cart.on_change(report)
            cart.add("tea", 3)
            return cart.total("sale"), cart.total("flat")
        """,
}


def test_every_call_a_small_package_makes_is_resolved(tmp_path, monkeypatch):
    """The ground truth: run the package under the profiler and compare."""
    for name, source in PACKAGE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    run = importlib.import_module("shop.run")
    try:
        executed = executed_calls(run.main, str(tmp_path))
    finally:
        for name in [n for n in sys.modules if n == "shop" or n.startswith("shop.")]:
            del sys.modules[name]
    assert len(executed) >= 10
    found = resolve(tmp_path, {})
    assert executed <= found, sorted(executed - found)
    # Precision: what is resolved and never ran is only the classes instantiated and the
    # discount rule's other branch; nothing else.
    functions = {callee for _, callee in executed}
    extra = {(c, t) for c, t in found - executed if t.startswith("shop.") and t not in functions}
    assert {t for _, t in extra} <= {"shop.cart.Item", "shop.cart.LoggedCart"}, sorted(extra)


def test_the_index_resolves_calls_after_each_run_and_again_after_an_edit(tmp_path):
    """Through the code layer: a worker process resolves in the background; ``callers of`` sees
    calls that only resolution finds; an edit that moves a call is resolved again."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "engine.py").write_text("class Engine:\n    def start(self): pass\n    def stop(self): pass\n")
    car = tmp_path / "app" / "car.py"
    car.write_text(
        "from app.engine import Engine\nclass Car:\n    def __init__(self):\n        self.engine = Engine()\n"
        "    def drive(self):\n        self.engine.start()\n"
    )

    async def callers(code, name):
        return sorted((row[0], row[1]) for row in (await code.query(f"callers of {name}")).rows)

    async def main(rt, code):
        await (await code.index()).wait()
        await code.resolved()
        assert await callers(code, "app.engine.Engine.start") == [("app.car.Car.drive", "self.engine.start")]
        assert ("app.car.Car.__init__", "Engine") in await callers(code, "app.engine.Engine")
        callees = (await code.query("callees of app.car.Car.drive")).rows
        assert [(c, t) for c, t, _ in callees] == [("self.engine.start", "app.engine.Engine.start")]
        (resolved,) = await sx.foundation().events.query(types="scope.code.calls.resolved")
        assert resolved.data["edges"] == 2

        car.write_text(car.read_text().replace("self.engine.start()", "self.engine.stop()"))
        await (await code.index()).wait()
        await code.resolved()
        assert await callers(code, "app.engine.Engine.start") == []
        assert await callers(code, "app.engine.Engine.stop") == [("app.car.Car.drive", "self.engine.stop")]

    with_code(tmp_path, main, index_path=tmp_path / "index.sqlite")  # the worker reads the file itself


def test_modules_that_never_import_one_another_are_solved_apart(tmp_path):
    files = {
        "a/__init__.py": "",
        "a/one.py": "import a.two\ndef f():\n    a.two.g()\n",
        "a/two.py": "def g(): pass\n",
        "b.py": "from c import h\ndef k():\n    h()\n",
        "c.py": "def h(): pass\n",
        "lone.py": "def z(): pass\n",
    }
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    modules = program(str(tmp_path), sorted(str(p) for p in tmp_path.rglob("*.py")))
    groups = [sorted(m.name for m in group) for group in import_groups(modules)]
    assert groups == [["a", "a.one", "a.two"], ["b", "c"], ["lone"]]
    assert ("a.one.f", "a.two.g") in resolve(tmp_path, {})


QUERIED = {
    "kit/__init__.py": "from .shapes import Shape as PublicShape\nfrom .tools import exported\n__all__ = ['exported']\n",
    "kit/shapes.py": """
        import unittest
        from unittest import TestCase
        class Shape: pass
        class Polygon(Shape): pass
        class Square(Polygon): pass
        class Circle(Shape): pass
        class Oops(Exception): pass
        class CaseA(unittest.TestCase): pass
        class CaseB(TestCase): pass
        class Orphan: pass
        """,
    "kit/tools.py": """
        def exported(): pass
        def aliased(): pass
        manage = aliased
        def handler(): pass
        HANDLERS = {"h": handler}
        def make():
            def inner(): pass
            return inner
        def orphan(): pass
        """,
    "kit/flow.py": """
        from .shapes import Square
        from . import tools
        def main():
            return first()
        def first():
            return second(Square())
        def second(shape):
            tools.make()
        """,
}


def test_queries_about_names_mean_what_the_code_means(tmp_path, monkeypatch):
    """Subclasses, bases, definitions and paths against what Python itself says of the package."""
    for name, source in QUERIED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    shapes = importlib.import_module("kit.shapes")
    try:

        def below(cls):
            return {c for sub in cls.__subclasses__() for c in {sub, *below(sub)}}

        def names(classes):
            return sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if c.__module__.startswith("kit"))

        expected_all = names(below(shapes.Shape))
        expected_direct = names(shapes.Shape.__subclasses__())
        expected_cases = names(
            c for c in vars(shapes).values() if isinstance(c, type) and c.__bases__ == (unittest_case(),)
        )
    finally:
        for name in [n for n in sys.modules if n == "kit" or n.startswith("kit.")]:
            del sys.modules[name]

    async def main(rt, code):
        await (await code.index()).wait()
        await code.resolved()

        async def column(query, index=0):
            return [row[index] for row in (await code.query(query)).rows]

        assert (
            await column("subclasses of kit.PublicShape")
            == expected_all
            == ["kit.shapes.Circle", "kit.shapes.Polygon", "kit.shapes.Square"]
        )
        assert await column("classes deriving from kit.shapes.Shape") == expected_direct
        assert (
            await column("classes deriving from unittest.TestCase")
            == expected_cases
            == ["kit.shapes.CaseA", "kit.shapes.CaseB"]
        )
        assert await column("classes deriving from Exception") == ["kit.shapes.Oops"]
        assert await column("definition of kit.PublicShape", 1) == ["kit.shapes.Shape"]
        assert (await code.query("definition of kit.PublicShape")).rows[0][2:] == ("kit/shapes.py", 4)
        path = (await code.query("path from kit.flow.main to kit.tools.make")).rows
        assert [(caller, callee) for _, caller, callee, _ in path] == [
            ("kit.flow.main", "kit.flow.first"),
            ("kit.flow.first", "kit.flow.second"),
            ("kit.flow.second", "kit.tools.make"),
        ]
        assert (await code.query("path from kit.tools.make to kit.flow.main")).rows == []
        references = {(r, how) for r, how, _, _ in (await code.query("references to kit.shapes.Square")).rows}
        assert references == {("kit.flow.first", "call"), ("kit.flow", "import")}
        # not exported (__all__), aliased (manage = aliased), handler (in a dict), inner (returned)
        assert await column("unused functions in kit") == ["kit.flow.main", "kit.tools.orphan"]
        # Shape, Polygon (bases), Square (made), the TestCases and PublicShape's Shape are used
        assert await column("unused classes in kit") == ["kit.shapes.Circle", "kit.shapes.Oops", "kit.shapes.Orphan"]
        every = await column("functions order by fullname")
        assert await column("functions order by fullname limit 2 offset 3") == every[3:5]
        assert await column("functions order by fullname offset 4") == every[4:] != []

    with_code(tmp_path, main)


def unittest_case():
    import unittest

    return unittest.TestCase


def test_resolution_does_not_depend_on_the_order_files_were_parsed_in(tmp_path):
    """Saturation depends on the order values arrive: the worker solves in module-name order, so
    an index parsed locally and one parsed on a cluster (other module ids) resolve alike."""
    import sqlite3

    from scope_ext.code._callgraph import pack
    from scope_ext.code._facts import facts_of
    from scope_ext.code._repository import RESOLVED, resolve_into

    helpers = "".join(f"def f{i}(): pass\n" for i in range(MAX_VALUES + 5))
    (tmp_path / "many.py").write_text(helpers + "def apply(fn):\n    fn()\n    return fn\n")
    for i in range(6):
        (tmp_path / f"user{i}.py").write_text(
            "from many import apply, " + ", ".join(f"f{j}" for j in range(i * 12, i * 12 + 12)) + "\n"
            "def run():\n" + "".join(f"    apply(f{j})()\n" for j in range(i * 12, i * 12 + 12))
        )
    paths = sorted(tmp_path.glob("*.py"))
    flows = [
        (i + 1, facts.module, pack(facts)) for i, facts in enumerate(facts_of(str(tmp_path), str(p)) for p in paths)
    ]

    def resolved(rows, name):
        out = str(tmp_path / name)
        resolve_into(rows, out)
        conn = sqlite3.connect(out)
        try:
            names = {mid: module for mid, module, _ in rows}
            return {
                table: sorted((names[row[0]], *row[1:]) for row in conn.execute(f"SELECT * FROM {table}"))
                for table in RESOLVED
            }
        finally:
            conn.close()

    forward = resolved(flows, "a.sqlite")
    backward = resolved([(100 - mid, module, data) for mid, module, data in reversed(flows)], "b.sqlite")
    assert forward == backward and forward["edges"]


def test_questions_asked_while_resolution_is_taken_in_are_answered(tmp_path):
    """An index in memory (SQLite's shared cache) cannot change its schema while readers ask:
    taking in a resolution must not, or queries and the writer fail with 'schema is locked'."""
    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(
            f"import json\nimport m{(i + 1) % 30}\ndef f{i}(x):\n    return json.dumps(x)\n"
            f"class C{i}:\n    def g(self):\n        return f{i}(1)\n"
        )

    async def main(rt, code):
        await (await code.index()).wait()
        await code.resolved()
        repository = rt.production.whereis("code.repository")
        failures = []

        async def ask():
            while not done.is_set():
                code.changed()  # no cached answer: each ask reads the index
                try:
                    await code.query("callers of json.dumps")
                except Exception as exc:  # noqa: BLE001  (any failure is the finding)
                    failures.append(repr(exc))
                await trio.sleep(0)

        done = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            for round in range(3):
                (tmp_path / "m1.py").write_text((tmp_path / "m1.py").read_text() + f"# {round}\n")
                await (await code.index()).wait()
                await code.resolved()
            done.set()
        assert failures == []
        assert rt.production.whereis("code.repository") is repository  # never restarted
        (last, *_) = await sx.foundation().events.query(types="scope.code.calls.resolved")
        assert last.data["edges"] > 0

    with_code(tmp_path, main)
