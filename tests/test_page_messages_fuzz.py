"""Whatever a page sends a live view, it gets an answer or a one-line refusal, never a traceback;
a view acts only inside its own namespace; a flood is refused cheaply and told once."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_widgets import view_with_outbox

import scope_ext as sx
from scope_ext import ChildSpec
from scope_ext.notebook._views import TimelineView, TreeView

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
PATHS = st.sampled_from(["production/app/echo", "scratch/app/echo", "scratch", "production", "", "/", "x/y/z"])
MESSAGES = st.one_of(
    JSONISH,
    st.fixed_dictionaries(
        {"t": st.sampled_from(["hello", "visible", "details", "action", "nonsense", ""])},
        optional={
            "path": PATHS | JSONISH,
            "action": st.sampled_from(["restart", "terminate", "explode"]) | JSONISH,
            "value": JSONISH,
            "fresh": JSONISH,
        },
    ),
)


@pytest.fixture(scope="module")
def thread():
    runtime = sx.RuntimeThread()
    runtime.start()
    rt = runtime.runtime

    async def setup():
        await sx.start_isolated_services("scratch")
        for ns in (rt.production, rt.namespace("scratch")):
            await ns.start(sx.Supervisor, [ChildSpec("echo", Echo, name=f"echo-{ns.name}")], id="app")

    runtime.run(setup)
    yield runtime
    runtime.stop()


class Echo(sx.Service):
    def handle_call(self, request, caller):
        return request


def production_pid(thread) -> int:
    return thread.run_sync(lambda: thread.runtime.production.whereis("echo-production").pid)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(MESSAGES, min_size=1, max_size=6))
def test_any_message_gets_an_answer_or_a_refusal_and_stays_in_its_namespace(thread, messages):
    before = production_pid(thread)
    for kind, options in ((TreeView, {"namespace": "scratch", "interval": 60}), (TimelineView, {"interval": 60})):
        view, sent = view_with_outbox(thread, kind, **options)
        for message in messages:
            view._on_message(view, message, None)  # must not raise
        for reply in sent:
            assert isinstance(reply, dict) and isinstance(reply.get("t"), str)
            json.dumps(reply)  # the page can read it
            if reply["t"] == "error":
                assert "\n" not in reply["message"] and "Traceback" not in reply["message"]
        view.close()
    assert production_pid(thread) == before  # a scratch view never restarts or stops production


def test_a_view_refuses_actions_outside_its_namespace(thread):
    view, sent = view_with_outbox(thread, TreeView, namespace="scratch", interval=60)
    before = production_pid(thread)
    view._on_message(view, {"t": "action", "action": "terminate", "path": "production/app/echo"}, None)
    assert sent[-1] == {
        "t": "action",
        "path": "production/app/echo",
        "action": "terminate",
        "ok": False,
        "message": "this view shows namespace 'scratch', not 'production'",
    }
    assert production_pid(thread) == before
    view.close()


def test_a_flood_is_refused_cheaply_and_told_once(thread):
    view, sent = view_with_outbox(thread, TreeView, namespace="scratch", interval=60)
    for _ in range(10_000):
        view._on_message(view, {"t": "details", "path": "scratch/app/echo"}, None)
    errors = [m for m in sent if m["t"] == "error"]
    assert len(errors) == 1 and "too many messages" in errors[0]["message"]
    assert 0 < len([m for m in sent if m["t"] == "details"]) <= 200  # the burst, not ten thousand
    view.close()
