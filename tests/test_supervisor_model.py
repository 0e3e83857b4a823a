"""Property test: random crash / exit sequences through all three strategies, compared with a small
reference model of OTP's supervisor rules (restart types, strategies, intensity, escalation)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from services import Echo

import scope_ext as sx


@dataclass
class ModelChild:
    id: str
    restart: str
    running: bool = True
    incarnation: int = 0


class OtpModel:
    """OTP's rules for one supervisor whose intensity window never expires (max_seconds is huge)."""

    def __init__(self, restarts: list[str], strategy: str, max_restarts: int) -> None:
        self.children = [ModelChild(f"c{i}", r) for i, r in enumerate(restarts)]
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.restarts = 0
        self.alive = True

    def exit(self, child_id: str, abnormal: bool) -> None:
        index = next(i for i, c in enumerate(self.children) if c.id == child_id)
        child = self.children[index]
        child.running = False
        if child.restart == "temporary":
            del self.children[index]
            return
        if child.restart == "transient" and not abnormal:
            return
        self.restarts += 1
        if self.restarts > self.max_restarts:
            self.alive = False
            for c in self.children:
                c.running = False
            return
        if self.strategy == "one_for_one":
            group = [child]
        else:
            affected = self.children if self.strategy == "one_for_all" else self.children[index:]
            removed = [c for c in affected if c is not child and c.restart == "temporary"]
            self.children = [c for c in self.children if c not in removed]
            group = [c for c in affected if c not in removed]
        for c in group:
            c.running = True
            c.incarnation += 1


scenario = st.fixed_dictionaries(
    {
        "strategy": st.sampled_from(["one_for_one", "one_for_all", "rest_for_one"]),
        "restarts": st.lists(st.sampled_from(["permanent", "transient", "temporary"]), min_size=1, max_size=4),
        "max_restarts": st.integers(0, 4),
        "events": st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=10),
    }
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_supervisor_matches_the_otp_model(case):
    model = OtpModel(case["restarts"], case["strategy"], case["max_restarts"])

    async def main(rt):
        specs = [sx.ChildSpec(c.id, Echo, (c.id,), restart=c.restart, name=c.id) for c in model.children]
        sup = await rt.production.start(
            sx.Supervisor, specs, case["strategy"], case["max_restarts"], 3600.0, id="sut", restart="temporary"
        )
        pids = {c.id: rt.production.whereis(c.id).pid for c in model.children}
        for pick, abnormal in case["events"]:
            running = [c for c in model.children if c.running]
            if not model.alive or not running:
                break
            target = running[pick % len(running)]
            proc = rt.production.whereis(target.id)
            down = sx.monitor(proc)
            if abnormal:
                with pytest.raises(sx.ServiceExited):
                    await sx.call(proc, "crash")
            else:
                await sx.call(proc, ("stop", "normal"))
            await down.wait()
            model.exit(target.id, abnormal)
            if not model.alive:
                with trio.fail_after(5):
                    assert await sup.wait_exited() == sx.Shutdown("reached_max_restart_intensity")
                assert rt.production.processes() == [rt.production.root]
                break
            children = await sx.which_children(sup)
            assert [c.id for c in children] == [c.id for c in model.children]
            for real, expected in zip(children, model.children, strict=True):
                assert (real.process is not None) == expected.running, (real, expected)
                if real.process is not None:  # restarted by this event exactly when the model says so
                    assert (real.process.pid != pids[real.id]) == (expected.incarnation > 0), (real, expected)
                    pids[real.id] = real.process.pid
            live = {p.label for p in rt.production.processes()}
            assert live == {"production", "sut"} | {c.id for c in model.children if c.running}  # nothing leaked
            for c in model.children:
                c.incarnation = 0
        assert sup.alive == model.alive

    sx.run(main)
