"""The Scope sidebar's kernel end in a real kernel (jupyter_client): the comm a sidebar opens,
what it is sent while cells block, pause, and what happens when scope_ext is not loaded."""

from __future__ import annotations

import time
import uuid

from kernel_client import FLAKY, Kernel

from scope_ext.notebook._sidebar import ANNOUNCE, TARGET


def open_sidebar(k: Kernel) -> str:
    comm_id = uuid.uuid4().hex
    k.kc.shell_channel.send(k.kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": TARGET, "data": {}}))
    return comm_id


def send(k: Kernel, comm_id: str, data: dict) -> None:
    k.kc.shell_channel.send(k.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def messages(k: Kernel, comm_id: str, seconds: float) -> list[dict]:
    """Everything the kernel sent to ``comm_id`` over ``seconds``; a close shows as {"t": "closed"}."""
    found, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = k.kc.get_iopub_msg(timeout=left)
        except Exception:
            break
        if msg["content"].get("comm_id") != comm_id:
            continue
        found.append(msg["content"]["data"] if msg["msg_type"] == "comm_msg" else {"t": "closed"})
    return found


def test_without_scope_ext_the_kernel_closes_the_sidebar_comm(kernel):
    comm_id = open_sidebar(kernel)
    assert messages(kernel, comm_id, 3) == [{"t": "closed"}]  # the page shows its "not loaded" state


def test_loading_announces_itself_to_open_sidebars(kernel):
    msg_id = kernel.kc.execute("%load_ext scope_ext")
    announced = []
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "comm_open":
            announced.append(msg["content"]["target_name"])
        if msg["parent_header"].get("msg_id") == msg_id and msg["content"].get("execution_state") == "idle":
            break
    assert announced == [ANNOUNCE]


def test_sidebar_gets_namespaces_services_and_events_live_while_a_cell_blocks(kernel):
    kernel.ok("%load_ext scope_ext")
    kernel.ok(FLAKY.format(delay=0.05))  # restarts about 20 times a second
    comm_id = open_sidebar(kernel)
    first = messages(kernel, comm_id, 2)[0]
    assert first["t"] == "state" and first["reset"] and first["runtime"] == "running" and not first["paused"]
    production = next(ns for ns in first["namespaces"] if ns["name"] == "production")
    assert production["status"] == "running" and production["processes"] > 5
    assert first["tree"]["set"]["production/app/flaky"]["kind"] == "worker"

    kernel.kc.execute("import time; time.sleep(3)")
    during = [m for m in messages(kernel, comm_id, 2.5) if m["t"] == "state"]
    assert 3 <= len(during) <= 6  # twice a second at most, while the cell sleeps
    restarts = [m["tree"]["set"]["production/app/flaky"]["restarts"] for m in during if m["tree"]]
    assert restarts == sorted(restarts) and restarts[-1] > restarts[0]
    assert any(row[3] == "scope.process.crashed" for m in during for row in m["events"])
    time.sleep(1)  # let the cell end: page messages reach the kernel between cells

    send(kernel, comm_id, {"t": "pause", "value": True})
    paused = messages(kernel, comm_id, 2)
    ack = paused.index({"t": "paused", "value": True})
    assert paused[ack + 1 :] == []  # nothing after the pause, though the service keeps restarting
    send(kernel, comm_id, {"t": "pause", "value": False})
    resumed = messages(kernel, comm_id, 1.5)
    assert resumed[0] == {"t": "paused", "value": False} and any(m["t"] == "state" for m in resumed[1:])


def test_sidebar_follows_the_runtime_stopping_and_the_extension_unloading(kernel):
    kernel.ok("%load_ext scope_ext")
    comm_id = open_sidebar(kernel)
    assert messages(kernel, comm_id, 1.5)[0]["runtime"] == "running"
    kernel.kc.execute("%scope stop")  # (ok() would read past what the sidebar is sent meanwhile)
    states = [m for m in messages(kernel, comm_id, 3) if m["t"] == "state"]
    assert states[-1] == {
        "t": "state",
        "reset": True,
        "paused": False,
        "runtime": "stopped",
        "namespaces": [],
        "tree": None,
        "events": [],
    }  # (after any updates sent while services stopped)
    kernel.kc.execute("%scope start")
    assert [m["runtime"] for m in messages(kernel, comm_id, 3)][:1] == ["running"]
    kernel.kc.execute("%unload_ext scope_ext")
    assert {"t": "closed"} in messages(kernel, comm_id, 3)


def test_a_flood_of_sidebar_messages_leaves_the_kernel_answering(kernel):
    kernel.ok("%load_ext scope_ext")
    comm_id = open_sidebar(kernel)
    messages(kernel, comm_id, 1)
    for i in range(10_000):  # a page gone wrong: pause and resume, again and again
        send(kernel, comm_id, {"t": "pause", "value": bool(i % 2)})
    send(kernel, comm_id, "not an object")
    answers = messages(kernel, comm_id, 5)
    assert [m for m in answers if m.get("t") == "error"] == [{"t": "error", "message": "too many messages; slow down"}]
    assert len([m for m in answers if m.get("t") == "paused"]) < 2_000  # the burst and the rate, not the flood
    assert kernel.ok("print('still here')", timeout=60)["stdout"] == "still here\n"
