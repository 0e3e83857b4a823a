"""Services: call, cast, send, deferred replies, timeouts, mailbox policies, crashes."""

from __future__ import annotations

import gc
import math
import resource

import pytest
import trio
from services import AsyncEcho, Echo, Refusing, Slow

import scope_ext as sx


@pytest.mark.parametrize("cls", [Echo, AsyncEcho])
def test_call_cast_send_reach_their_handlers(in_runtime, cls):
    async def main(rt):
        await rt.production.start(cls, "a", name="echo")
        assert await sx.call("echo", ("hello", 1)) == ("hello", 1)
        await sx.cast("echo", "c1")
        await sx.send("echo", "i1")
        sx.cast_nowait("echo", "c2")
        sx.send_nowait("echo", "i2")
        state = await sx.call("echo", "state")
        assert state == {"tag": "a", "casts": ["c1", "c2"], "infos": ["i1", "i2"]}

    in_runtime(main)


def test_deferred_reply_from_another_handler(in_runtime):
    async def main(rt):
        await rt.production.start(Echo, name="echo")
        results = []
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(lambda: _append(results, sx.call("echo", "park")))
            await trio.sleep(0.05)
            assert results == []
            assert await sx.call("echo", ("release", "later")) == "released"
        assert results == ["later"] * 3

    async def _append(results, awaitable):
        results.append(await awaitable)

    in_runtime(main)


def test_call_times_out_without_hanging(in_runtime):
    async def main(rt):
        await rt.production.start(Echo, name="echo")
        start = trio.current_time()
        with pytest.raises(sx.CallTimeout, match="no reply within 0.1 s"):
            await sx.call("echo", "park", timeout=0.1)
        assert 0.1 <= trio.current_time() - start < 3.0  # the timeout, not a hang
        # the service is unharmed and later replies to the abandoned call are dropped
        assert await sx.call("echo", ("release", "x")) == "released"
        assert await sx.call("echo", "ping") == "ping"

    in_runtime(main)


def test_call_fails_fast_when_server_crashes_mid_call(in_runtime):
    async def main(rt):
        await rt.production.start(Echo, name="echo", restart="temporary")
        with pytest.raises(sx.ServiceExited, match="ValueError: crash requested") as info:
            await sx.call("echo", "crash", timeout=None)
        assert isinstance(info.value.__cause__, ValueError)
        assert isinstance(info.value.reason, ValueError)

    in_runtime(main)


def test_pending_and_queued_callers_fail_when_server_dies(in_runtime):
    async def main(rt):
        proc = await rt.production.start(Echo, name="echo", restart="temporary")
        errors = []

        async def parked():
            try:
                await sx.call(proc, "park", timeout=None)
            except sx.ServiceExited as exc:
                errors.append(exc.reason)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(parked)
            await trio.sleep(0.01)
            with pytest.raises(sx.ServiceExited):
                await sx.call(proc, "crash")
        assert len(errors) == 1 and isinstance(errors[0], ValueError)

    in_runtime(main)


def test_call_to_stopped_or_unknown_target_raises_not_running(in_runtime):
    async def main(rt):
        proc = await rt.production.start(Echo, name="echo", restart="temporary")
        await sx.call(proc, ("stop", "normal"))
        await proc.wait_exited()
        with pytest.raises(sx.NotRunning):
            await sx.call(proc, "x")
        with pytest.raises(sx.NotRunning):
            await sx.call("echo", "x")
        with pytest.raises(sx.NotRunning):
            await sx.cast("nobody", "x")
        with pytest.raises(sx.NotRunning):
            sx.send_nowait(proc, "x")

    in_runtime(main)


class SelfCaller(sx.Service):
    async def handle_call(self, request, caller):
        return await sx.call(self.process, "again")


class Bare(sx.Service):
    pass


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (SelfCaller, "called itself"),  # a call to itself would wait forever: refused
        (Bare, "Bare got a call it does not handle"),
    ],
)
def test_a_call_the_service_cannot_answer_fails_clearly(in_runtime, cls, message):
    async def main(rt):
        await rt.production.start(cls, name="s", restart="temporary")
        with pytest.raises(sx.ServiceExited, match=message):
            await sx.call("s", "go")

    in_runtime(main)


def test_full_mailbox_wait_policy_waits_then_times_out(in_runtime):
    async def main(rt):
        proc = await rt.production.start(Slow, 10.0, name="slow", shutdown=0.1)
        for i in range(5):  # one being handled, four queued
            await sx.cast(proc, i)
            await trio.sleep(0)
        assert len(proc.mailbox) == proc.capacity == 4
        proc.mailbox.send_timeout = 0.1  # the class default is 5 s
        start = trio.current_time()
        with pytest.raises(sx.MailboxFull, match="stayed full"):
            await sx.cast(proc, "more")
        assert trio.current_time() - start >= 0.1
        assert len(proc.mailbox) == 4

    in_runtime(main)


def test_full_mailbox_wait_policy_resumes_when_space_frees(in_runtime):
    async def main(rt):
        proc = await rt.production.start(Slow, 0.01, name="slow")
        for i in range(50):  # 50 casts into a 4-slot mailbox: the producer is slowed, not refused
            await sx.cast(proc, i)
            assert len(proc.mailbox) <= 4
        assert await sx.call(proc, "seen", timeout=None) == 50

    in_runtime(main)


def test_full_mailbox_refuse_policy_raises_at_once(in_runtime):
    async def main(rt):
        proc = await rt.production.start(Refusing, 10.0, name="r", shutdown=0.1)
        for i in range(5):
            await sx.cast(proc, i)
            await trio.sleep(0)
        with pytest.raises(sx.MailboxFull, match="is full"):
            await sx.cast(proc, "more")
        with pytest.raises(sx.MailboxFull):
            sx.cast_nowait(proc, "more")
        with pytest.raises(sx.MailboxFull):
            await sx.call(proc, "seen", timeout=1)

    in_runtime(main)


def test_million_casts_keep_memory_bounded(in_runtime):
    class Sink(sx.Service):
        mailbox_capacity = 1000

        def init(self):
            self.total = 0

        def handle_cast(self, message):
            self.total += 1

        def handle_call(self, request, caller):
            return self.total

    async def main(rt):
        proc = await rt.production.start(Sink, name="sink")
        gc.collect()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        longest = 0
        payload = "x" * 100
        for i in range(1_000_000):
            await sx.cast(proc, payload)
            if not i % 1000:
                longest = max(longest, len(proc.mailbox))
        assert await sx.call(proc, "total") == 1_000_000
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        assert longest <= 1000
        assert grown_kib < 50_000, f"peak memory grew {grown_kib} KiB"

    in_runtime(main)


def test_crash_is_reported_with_traceback_and_runtime_survives(in_runtime):
    async def main(rt):
        reports = []
        rt.on_crash(reports.append)
        await rt.production.start(Echo, "t", name="echo")
        await sx.cast("echo", "crash")
        await trio.sleep(0.01)
        assert [r.label for r in reports] == ["echo"]
        assert "ValueError: crash requested in t" in reports[0].traceback
        assert "handle_cast" in reports[0].traceback
        assert rt.crashes[-1] is reports[0]
        assert await sx.call("echo", "ping") == "ping"  # restarted by its supervisor

    in_runtime(main)


def test_crash_listener_that_raises_is_detached(in_runtime):
    async def main(rt):
        calls = []

        def bad(report):
            calls.append(report)
            raise RuntimeError("listener bug")

        rt.on_crash(bad)
        await rt.production.start(Echo, name="echo")
        for _ in range(2):
            await sx.cast("echo", "crash")
            await trio.sleep(0.01)
        assert len(calls) == 1

    in_runtime(main)


def test_stop_runs_terminate_and_replies_first(in_runtime):
    async def main(rt):
        log = []
        proc = await rt.production.start(Echo, "s", log, name="echo", restart="transient")
        assert await sx.call(proc, ("stop", "normal")) == "stopping"
        assert await proc.wait_exited() == "normal"
        assert log[-1] == ("terminate", "s", "normal")

    in_runtime(main)


def test_send_after_delivers_info_and_can_be_cancelled(in_runtime):
    class Timer(sx.Service):
        def init(self):
            self.got = []
            self.send_after(0.02, "first")
            self.send_after(0.04, "cancelled").cancel()

        def handle_info(self, message):
            self.got.append(message)

        def handle_call(self, request, caller):
            return self.got

    async def main(rt):
        await rt.production.start(Timer, name="t")
        await trio.sleep(0.1)
        assert await sx.call("t", "got") == ["first"]

    in_runtime(main)


def test_helper_task_crash_stops_its_service(in_runtime):
    class WithHelper(sx.Service):
        def init(self):
            self.start_soon(self.helper)

        async def helper(self):
            await trio.sleep(0.01)
            raise KeyError("helper failed")

    async def main(rt):
        proc = await rt.production.start(WithHelper, name="h", restart="temporary")
        reason = await proc.wait_exited()
        assert isinstance(reason, KeyError)

    in_runtime(main)


def test_call_timeout_values(in_runtime):
    async def main(rt):
        await rt.production.start(Echo, name="echo")
        assert await sx.call("echo", "x", timeout=math.inf) == "x"
        assert await sx.call("echo", "y", timeout=None) == "y"
        for bad in (0, -1):
            with pytest.raises(ValueError, match="timeout must be > 0"):
                await sx.call("echo", "z", timeout=bad)

    in_runtime(main)
