"""Supervisors: specs, strategies, restart types, ordered start and stop, intensity, escalation."""

from __future__ import annotations

import pytest
import trio
from services import Echo, FailsInit, Lingering

import scope_ext as sx
from scope_ext import ChildSpec


def spec(child_id, restart="permanent", log=None, **kw):
    return ChildSpec(child_id, Echo, (child_id, log), restart=restart, name=child_id, **kw)


async def crash(name):
    with pytest.raises(sx.ServiceExited):
        await sx.call(name, "crash")


async def settle():
    await trio.sleep(0.02)


def pids(children):
    return {c.id: (c.process.pid if c.process else None) for c in children}


def test_child_spec_validation_gives_clear_errors():
    with pytest.raises(ValueError, match="restart must be"):
        ChildSpec("a", Echo, restart="sometimes")
    with pytest.raises(ValueError, match="shutdown must be"):
        ChildSpec("a", Echo, shutdown=-1)
    with pytest.raises(TypeError, match="args must be a tuple"):
        ChildSpec("a", Echo, args=[1])
    with pytest.raises(TypeError, match="start must be"):
        ChildSpec("a", 42)
    with pytest.raises(ValueError, match="type must be"):
        ChildSpec("a", Echo, type="manager")
    assert ChildSpec("a", Echo).shutdown_time == 5.0
    assert ChildSpec("s", sx.Supervisor).shutdown_time == "infinity"
    assert ChildSpec("s", sx.Supervisor).kind == "supervisor"


def test_supervisor_init_validation(in_runtime):
    async def main(rt):
        for args, message in [
            (([], "one_for_some"), "strategy must be"),
            (([], "one_for_one", -1), "max_restarts must be"),
            (([spec("a"), spec("a")],), "duplicate child id"),
        ]:
            with pytest.raises(sx.StartError, match=message):
                await rt.production.start(sx.Supervisor, *args, id="bad")

    in_runtime(main)


def test_children_start_in_order_and_stop_in_reverse(in_runtime):
    async def main(rt):
        log = []
        sup = await rt.production.start(sx.Supervisor, [spec(n, log=log) for n in "abc"], id="sup")
        assert log == [("init", "a"), ("init", "b"), ("init", "c")]
        log.clear()
        await sx.terminate_child(rt.production.root, "sup")
        assert not sup.alive
        assert log == [("terminate", c, "shutdown") for c in "cba"]

    in_runtime(main)


def test_start_failure_stops_already_started_children(in_runtime):
    async def main(rt):
        log = []
        children = [spec("a", log=log), spec("b", log=log), ChildSpec("bad", FailsInit, (log,)), spec("d", log=log)]
        with pytest.raises(sx.StartError, match="cannot start"):
            await rt.production.start(sx.Supervisor, children, id="sup")
        assert log == [
            ("init", "a"),
            ("init", "b"),
            ("init", "bad"),
            ("terminate", "b", "shutdown"),
            ("terminate", "a", "shutdown"),
        ]
        assert rt.production.whereis("a") is None

    in_runtime(main)


@pytest.mark.parametrize(
    ("strategy", "restarted"),
    [("one_for_one", {"b"}), ("one_for_all", {"a", "b", "c"}), ("rest_for_one", {"b", "c"})],
)
def test_strategies_restart_the_right_children(in_runtime, strategy, restarted):
    async def main(rt):
        log = []
        sup = await rt.production.start(sx.Supervisor, [spec(n, log=log) for n in "abc"], strategy, id="sup")
        before = pids(await sx.which_children(sup))
        log.clear()
        await crash("b")
        await settle()
        after = pids(await sx.which_children(sup))
        assert {c for c in "abc" if before[c] != after[c]} == restarted
        assert all(after[c] is not None for c in "abc")
        inits = [entry[1] for entry in log if entry[0] == "init"]
        assert inits == sorted(restarted)  # restarted in start order
        terminated = [entry[1] for entry in log if entry[0] == "terminate" and entry[2] == "shutdown"]
        assert terminated == sorted(restarted - {"b"}, reverse=True)  # siblings stopped in reverse order

    in_runtime(main)


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
def test_temporary_sibling_is_stopped_not_restarted_by_group_restart(in_runtime, strategy):
    async def main(rt):
        sup = await rt.production.start(
            sx.Supervisor, [spec("a"), spec("t", "temporary"), spec("c")], strategy, id="sup"
        )
        await crash("a")
        await settle()
        children = await sx.which_children(sup)
        assert [c.id for c in children] == ["a", "c"]
        assert rt.production.whereis("t") is None

    in_runtime(main)


def test_transient_restarts_only_on_abnormal_exit(in_runtime):
    async def main(rt):
        sup = await rt.production.start(sx.Supervisor, [spec("t", "transient")], id="sup")
        first = rt.production.whereis("t")
        await crash("t")
        await settle()
        second = rt.production.whereis("t")
        assert second is not None and second is not first
        await sx.call("t", ("stop", "normal"))
        await settle()
        assert rt.production.whereis("t") is None
        assert [c.status for c in await sx.which_children(sup)] == ["stopped"]
        await sx.restart_child(sup, "t")
        await sx.call("t", ("stop", sx.Shutdown("done")))
        await settle()
        assert rt.production.whereis("t") is None

    in_runtime(main)


def test_permanent_restarts_even_after_normal_exit(in_runtime):
    async def main(rt):
        await rt.production.start(sx.Supervisor, [spec("p")], id="sup")
        first = rt.production.whereis("p")
        await sx.call("p", ("stop", "normal"))
        await settle()
        assert rt.production.whereis("p") not in (None, first)

    in_runtime(main)


def test_temporary_is_never_restarted_and_is_forgotten(in_runtime):
    async def main(rt):
        sup = await rt.production.start(sx.Supervisor, [spec("t", "temporary")], id="sup")
        await crash("t")
        await settle()
        assert await sx.which_children(sup) == []

    in_runtime(main)


def test_intensity_exceeded_stops_children_in_reverse_and_escalates(in_runtime):
    async def main(rt):
        log = []
        inner = [spec("a", log=log), spec("b", log=log), spec("c", log=log)]
        outer = [ChildSpec("inner", sx.Supervisor, (inner, "one_for_one", 2, 5.0), name="inner")]
        top = await rt.production.start(sx.Supervisor, outer, "one_for_one", 5, 5.0, id="top")
        first_inner = rt.production.whereis("inner")
        down = sx.monitor(first_inner, receiver=None)
        for _ in range(3):  # two restarts are allowed, the third is one too many
            await crash("b")
            await settle()
        assert (await down.wait()).reason == sx.Shutdown("reached_max_restart_intensity")
        stops = [e[1] for e in log if e[0] == "terminate" and e[2] == "shutdown"]
        assert stops == ["c", "a"]  # at the third crash: the survivors stopped in reverse order
        await settle()
        second_inner = rt.production.whereis("inner")
        assert second_inner is not None and second_inner is not first_inner  # the parent restarted it
        top_sup = top.service
        assert top_sup.restarts_used() == 1
        assert await sx.call("b", "ping") == "ping"

    in_runtime(main)


def test_intensity_counts_only_restarts_within_the_period(in_runtime):
    async def main(rt):
        sup = await rt.production.start(sx.Supervisor, [spec("a")], "one_for_one", 1, 0.2, id="sup")
        await crash("a")
        await trio.sleep(0.25)  # the first restart has left the window
        await crash("a")
        await settle()
        assert sup.alive
        await crash("a")  # second within 0.2 s: past max_restarts=1
        await settle()
        assert not sup.alive
        assert sup.exit_reason == sx.Shutdown("reached_max_restart_intensity")

    in_runtime(main)


def test_escalation_reaches_the_namespace_root(in_runtime):
    async def main(rt):
        ns = await rt.create_namespace("fragile", max_restarts=0)
        await ns.start(sx.Supervisor, [spec("a")], "one_for_one", 0, 5.0, id="sup")
        with pytest.raises(sx.ServiceExited):
            await sx.call(ns.via("a"), "crash")
        await settle()
        assert ns.status == "down"
        assert rt.production.status == "running"
        await rt.drop_namespace("fragile")

    in_runtime(main)


def test_restart_failure_retries_and_counts_against_intensity(in_runtime):
    class FlakyInit(sx.Service):
        def init(self, state):
            state["inits"] += 1
            if state["inits"] > 1 and state["fail"]:
                raise RuntimeError("cannot restart")

        def handle_call(self, request, caller):
            raise ValueError("crash")

    async def main(rt):
        state = {"inits": 0, "fail": True}
        sup = await rt.production.start(
            sx.Supervisor, [ChildSpec("f", FlakyInit, (state,), name="f")], "one_for_one", 3, 5.0, id="sup"
        )
        with pytest.raises(sx.ServiceExited):
            await sx.call("f", "go")
        await sup.wait_exited()
        assert state["inits"] == 4  # the start, then 3 failed restarts; a 4th restart is past max_restarts=3
        assert sup.exit_reason == sx.Shutdown("reached_max_restart_intensity")

    in_runtime(main)


def test_shutdown_timeout_kills_a_slow_terminate(in_runtime):
    async def main(rt):
        log = []
        children = [
            ChildSpec("slow", Lingering, (10.0, log), shutdown=0.1),
            ChildSpec("quick", Lingering, (0.0, log), shutdown=1.0),
        ]
        sup = await rt.production.start(sx.Supervisor, children, id="sup")
        start = trio.current_time()
        await sx.terminate_child(rt.production.root, "sup")
        elapsed = trio.current_time() - start
        assert log == ["terminate-start", "terminate-end", "terminate-start"]  # quick first, slow killed
        assert 0.1 <= elapsed < 5.0  # killed at its 0.1 s shutdown time, not after its 10 s linger
        assert not sup.alive

    in_runtime(main)


def test_brutal_kill_skips_terminate_and_infinity_waits(in_runtime):
    async def main(rt):
        log = []
        sup = await rt.production.start(
            sx.Supervisor,
            [
                ChildSpec("patient", Lingering, (0.2, log), shutdown="infinity"),
                ChildSpec("brutal", Lingering, (5.0, log), shutdown="brutal_kill"),
            ],
            id="sup",
        )
        await sx.terminate_child(sup, "brutal")
        assert log == []
        start = trio.current_time()
        await sx.terminate_child(sup, "patient")
        assert log == ["terminate-start", "terminate-end"]
        assert trio.current_time() - start >= 0.2

    in_runtime(main)


def test_child_management_api(in_runtime):
    async def main(rt):
        sup = await rt.production.start(sx.Supervisor, [spec("a")], id="sup")
        proc = await sx.start_child(sup, ChildSpec("s", sx.Supervisor, ([spec("x")],)))
        assert proc.kind == "supervisor"
        assert await sx.count_children(sup) == sx.ChildCounts(specs=2, active=2, supervisors=1, workers=1)
        with pytest.raises(sx.SupervisorError, match="duplicate child id"):
            await sx.start_child(sup, spec("a"))
        with pytest.raises(sx.SupervisorError, match="is running"):
            await sx.restart_child(sup, "a")
        with pytest.raises(sx.SupervisorError, match="terminate it first"):
            await sx.delete_child(sup, "a")
        await sx.terminate_child(sup, "a")
        assert [(c.id, c.status) for c in await sx.which_children(sup)] == [("a", "stopped"), ("s", "running")]
        assert (await sx.count_children(sup)).active == 1
        restarted = await sx.restart_child(sup, "a")
        assert restarted.alive and rt.production.whereis("a") is restarted
        await sx.terminate_child(sup, "a")
        await sx.delete_child(sup, "a")
        assert [c.id for c in await sx.which_children(sup)] == ["s"]
        with pytest.raises(sx.SupervisorError, match="no child with id"):
            await sx.terminate_child(sup, "zzz")
        with pytest.raises(sx.StartError):
            await sx.start_child(sup, ChildSpec("bad", FailsInit))
        assert [c.id for c in await sx.which_children(sup)] == ["s"]

    in_runtime(main)


def test_name_clash_fails_the_start_clearly(in_runtime):
    async def main(rt):
        await rt.production.start(Echo, name="taken")
        with pytest.raises(sx.StartError, match="already registered"):
            await rt.production.start(Echo, name="taken", id="other")

    in_runtime(main)


def test_task_children_are_supervised(in_runtime):
    async def main(rt):
        runs = []

        async def job(label):
            runs.append(label)
            if len(runs) < 3:
                raise RuntimeError("job failed")

        sup = await rt.production.start(sx.Supervisor, [ChildSpec("job", job, ("j",), restart="transient")], id="sup")
        await trio.sleep(0.05)
        assert runs == ["j", "j", "j"]
        assert [(c.id, c.type, c.status) for c in await sx.which_children(sup)] == [("job", "task", "stopped")]

    in_runtime(main)


def test_dynamic_supervisor(in_runtime):
    async def main(rt):
        dyn = await rt.production.start(sx.DynamicSupervisor, 2, id="dyn")
        a = await sx.start_child(dyn, spec("a"))
        await sx.start_child(dyn, spec("b", "temporary"))
        with pytest.raises(sx.SupervisorError, match="max_children"):
            await sx.start_child(dyn, spec("c"))
        await crash("a")
        await settle()
        assert rt.production.whereis("a") not in (None, a)
        await crash("b")
        await settle()
        assert [c.id for c in await sx.which_children(dyn)] == ["a"]
        await sx.terminate_child(dyn, rt.production.whereis("a"))
        assert await sx.which_children(dyn) == []
        with pytest.raises(sx.SupervisorError, match="not a running child"):
            await sx.terminate_child(dyn, a)

    in_runtime(main)


def test_runtime_stop_stops_namespaces_in_reverse_order():
    log = []

    async def main(rt):
        await rt.production.start(sx.Supervisor, [spec("p1", log=log), spec("p2", log=log)], id="sup")
        scratch = await rt.create_namespace("scratch")
        await scratch.start(Echo, "s1", log, name="s1")
        log.clear()

    sx.run(main)
    assert [e[1] for e in log] == ["s1", "p2", "p1"]


def test_task_child_stops_gracefully_by_cancellation(in_runtime):
    async def main(rt):
        cleaned = []

        async def forever():
            try:
                await trio.sleep_forever()
            finally:
                cleaned.append("finally ran")

        sup = await rt.production.start(sx.Supervisor, [ChildSpec("loop", forever)], id="sup")
        (child,) = await sx.which_children(sup)
        start = trio.current_time()
        await sx.terminate_child(sup, "loop")
        assert trio.current_time() - start < 4.0  # cancelled at once, not after the 5 s shutdown timeout
        assert child.process.exit_reason == "shutdown" and cleaned == ["finally ran"]

    in_runtime(main)
