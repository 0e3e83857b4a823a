"""Settings take only what they mean: finite numbers in range; a refused update changes nothing and
harms no service, and a periodic service follows a new interval at once."""

from __future__ import annotations

import math

import pytest
import trio

import scope_ext as sx
from scope_ext.code._settings import CODE_SETTINGS
from scope_ext.foundation_layer._start import FOUNDATION_SETTINGS

NUMERIC = [s for s in (*FOUNDATION_SETTINGS, *CODE_SETTINGS) if s.type in (int, float)]
HOSTILE = [math.nan, math.inf, -math.inf, 10**400, -(10**400), 10**30, -(10**30), 1e308]


def test_every_numeric_setting_has_bounds_and_refuses_what_it_cannot_mean():
    assert NUMERIC
    for setting in NUMERIC:
        assert setting.minimum is not None and setting.maximum is not None, setting.name
        for value in HOSTILE:
            with pytest.raises(sx.ConfigError, match=setting.name):
                setting.validate(value)
        for text in ("nan", "inf", "-inf", "1e400", "9" * 400):
            with pytest.raises(sx.ConfigError, match=setting.name):
                setting.parse(text, "a test")


def test_refused_updates_change_nothing_and_harm_no_service(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production, settings=CODE_SETTINGS)
        before = f.config.snapshot
        for setting in NUMERIC:
            if not setting.runtime:
                continue
            for value in HOSTILE:
                with pytest.raises(sx.ConfigError):
                    await f.config.update(setting.path, value)
        with pytest.raises(sx.ConfigError):  # one bad value refuses the whole batch
            await f.config.update_many({"health.interval": 0.5, "memory.interval": math.nan})
        assert f.config.snapshot is before
        await trio.sleep(0.05)
        (layer,) = [c for c in await sx.which_children(rt.production.root) if c.id == "foundation"]
        children = await sx.which_children(layer.process)
        assert [(c.id, c.status) for c in children] == [
            (name, "running") for name in ("config", "events", "telemetry", "health", "memory")
        ]
        assert not rt.crashes  # nothing crashed on the way

    in_runtime(main)


def test_a_periodic_service_follows_a_new_interval_at_once(in_runtime):
    async def main(rt):
        f = await sx.start_foundation(rt.production)
        await f.config.update("health.interval", 3600.0)
        await trio.sleep(0.05)
        checked = f.health.checked_at
        await f.config.update("health.interval", 0.02)  # re-armed now, not after the hour
        with trio.fail_after(10):
            while f.health.checked_at == checked:
                await trio.sleep(0.01)
        assert not rt.crashes

    in_runtime(main)


def test_send_after_refuses_a_delay_that_is_not_a_finite_number(in_runtime):
    class Timer(sx.Service):
        def handle_call(self, delay, caller):
            try:
                self.send_after(delay, "tick")
            except ValueError as exc:
                return str(exc)
            return "armed"

    async def main(rt):
        await rt.production.start(Timer, name="timer")
        for bad in (math.nan, math.inf, -1.0, "1"):
            assert "finite delay" in await sx.call("timer", bad)
        assert await sx.call("timer", 0.01) == "armed"
        assert not rt.crashes

    in_runtime(main)
