"""A real IPython kernel for tests (jupyter_client), and code that cells of those tests share."""

from __future__ import annotations

import textwrap
from queue import Empty

from jupyter_client.manager import start_new_kernel

#: A cell that starts a service crashing every ``{delay}`` s under a one_for_one supervisor
#: "app" in production (format it with the delay).
FLAKY = """
import scope_ext as sx

class Flaky(sx.Service):
    def init(self):
        self.send_after({delay}, "crash")
    def handle_info(self, message):
        raise RuntimeError("crash")

async def start():
    await sx.runtime_thread().runtime.production.start(
        sx.Supervisor, [sx.ChildSpec("flaky", Flaky)], "one_for_one", 10_000, 1.0, id="app")

sx.runtime_thread().run(start)
"""


class Kernel:
    """A running kernel and a helper that executes a cell and collects what it printed."""

    def __init__(self, cwd: str | None = None) -> None:
        options = {} if cwd is None else {"cwd": cwd}
        self.km, self.kc = start_new_kernel(kernel_name="python3", startup_timeout=60, **options)

    def execute(self, code: str, timeout: float = 30.0, interrupt_after: float | None = None) -> dict:
        msg_id = self.kc.execute(textwrap.dedent(code))
        out = {"stdout": "", "stderr": "", "error": None, "results": []}
        interrupted = False
        while True:
            try:
                msg = self.kc.get_iopub_msg(
                    timeout=interrupt_after if (interrupt_after and not interrupted) else timeout
                )
            except Empty:
                if interrupt_after and not interrupted:
                    self.km.interrupt_kernel()
                    interrupted = True
                    continue
                raise
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "error":
                out["error"] = (content["ename"], content["evalue"])
            elif kind == "execute_result":
                out["results"].append(content["data"].get("text/plain", ""))
            elif kind == "status" and content["execution_state"] == "idle":
                return out

    def ok(self, code: str, **kw) -> dict:
        out = self.execute(code, **kw)
        assert out["error"] is None, out
        return out

    def close(self, now: bool = True) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=now)
