"""Snapshots: one consistent picture of every tree, and its rich rendering."""

from __future__ import annotations

import io

import pytest
import trio
from rich.console import Console
from services import Echo, Slow

import scope_ext as sx
from scope_ext import ChildSpec


def test_snapshot_describes_trees_children_and_budgets(in_runtime):
    async def main(rt):
        children = [
            ChildSpec("a", Echo, name="a"),
            ChildSpec("slow", Slow, (10.0,), name="slow", shutdown=0.1),
            ChildSpec("inner", sx.Supervisor, ([ChildSpec("x", Echo, name="x")], "rest_for_one", 7, 9.0)),
        ]
        await rt.production.start(sx.Supervisor, children, "one_for_all", 5, 5.0, id="top")
        await rt.create_namespace("scratch")
        with pytest.raises(sx.ServiceExited):
            await sx.call("x", "crash")
        for i in range(3):
            await sx.cast("slow", i)
            await trio.sleep(0)
        await sx.call("a", "ping")
        await trio.sleep(0.02)
        snap = rt.snapshot()
        assert [ns.name for ns in snap.namespaces] == ["production", "scratch"]
        prod = snap.find("production")
        top = prod.root.children[0]
        assert top.id == "top" and top.supervision == sx.Supervision("one_for_all", 5, 5.0, 0, 5)
        a, slow, inner = top.children
        assert (a.id, a.kind, a.status, a.handled, a.capacity, a.supervision) == (
            "a",
            "worker",
            "running",
            1,
            1000,
            None,
        )
        assert (slow.mailbox, slow.capacity) == (2, 4)
        assert inner.supervision == sx.Supervision("rest_for_one", 7, 9.0, 1, 6)
        (x,) = inner.children
        assert x.restarts == 1 and x.status == "running"
        assert x.last_error == "ValueError: crash requested in None"
        assert "Traceback" in x.last_traceback and "handle_call" in x.last_traceback
        assert a.uptime > 0 and prod.processes == 6 and prod.names == 3
        assert snap.processes == 7 and snap.crashes == 1
        assert snap.find("scratch").root.children == ()

    in_runtime(main)


def test_snapshot_shows_stopped_and_restarting_children(in_runtime):
    async def main(rt):
        sup = await rt.production.start(sx.Supervisor, [ChildSpec("t", Echo, restart="transient", name="t")], id="s")
        await sx.call("t", ("stop", "normal"))
        await trio.sleep(0.01)
        (child,) = rt.snapshot().find("production").root.children[0].children
        assert (child.status, child.pid) == ("stopped", None)
        await sx.terminate_child(rt.production.root, "s")
        assert rt.snapshot().find("production").root.children[0].status == "stopped"
        assert not sup.alive

    in_runtime(main)


def test_snapshot_renders_with_rich(in_runtime):
    async def main(rt):
        await rt.production.start(sx.Supervisor, [ChildSpec("worker-1", Echo, name="w")], id="app")
        with pytest.raises(sx.ServiceExited):
            await sx.call("w", "crash")
        console = Console(width=200, record=True, color_system=None)
        console.print(rt.snapshot())
        text = console.export_text()
        assert "production running" in text
        assert "app" in text and "one_for_one" in text and "budget 1/3 in 5s" in text
        assert "worker-1" in text and "restarts 1" in text and "last error: ValueError" in text

    in_runtime(main)


def test_a_bounded_rendering_says_how_many_it_left_out(in_runtime):
    from scope_ext.runtime._snapshot import render_snapshot

    async def main(rt):
        specs = [ChildSpec(f"w{i}", Echo) for i in range(30)]
        await rt.production.start(sx.Supervisor, specs, id="pool")
        snap = rt.snapshot()
        console = Console(width=200, record=True, color_system=None)
        console.print(render_snapshot(snap, limit=10))
        text = console.export_text()
        assert "w8 " in text and "w9 " not in text  # the pool, then w0 ... w8: ten nodes
        assert "… and 21 more" in text
        console = Console(width=200, record=True, color_system=None)
        console.print(render_snapshot(snap))
        text = console.export_text()
        assert "w29 " in text and "more" not in text  # no limit: every node

    in_runtime(main)


class _CrashSoon(sx.Service):
    def init(self) -> None:
        self.send_after(0.02, "crash")

    def handle_info(self, message: object) -> None:
        raise RuntimeError("crash loop")


def test_a_crash_loop_shows_as_crashing_and_its_ancestors_know(in_runtime):
    from scope_ext.notebook._feeds import CRASHING, tree_nodes

    async def main(rt):
        specs = [
            ChildSpec("loop", _CrashSoon),
            ChildSpec("calm", Echo),
            ChildSpec("once", _CrashSoon, restart="transient"),
        ]
        await rt.production.start(sx.Supervisor, specs, "one_for_one", 1000, 1.0, id="app")
        await trio.sleep(0.6)
        snap = rt.snapshot()
        return {n.id: n.recent_restarts for n in snap.find("production").root.children[0].children}, tree_nodes(snap)

    recent, nodes = in_runtime(main)
    assert recent["loop"] >= CRASHING and recent["calm"] == 0
    assert nodes["production/app/loop"]["health"] == "crashing" and "health" not in nodes["production/app/calm"]
    assert nodes["production/app/loop"]["status"] in ("running", "restarting")  # its status alone looks fine
    assert "health" not in nodes["production/app"] and nodes["production/app"]["below"] == "crashing"
    assert nodes["production"]["below"] == "crashing" and "below" not in nodes["production/app/calm"]  # ok: left out


class _LongError(sx.Service):
    def init(self) -> None:
        self.send_after(0.01, "crash")

    def handle_info(self, message: object) -> None:
        raise RuntimeError("a rather long explanation of what went wrong " * 4)


def test_the_terminal_tree_fits_80_columns_whatever_its_labels_hold(in_runtime):
    async def main(rt):
        specs = [ChildSpec(f"service-with-a-long-name-{i}", _LongError) for i in range(3)]
        await rt.production.start(sx.Supervisor, specs, "one_for_one", 1000, 1.0, id="app")
        await trio.sleep(0.2)
        return rt.snapshot()

    console = Console(width=80, record=True, color_system=None, file=io.StringIO())
    console.print(sx.render_snapshot(in_runtime(main)))
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines) and sum("service-with-a-long-name" in line for line in lines) == 3
    assert "last error:" in text and all(
        line.startswith(("scope_ext", "production", "└", " ", "│", "├")) for line in lines
    )
