"""OTP's word at the edges: a task that shields itself from cancellation is killed at its shutdown
time all the same; a call to a full mailbox waits its timeout once; monitoring a dead process
says noproc. Timing runs on trio's MockClock (virtual time), so these hold on any machine."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import scope_ext as sx
from scope_ext import ChildSpec


def run_virtual(main) -> None:
    async def wrapper():
        async with sx.open_runtime() as rt:
            await main(rt)

    trio.run(wrapper, clock=trio.testing.MockClock(autojump_threshold=0))


def test_a_task_that_shields_itself_is_killed_at_its_shutdown_time():
    async def main(rt):
        release = trio.Event()

        async def stubborn():
            with trio.CancelScope(shield=True):
                await release.wait()  # deaf to cancellation until the test lets it go

        sup = await rt.production.start(sx.Supervisor, [ChildSpec("stubborn", stubborn, shutdown=1.0)], id="sup")
        (child,) = await sx.which_children(sup)
        proc = child.process
        rt.production.names.register("stubborn-name", process=proc)
        watched = sx.monitor(proc)
        start = trio.current_time()
        await sx.terminate_child(sup, "stubborn")
        assert trio.current_time() - start < 2.0  # its 1 s shutdown time and a moment, not forever
        assert proc.exit_reason == sx.KILLED and not proc.alive
        assert (await watched.wait()).reason == sx.KILLED
        assert rt.production.whereis("stubborn-name") is None  # its names are free again
        assert [c.status for c in await sx.which_children(sup)] == ["stopped"]
        assert await sx.restart_child(sup, "stubborn")  # the supervisor carries on
        release.set()  # the old task ends on its own; it changes nothing any more
        await trio.sleep(0.1)
        assert proc.exit_reason == sx.KILLED

    run_virtual(main)


def test_a_killed_task_that_stops_at_once_is_reported_killed_not_shutdown():
    async def main(rt):
        async def slow_cleanup():
            try:
                await trio.sleep_forever()
            finally:
                with trio.CancelScope(shield=True):
                    await trio.sleep(5)  # cleanup longer than its 0.5 s shutdown time allows

        sup = await rt.production.start(sx.Supervisor, [ChildSpec("slow", slow_cleanup, shutdown=0.5)], id="sup")
        (child,) = await sx.which_children(sup)
        await sx.terminate_child(sup, "slow")
        assert child.process.exit_reason == sx.KILLED

    run_virtual(main)


class Busy(sx.Service):
    """Each call keeps it busy for the seconds it asks for."""

    mailbox_capacity = 1

    async def handle_call(self, seconds, caller):
        await trio.sleep(seconds)
        return "done"


def test_a_call_to_a_full_mailbox_waits_its_timeout_once():
    async def main(rt):
        await rt.production.start(Busy, name="busy")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: sx.call("busy", 0.8, timeout=None))  # busy until 0.8
            await trio.sleep(0.01)
            nursery.start_soon(lambda: sx.call("busy", 0, timeout=None))  # fills the mailbox
            await trio.sleep(0.01)
            start = trio.current_time()
            with pytest.raises(sx.CallTimeout):  # room at 0.8, then 5 s of work: the timeout is at 1.0
                await sx.call("busy", 5, timeout=1.0)
            assert trio.current_time() - start <= 1.05  # one timeout in all, not 0.8 s more
            nursery.cancel_scope.cancel()

    run_virtual(main)


def test_monitoring_a_process_that_already_exited_says_noproc():
    async def main(rt):
        async def quick():
            raise RuntimeError("gone")

        proc = await rt.production.start(quick, restart="temporary")
        await proc.wait_exited()
        assert isinstance(proc.exit_reason, RuntimeError)
        assert (await sx.monitor(proc).wait()).reason == sx.NOPROC

    run_virtual(main)
