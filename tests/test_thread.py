"""The runtime on its own thread, reached from other threads only through the bridge."""

from __future__ import annotations

import sys
import threading
import time

import pytest
import trio
from services import Echo

import scope_ext as sx


class Ticker(sx.Service):
    def init(self):
        self.ticks = 0
        self.send_after(0.01, "tick")

    def handle_info(self, message):
        self.ticks += 1
        self.send_after(0.01, "tick")

    def handle_call(self, request, caller):
        return self.ticks


def test_runtime_thread_runs_services_while_the_caller_blocks():
    thread = sx.RuntimeThread()
    rt = thread.start()
    try:
        thread.run(lambda: rt.production.start(Ticker, name="ticker"))
        first = thread.run(lambda: sx.call("ticker", "now"))
        time.sleep(0.3)  # this thread blocks; the runtime's thread keeps ticking
        second = thread.run(lambda: sx.call("ticker", "now"))
        assert second - first >= 10
        assert thread.run_sync(lambda: len(rt.snapshot().namespaces)) == 1
    finally:
        thread.stop()
    assert not thread.running
    with pytest.raises(sx.RuntimeNotRunning, match="not running"):
        thread.run_sync(lambda: None)


def test_bridge_calls_from_many_threads():
    thread = sx.RuntimeThread()
    thread.start()
    try:
        thread.run(lambda: thread.runtime.production.start(Echo, name="echo"))
        results = []

        def worker(i):
            results.append(thread.run(lambda: sx.call("echo", i)))

        workers = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted(results) == list(range(8))
    finally:
        thread.stop()


def test_stop_runs_terminate_in_reverse_order_and_restart_works():
    log = []
    thread = sx.RuntimeThread()
    thread.start()
    thread.run(
        lambda: thread.runtime.production.start(
            sx.Supervisor, [sx.ChildSpec(n, Echo, (n, log)) for n in "ab"], id="app"
        )
    )
    thread.stop()
    assert [e for e in log if e[0] == "terminate"] == [("terminate", "b", "shutdown"), ("terminate", "a", "shutdown")]
    rt = thread.start()  # a fresh runtime after a stop
    assert thread.run_sync(lambda: rt.status) == "running"
    thread.stop()


def test_bridge_refuses_use_from_inside_the_runtime_thread():
    thread = sx.RuntimeThread()
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="for other threads"):
            thread.run_sync(lambda: thread.run_sync(lambda: None))
    finally:
        thread.stop()


def test_plain_trio_run_works_without_threads():
    async def main():
        async with sx.open_runtime() as rt:
            await rt.production.start(Echo, name="e")
            return await sx.call("e", "hi")

    assert trio.run(main) == "hi"


class _Ticker(sx.Service):
    def init(self) -> None:
        self.send_after(0.01, "tick")

    def handle_info(self, message: object) -> None:
        self.send_after(0.01, "tick")


def _interval_becomes(expected: float) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if sys.getswitchinterval() == expected:
            return True
        time.sleep(0.005)
    return False


def test_the_switch_interval_is_short_only_while_the_runtime_has_work_due():
    from scope_ext.runtime._switch_interval import PROMPT

    normal = sys.getswitchinterval()
    thread = sx.RuntimeThread(foundation=False)
    thread.start()
    try:
        assert _interval_becomes(normal), "an idle runtime leaves the interval alone"
        thread.run(lambda: thread.runtime.production.start(_Ticker, name="ticker", restart="temporary"))
        assert _interval_becomes(PROMPT), "a timer due every 10 ms: switch promptly"
        thread.run(lambda: thread.runtime.production.whereis("ticker").shutdown(1.0))
        assert _interval_becomes(normal)
        thread.run(lambda: thread.runtime.production.start(_Ticker, name="ticker"))
        assert _interval_becomes(PROMPT)
    finally:
        thread.stop()
    assert sys.getswitchinterval() == normal, "given back when the runtime stops"
    plain = sx.RuntimeThread(foundation=False, prompt_switching=False)
    plain.start()
    try:
        plain.run(lambda: plain.runtime.production.start(_Ticker, name="ticker"))
        time.sleep(0.1)
        assert sys.getswitchinterval() == normal
    finally:
        plain.stop()
