"""Registry and namespaces: unique and duplicate keys, via names, values, pub/sub, isolation."""

from __future__ import annotations

import pytest
import trio
from services import Echo

import scope_ext as sx


def test_namespaces_create_list_drop(in_runtime):
    async def main(rt):
        assert [ns.name for ns in rt.namespaces()] == ["production"]
        scratch = await rt.create_namespace("scratch")
        await rt.create_namespace("test-1")
        assert [ns.name for ns in rt.namespaces()] == ["production", "scratch", "test-1"]
        with pytest.raises(sx.NamespaceError, match="already exists"):
            await rt.create_namespace("scratch")
        with pytest.raises(sx.NamespaceError, match="non-empty printable"):
            await rt.create_namespace("")
        with pytest.raises(sx.NamespaceError, match="cannot be dropped"):
            await rt.drop_namespace("production")
        await rt.drop_namespace("scratch")
        assert scratch.status == "dropped"
        with pytest.raises(sx.NamespaceError, match="no namespace 'scratch'"):
            rt.namespace("scratch")

    in_runtime(main)


def test_same_names_in_different_namespaces_do_not_collide(in_runtime):
    async def main(rt):
        a = await rt.create_namespace("a")
        b = await rt.create_namespace("b")
        await a.start(Echo, "in-a", name="svc")
        await b.start(Echo, "in-b", name="svc")
        await rt.production.start(Echo, "in-prod", name="svc")
        assert (await sx.call(a.via("svc"), "state"))["tag"] == "in-a"
        assert (await sx.call(b.via("svc"), "state"))["tag"] == "in-b"
        assert (await sx.call("svc", "state"))["tag"] == "in-prod"  # bare names: current namespace

    in_runtime(main)


def test_drop_stops_everything_and_leaks_nothing(in_runtime):
    async def main(rt):
        log = []
        ns = await rt.create_namespace("t")
        topics = ns.registry("topics", keys="duplicate")

        class Subscriber(Echo):
            def init(self, tag, log):
                super().init(tag, log)
                topics.register("news")

        await ns.start(sx.Supervisor, [sx.ChildSpec(i, Subscriber, (i, log), name=i) for i in ("x", "y")], id="tree")
        await rt.production.start(Echo, "prod", log, name="x")
        assert topics.count() == 2
        procs = ns.processes()
        assert len(procs) == 4  # root, tree, x, y
        log.clear()
        await rt.drop_namespace("t")
        assert [e[1] for e in log] == ["y", "x"]
        assert all(not p.alive for p in procs)
        assert ns.processes() == [] and ns.names.count() == 0 and topics.count() == 0
        assert all(p.namespace.name == "production" for p in rt.processes())
        assert (await sx.call("x", "state"))["tag"] == "prod"

    in_runtime(main)


def test_unique_keys_values_and_auto_unregister(in_runtime):
    async def main(rt):
        ns = rt.production
        reg = ns.registry("services")
        p1 = await ns.start(Echo, id="p1")
        p2 = await ns.start(Echo, id="p2", restart="temporary")
        reg.register("db", {"role": "primary"}, process=p1)
        with pytest.raises(sx.AlreadyRegistered) as info:
            reg.register("db", process=p2)
        assert info.value.holder is p1
        assert reg.whereis("db") is p1 and reg.lookup("db") == [(p1, {"role": "primary"})]
        assert reg.update_value("db", lambda v: {**v, "lag": 0}, process=p1) == {"role": "primary", "lag": 0}
        with pytest.raises(KeyError):
            reg.update_value("db", lambda v: v, process=p2)
        reg.register("cache", 1, process=p2)
        assert reg.keys_of(p2) == ["cache"]
        await sx.call(p2, ("stop", "normal"))
        await p2.wait_exited()
        assert reg.whereis("cache") is None
        reg.unregister("db", process=p1)
        assert reg.count() == 0

    in_runtime(main)


def test_duplicate_keys_dispatch_publish_match_select(in_runtime):
    async def main(rt):
        ns = rt.production
        topics = ns.registry("topics", keys="duplicate")
        procs = [await ns.start(Echo, i, id=f"s{i}") for i in range(3)]
        for i, proc in enumerate(procs):
            topics.register("news", {"level": i, "tags": ("a", i)}, process=proc)
        topics.register("sports", {"level": 9}, process=procs[0])
        assert topics.count() == 4 and topics.count("news") == 3
        assert topics.publish("news", "hello") == 3
        await trio.sleep(0)
        for proc in procs:
            assert (await sx.call(proc, "state"))["infos"] == ["hello"]
        assert topics.dispatch("news", lambda entries: sorted(v["level"] for _, v in entries)) == [0, 1, 2]
        assert topics.dispatch("nobody", lambda entries: 1 / 0) is None
        assert [p for p, _ in topics.match("news", {"tags": ("a", sx.ANY), "level": 1})] == [procs[1]]
        assert topics.count("news", {"level": 2}) == 1
        found = topics.select(lambda key, proc, value: value["level"] > 1)
        assert [(k, v["level"]) for k, _, v in found] == [("news", 2), ("sports", 9)]
        with pytest.raises(ValueError, match="has duplicate keys"):
            ns.registry("topics", keys="unique")

    in_runtime(main)


def test_registry_refuses_processes_of_other_namespaces(in_runtime):
    async def main(rt):
        other = await rt.create_namespace("other")
        proc = await other.start(Echo, id="e")
        with pytest.raises(ValueError, match="belongs to namespace 'other'"):
            rt.production.names.register("e", process=proc)

    in_runtime(main)


def test_listeners_see_register_and_unregister(in_runtime):
    async def main(rt):
        events = []
        reg = rt.production.names
        unsubscribe = reg.listen(lambda event, key, proc, value: events.append((event, key)))
        proc = await rt.production.start(Echo, name="watched", restart="temporary")
        await sx.call(proc, ("stop", "normal"))
        await proc.wait_exited()
        unsubscribe()
        await rt.production.start(Echo, name="unseen")
        assert events == [("register", "watched"), ("unregister", "watched")]

        def broken(*args):
            raise RuntimeError("listener bug")

        reg.listen(broken)
        await rt.production.start(Echo, name="a1")
        await rt.production.start(Echo, name="a2")  # the broken listener was detached, not fatal

    in_runtime(main)


def test_monitors_deliver_down_with_the_exit_reason(in_runtime):
    class Watcher(Echo):
        def handle_call(self, request, caller):
            if isinstance(request, tuple) and request[0] == "watch":
                self.mon = sx.monitor(request[1])
                return "watching"
            return super().handle_call(request, caller)

    async def main(rt):
        watcher = await rt.production.start(Watcher, name="w")
        target = await rt.production.start(Echo, name="t", restart="temporary")
        await sx.call(watcher, ("watch", "t"))
        plain = sx.monitor(target)
        cancelled = target.monitor()
        cancelled.cancel()
        await sx.cast(target, "crash")
        down = await plain.wait()
        assert down.process is target and isinstance(down.reason, ValueError)
        await trio.sleep(0)
        infos = (await sx.call(watcher, "state"))["infos"]
        assert len(infos) == 1 and infos[0].process is target and isinstance(infos[0].reason, ValueError)
        assert cancelled.down is None
        late = target.monitor()  # monitoring an exited process fires at once, with noproc (as OTP's)
        assert (await late.wait()).reason == sx.NOPROC

    in_runtime(main)


def test_via_names_resolve_and_bad_references_are_refused(in_runtime):

    async def main(rt):
        proc = await rt.production.start(Echo, name="fast")
        assert rt.production.whereis("fast") is proc is sx.resolve(rt.production.via("fast"))
        with pytest.raises(TypeError, match="not a service reference"):
            sx.resolve(["unhashable"])

    in_runtime(main)
