"""In a real IPython kernel (jupyter_client): the runtime thread, %scope, interrupts, shutdown."""

from __future__ import annotations

from pathlib import Path

from kernel_client import FLAKY, Kernel

TICKER = """
import time, scope_ext

class Ticker(scope_ext.Service):
    def init(self, path=None):
        self.times = []
        self.path = path
        self.send_after(0.05, "tick")
    def handle_info(self, message):
        self.times.append(time.monotonic())
        self.send_after(0.05, "tick")
    def handle_call(self, request, caller):
        return list(self.times)
    def terminate(self, reason):
        if self.path:
            open(self.path, "w").write(f"terminated {reason} after {len(self.times)} ticks")

rt_thread = scope_ext.runtime_thread()
"""


def test_services_keep_running_while_a_cell_blocks(kernel):
    kernel.ok("%load_ext scope_ext")
    kernel.ok(TICKER + "rt_thread.run(lambda: rt_thread.runtime.production.start(Ticker, name='ticker'))")
    kernel.ok("t0 = time.monotonic(); time.sleep(1); t1 = time.monotonic()")
    out = kernel.ok(
        "times = rt_thread.run(lambda: scope_ext.call('ticker', 'times')); print(sum(t0 < t < t1 for t in times))"
    )
    assert int(out["stdout"]) >= 10  # ~20 ticks at 20 Hz during the blocked cell

    assert kernel.ok("%scope status")["results"] == ["scope_ext runtime running; namespaces: production"]
    assert kernel.ok("s = %scope status\nprint(s.health)")["stdout"].strip() == "{'production': 'healthy'}"
    tree = kernel.ok(
        "from scope_ext._display import render_text\nsnap = %scope tree --static\nprint(render_text(snap, color=False))"
    )["stdout"]
    assert "ticker" in tree and "running" in tree


def test_keyboard_interrupt_in_a_cell_does_not_kill_the_runtime(kernel):
    kernel.ok("%load_ext scope_ext")
    kernel.ok(TICKER + "rt_thread.run(lambda: rt_thread.runtime.production.start(Ticker, name='ticker'))")
    out = kernel.execute("time.sleep(20)", interrupt_after=1.0)
    assert out["error"] is not None and out["error"][0] == "KeyboardInterrupt"
    out = kernel.ok(
        "n1 = len(rt_thread.run(lambda: scope_ext.call('ticker', 'times'))); time.sleep(0.3); "
        "print(len(rt_thread.run(lambda: scope_ext.call('ticker', 'times'))) - n1)"
    )
    assert int(out["stdout"]) >= 3
    assert kernel.ok("%scope status")["results"] == ["scope_ext runtime running; namespaces: production"]


def test_magic_errors_are_one_clear_line(kernel):
    kernel.ok("%load_ext scope_ext")
    # IPython shows a UsageError as one stderr line, without a traceback
    out = kernel.execute("%scope frobnicate")
    assert out["stderr"].strip() == "UsageError: %scope: unknown command 'frobnicate'; %scope help lists them"
    out = kernel.execute("%scope tree extra args")
    assert out["stderr"].strip() == "UsageError: %scope tree: unrecognized arguments: args; see %scope help tree"
    assert "%scope start" in kernel.ok("%scope help")["stdout"]


def test_stop_start_and_unload_stop_services_cleanly(kernel, tmp_path: Path):
    marker = tmp_path / "terminated.txt"
    kernel.ok("%load_ext scope_ext")
    kernel.ok(TICKER + f"rt_thread.run(lambda: rt_thread.runtime.production.start(Ticker, {str(marker)!r}, name='t'))")
    kernel.ok("time.sleep(0.2)")
    kernel.ok("%scope stop")
    assert marker.read_text().startswith("terminated shutdown")
    assert kernel.ok("%scope status")["results"] == ["scope_ext runtime stopped"]
    marker.unlink()
    kernel.ok("%scope start")
    kernel.ok(f"rt_thread.run(lambda: rt_thread.runtime.production.start(Ticker, {str(marker)!r}, name='t'))")
    kernel.ok("%unload_ext scope_ext")
    assert marker.read_text().startswith("terminated shutdown")


def test_kernel_shutdown_stops_the_runtime_cleanly(tmp_path: Path):
    marker = tmp_path / "terminated.txt"
    k = Kernel()
    try:
        k.ok("%load_ext scope_ext")
        k.ok(TICKER + f"rt_thread.run(lambda: rt_thread.runtime.production.start(Ticker, {str(marker)!r}, name='t'))")
        k.ok("time.sleep(0.2)")
    finally:
        k.close(now=False)
    assert marker.read_text().startswith("terminated shutdown")


def test_live_tree_view_streams_batches_while_a_cell_blocks(kernel):
    kernel.ok("%load_ext scope_ext")
    kernel.ok(FLAKY.format(delay=0.01))  # restarts about 100 times a second
    msg_id = kernel.kc.execute("view = %scope tree\nview")
    bundle = None
    while bundle is None:
        msg = kernel.kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_result":
            bundle = msg["content"]["data"]
    assert "application/vnd.jupyter.widget-view+json" in bundle and "application/vnd.scope-ext.snapshot+json" in bundle
    model_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    hello = kernel.kc.session.msg(
        "comm_msg", {"comm_id": model_id, "data": {"method": "custom", "content": {"t": "hello"}}}
    )
    kernel.kc.shell_channel.send(hello)
    busy = kernel.kc.execute("import time; time.sleep(2)")
    batches, running = [], False
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=30)
        kind = msg["msg_type"]
        if kind == "status" and msg["parent_header"].get("msg_id") == busy:
            if msg["content"]["execution_state"] == "busy":
                running = True
            elif running:
                break
        if kind == "comm_msg" and msg["content"]["comm_id"] == model_id and running:
            content = msg["content"]["data"].get("content", {})
            if content.get("t") == "tree":
                batches.append(content)
    assert 10 <= len(batches) <= 24  # about 10 a second for 2 s, though ~200 restarts happened
    assert all("production/app/flaky" in b["set"] for b in batches)
    assert all(len(b["set"]) <= 3 for b in batches)  # only what changed: the child and its supervisor


def test_parse_shows_a_live_progress_view_in_a_kernel(kernel, tmp_path: Path):
    (tmp_path / "mod.py").write_text("def f():\n    return 1\n")
    kernel.ok("%load_ext scope_ext")
    msg_id = kernel.kc.execute(f"run = %scope parse {tmp_path}\nrun")
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_result":
            data = msg["content"]["data"]
            break
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["application/vnd.scope-ext.snapshot+json"]["kind"] == "progress"
    assert data["text/plain"] == f"Indexing {tmp_path} (production)"  # its title, never a raw repr
    assert kernel.ok("print(run.wait(timeout=60).status)")["stdout"].strip() == "done"


def test_ctrl_c_on_a_runaway_query_stops_it_in_the_runtime_too(kernel, tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    kernel.ok("%load_ext scope_ext")
    kernel.ok(f"run = %scope parse {tmp_path}\nrun.wait(timeout=60)")
    forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    out = kernel.execute(f"%scope sql {forever}", interrupt_after=1.0)  # its time limit is 10 s
    assert out["error"] is not None and out["error"][0] == "KeyboardInterrupt"
    spent = kernel.ok("import time\nt = time.process_time(); time.sleep(1.0); print(time.process_time() - t)")
    assert float(spent["stdout"]) < 0.5  # nothing is left spinning in the runtime's worker thread
    assert kernel.ok("%scope sql SELECT 1 AS one")["results"] == ["<QueryResult 'SELECT 1 AS one': 1 row>"]


def test_ctrl_c_in_a_cell_leaves_the_parser_workers_alone(kernel, tmp_path):
    for i in range(20):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    kernel.ok("%load_ext scope_ext")
    kernel.ok(f"run = %scope parse {tmp_path}\nrun.wait(timeout=60)")
    pids = "rt_thread = scope_ext.runtime_thread()\nprint(rt_thread.run_sync(lambda: scope_ext.code_layer().namespace.whereis('code.parser').service.pool.pids()))"
    before = kernel.ok("import scope_ext\n" + pids)["stdout"].strip()
    assert before not in ("", "[]")
    out = kernel.execute("import time\ntime.sleep(20)", interrupt_after=1.0)  # SIGINT to the kernel's group
    assert out["error"] is not None and out["error"][0] == "KeyboardInterrupt" and "Traceback" not in out["stderr"]
    assert kernel.ok(pids)["stdout"].strip() == before  # the same workers, alive and idle
    touched = kernel.ok(
        f"open({str(tmp_path / 'm0.py')!r}, 'a').write('# edit\\n')\nrun = %scope parse {tmp_path}\nprint(run.wait(timeout=60).status)"
    )
    assert touched["stdout"].strip() == "done"
