"""Graceful shutdown: no new work, in-flight events drained, layers stopped in reverse order."""

from __future__ import annotations

import pytest
from services import Echo

import scope_ext as sx
from scope_ext.foundation_layer._event_db import EventDB


def test_graceful_shutdown_stops_new_work_drains_and_stops_layers_in_reverse(in_runtime, tmp_path):
    async def main(rt):
        f = await sx.start_foundation(rt.production, overrides={"events.path": str(tmp_path / "e.sqlite")})
        log = []
        await rt.production.start(sx.Supervisor, [sx.ChildSpec("w", Echo, ("layer2", log))], id="layer2")
        await f.events.store_batch([("pending", i) for i in range(500)])
        await f.shutdown(timeout=5)
        with pytest.raises(sx.ShuttingDown):
            await f.events.store("late")
        assert log[-1] == ("terminate", "layer2", "shutdown")  # the later layer stopped first
        assert sx.list_services("production") == []
        stored = EventDB(tmp_path / "e.sqlite").load(None, None)
        assert sum(1 for row in stored if row[1] == "pending") == 500  # drained to disk

    in_runtime(main)
