"""The live tree view without a browser: what it sends, how often, and what it answers."""

from __future__ import annotations

import time

import pytest
import trio

import scope_ext as sx
from scope_ext.notebook._feeds import SNAPSHOT_MIME, Publisher, tree_nodes
from scope_ext.notebook._views import TreeView
from scope_ext.runtime._supervisor import supervised


class Flaky(sx.Service):
    def handle_cast(self, message):
        raise RuntimeError(f"crash {message}")


@pytest.fixture
def thread():
    runtime = sx.RuntimeThread()
    runtime.start()
    yield runtime
    runtime.stop()


def view_with_outbox(thread, kind=TreeView, **options) -> tuple[TreeView, list[dict]]:
    view = kind(thread, **options)
    sent: list[dict] = []
    view.send = lambda message, buffers=None: sent.append(message)  # the comm, minus the wire
    return view, sent


def start_flaky(thread) -> None:
    async def start():
        await thread.runtime.production.start(
            sx.Supervisor, [sx.ChildSpec("flaky", Flaky, name="flaky")], "one_for_one", 100_000, 1.0, id="app"
        )  # crashes hundreds of times a second

    thread.run(start)


def crash(thread, times: int = 1) -> None:
    async def crash_all():
        for i in range(times):
            await sx.cast(thread.runtime.production.via("flaky"), i)
            await trio.sleep(0.002)

    thread.run(crash_all)


def test_nodes_are_flat_paths_with_start_times_not_uptimes(thread):
    start_flaky(thread)
    snap = thread.run_sync(thread.runtime.snapshot)
    nodes = tree_nodes(snap)
    assert nodes["production/app/flaky"]["p"] == "production/app"
    assert nodes["production/app"]["strategy"] == "one_for_one" and nodes["production/app"]["max"] == 100_000
    started = {}
    first = tree_nodes(snap, started=started)
    time.sleep(0.2)
    again = tree_nodes(thread.run_sync(thread.runtime.snapshot), started=started)
    assert again["production/app/flaky"] == first["production/app/flaky"]  # nothing changed, nothing differs
    calm = first["production"]  # what says nothing is left out: no restarts, error, health, below
    assert not {"restarts", "error", "recent", "health", "below", "dynamic"} & set(calm), calm


def test_batches_carry_only_what_changed(thread):
    start_flaky(thread)
    view, sent = view_with_outbox(thread, interval=60)  # the publisher stays out of the way
    full = view.batch(reset=True)
    assert full["reset"] and "production/app/flaky" in full["set"] and len(full["set"]) > 5
    assert view.batch() is None  # no change: no message
    crash(thread)
    deadline = time.monotonic() + 5
    change = None
    while change is None and time.monotonic() < deadline:
        change = view.batch()
    # flaky: restarts; app: budget and what is below it; production: what is below it
    assert set(change["set"]) == {"production/app/flaky", "production/app", "production"}
    assert change["set"]["production/app/flaky"]["restarts"] == 1 and change["del"] == []
    assert change["set"]["production/app/flaky"]["health"] == "restarting"
    assert change["set"]["production"]["below"] == change["set"]["production/app"]["below"] == "restarting"
    view.close()


def test_the_publisher_sends_at_most_ten_batches_a_second_and_respects_pause_and_visibility(thread):
    start_flaky(thread)
    view, sent = view_with_outbox(thread)
    view._on_message(view, {"t": "hello", "fresh": False}, None)  # a page that already has the state
    assert sent == []
    view._on_message(view, {"t": "hello"}, None)
    assert sent and sent[0]["reset"]
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        crash(thread)  # changes all the time: hundreds of restarts
    count = len(sent) - 1
    assert 1 <= count <= 12  # changes all second long, yet at most ~10 batches a second
    publisher = Publisher.of(thread)

    def page_visible(value: bool) -> None:
        view._on_message(view, {"t": "visible", "value": value}, None)

    def runtime_paused(value: bool) -> None:  # the Scope sidebar's pause holds every view of the runtime
        publisher.paused = value
        publisher.wake()

    for hold in (lambda value: setattr(view, "paused", value), lambda value: page_visible(not value), runtime_paused):
        hold(True)
        time.sleep(0.15)
        before = len(sent)
        crash(thread, 5)
        time.sleep(0.3)
        assert len(sent) == before  # nothing while held, though the tree changed
        hold(False)
        deadline = time.monotonic() + 2
        while len(sent) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(sent) > before  # the change arrives once released
    view.close()


def test_details_and_actions_from_the_page(thread):
    start_flaky(thread)
    crash(thread)
    view, sent = view_with_outbox(thread, interval=60)
    deadline = time.monotonic() + 5
    while True:
        view._on_message(view, {"t": "details", "path": "production/app/flaky"}, None)
        reply = sent[-1]
        if reply["error"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "crash 0" in reply["error"] and "RuntimeError" in reply["traceback"]
    assert [e["type"] for e in reply["events"]] == ["scope.process.crashed"]  # crashes are stored events
    view._on_message(view, {"t": "action", "action": "terminate", "path": "production/app/flaky"}, None)
    assert sent[-1]["ok"]
    assert thread.run_sync(lambda: thread.runtime.production.whereis("flaky")) is None
    view._on_message(view, {"t": "action", "action": "restart", "path": "production/app/flaky"}, None)
    assert sent[-1]["ok"] and thread.run_sync(lambda: thread.runtime.production.whereis("flaky")) is not None
    view._on_message(view, {"t": "action", "action": "restart", "path": "production/nothing"}, None)
    assert not sent[-1]["ok"] and "not a supervised child" in sent[-1]["message"]
    paths = thread.run_sync(lambda: [p for p, _, _ in supervised(thread.runtime.production.root)])
    assert ("app", "flaky") in paths
    view.close()


def test_display_carries_a_static_snapshot_for_saved_notebooks(thread):
    start_flaky(thread)
    view, _ = view_with_outbox(thread, interval=60)
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "flaky" in data["text/html"] and data["text/plain"] == "<RuntimeSnapshot running: production>"
    saved = data[SNAPSHOT_MIME]
    assert saved["v"] == 1 and saved["kind"] == "tree" and saved["batch"]["reset"] is True
    assert saved["batch"]["set"]["production/app/flaky"]["status"] == "running"
    view.close()


def test_timeline_replays_history_then_appends_only_new_events(thread):
    from scope_ext.notebook._feeds import severity
    from scope_ext.notebook._views import TimelineView

    found = thread.run_sync(lambda: sx.foundation("production"))

    def store(kind: str, count: int, correlation=None) -> None:
        def go():
            for i in range(count):
                found.events.store_nowait(kind, {"i": i}, correlation_id=correlation)

        thread.run_sync(go)

    store("job.step", 3, "req-1")
    view, sent = view_with_outbox(thread, TimelineView, interval=60)
    first = view.batch(reset=True)
    assert first["reset"] and [row[3] for row in first["items"]][-3:] == ["job.step"] * 3
    assert first["items"][-1][5] == "req-1" and first["items"][-1][2] == "production"
    assert view.batch() is None
    store("job.failed", 2)
    deadline = time.monotonic() + 5
    appended = None
    while appended is None and time.monotonic() < deadline:
        appended = view.batch()
    assert not appended["reset"] and [row[3] for row in appended["items"]] == ["job.failed"] * 2
    assert [row[4] for row in appended["items"]] == ["error", "error"]
    assert (severity("scope.events.dropped"), severity("job.step")) == ("warning", "info")
    store("bulk.tick", 20_000)
    total = 0
    while total < 20_000 and time.monotonic() < deadline + 10:
        batch = view.batch()
        total += len(batch["items"]) if batch else 0
    assert total == 20_000  # nothing lost, nothing repeated
    text, _, snapshot = view.saved()
    assert text == "<event timeline>" and snapshot["kind"] == "timeline"
    assert len(snapshot["batch"]["items"]) == 500 and snapshot["traits"]["ring"] == view.ring
    view.close()


def test_telemetry_replays_history_then_sends_only_new_points(thread):
    from scope_ext.notebook._views import TelemetryView

    found = thread.run_sync(lambda: sx.foundation("production"))
    thread.run_sync(lambda: found.telemetry.distribution("job.done", "ms"))
    for ms in (5.0, 7.0, 9.0):
        thread.run_sync(lambda ms=ms: found.telemetry.execute("job.done", {"ms": ms}))
    view, _ = view_with_outbox(thread, TelemetryView, interval=60)
    first = view.batch(reset=True)
    job = first["metrics"]["production: job.done.ms.distribution"]
    assert [p[1] for p in job["points"]] == [5.0, 7.0, 9.0] and job["summary"][2] == 7.0  # p50
    assert "production: scope.runtime.poll.processes.last_value" in first["metrics"]  # default gauges
    thread.run_sync(lambda: found.telemetry.execute("job.done", {"ms": 11.0}))
    deadline = time.monotonic() + 5
    while True:
        nxt = view.batch()
        if nxt and "production: job.done.ms.distribution" in nxt["metrics"] or time.monotonic() > deadline:
            break
    assert [p[1] for p in nxt["metrics"]["production: job.done.ms.distribution"]["points"]] == [11.0]
    view.close()


def test_dashboard_pause_and_refresh_reach_every_view_and_it_saves_all_three(thread):
    from scope_ext.notebook._views import Dashboard

    board = Dashboard(thread)
    board.pause.value = True
    assert all(view.paused for view in board.views)
    board.refresh.value = 5.0
    assert all(view.interval == 5.0 for view in board.views)
    assert [board.tabs.get_title(i) for i in range(3)] == ["supervision", "events", "telemetry"]
    bundle = board._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert [v["kind"] for v in data[SNAPSHOT_MIME]["views"]] == ["tree", "timeline", "telemetry"]
    assert data["text/plain"] == "<scope_ext dashboard>"
    board.close()


def test_progress_view_follows_an_index_run_to_its_end(thread, tmp_path):
    from scope_ext import start_code_layer
    from scope_ext.notebook._magics import ParseHandle
    from scope_ext.notebook._views import ProgressView

    for i in range(40):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}(x):\n    return x if x else {i}\n")

    async def begin():
        layer = await start_code_layer(thread.runtime.production, tmp_path)
        return await layer.index()

    handle = ParseHandle(thread, thread.run(begin), "production")
    view, sent = view_with_outbox(thread, ProgressView, read=handle.progress, title=repr(handle), interval=60)
    view._on_message(view, {"t": "hello"}, None)
    assert sent[0]["t"] == "progress" and sent[0]["files_total"] in (0, 40)
    handle.wait(timeout=60)
    final = view.batch()
    assert final["status"] == "done" and final["files_done"] == 40 and final["title"].startswith("<index run 1")
    assert 0 < final["elapsed"] < 60
    assert view.batch() is None  # nothing changes after the end: nothing more is sent
    text, line, snapshot = view.saved()
    assert snapshot["kind"] == "progress" and "40/40 files" in line and f"after {final['elapsed']:.1f} s" in line
    view.close()


def test_the_event_feed_loses_nothing_while_one_store_is_down(thread):
    from scope_ext.notebook._feeds import EventTail

    thread.run(lambda: sx.start_isolated_services("other"))
    production = thread.run_sync(lambda: sx.foundation("production"))
    other = thread.run_sync(lambda: sx.foundation("other"))

    async def foundation_supervisor():
        root = thread.runtime.namespace("other").root
        return [c.process for c in await sx.which_children(root) if c.id == "foundation"][0]

    supervisor = thread.run(foundation_supervisor)
    tail = EventTail(1000, 1000)
    tail.next(thread)
    thread.run(lambda: sx.terminate_child(supervisor, "events"))  # other's store is down for a while
    thread.run_sync(lambda: production.events.store_nowait("seen.now", 1))
    thread.run_sync(lambda: other.events.store_nowait("seen.later", 2))  # waits in other's outbox
    thread.run(lambda: production.events.flush())
    assert [row[3] for row in tail.next(thread)] == ["seen.now"]
    thread.run(lambda: sx.restart_child(supervisor, "events"))
    thread.run(lambda: other.events.flush())
    assert "seen.later" in [row[3] for row in tail.next(thread)]  # its turn came; nothing was lost
    thread.run(lambda: sx.cleanup("other"))


def test_a_dynamic_supervisors_child_can_be_terminated_but_never_lost_to_a_restart(thread):
    async def start():
        jobs = await thread.runtime.production.start(sx.DynamicSupervisor, id="jobs")
        await sx.start_child(jobs, sx.ChildSpec("job", Flaky))

    thread.run(start)
    nodes = tree_nodes(thread.run_sync(thread.runtime.snapshot))
    assert nodes["production/jobs"]["dynamic"] is True and "dynamic" not in nodes["production"]
    view, sent = view_with_outbox(thread, interval=60)
    view._on_message(view, {"t": "action", "action": "restart", "path": "production/jobs/job"}, None)
    assert not sent[-1]["ok"] and "cannot restart" in sent[-1]["message"]
    assert sent[-1]["path"] == "production/jobs/job" and sent[-1]["action"] == "restart"
    assert "production/jobs/job" in tree_nodes(thread.run_sync(thread.runtime.snapshot))  # refused before stopping it
    view._on_message(view, {"t": "action", "action": "terminate", "path": "production/jobs/job"}, None)
    assert sent[-1]["ok"], sent[-1]
    assert "production/jobs/job" not in tree_nodes(thread.run_sync(thread.runtime.snapshot))
    view.close()


def test_a_large_tree_batch_goes_in_parts_that_rebuild_the_same_tree():
    from scope_ext.notebook._feeds import PART_NODES, in_parts

    nodes = {f"production/w{i}": {"p": "production", "i": i} for i in range(2 * PART_NODES + 5)}
    parts = in_parts({"t": "tree", "reset": True, "set": nodes, "del": ["gone"]})
    assert [len(p["set"]) for p in parts] == [PART_NODES, PART_NODES, 5]
    assert [p["reset"] for p in parts] == [True, False, False] and [p["del"] for p in parts] == [["gone"], [], []]
    rebuilt: dict = {}
    for part in parts:
        rebuilt.update(part["set"])
    assert rebuilt == nodes and list(rebuilt) == list(nodes)  # same nodes, same order
    small = {"t": "tree", "reset": False, "set": {"a": {}}, "del": []}
    assert in_parts(small) == [small] and in_parts({"t": "events", "items": []}) == [{"t": "events", "items": []}]
