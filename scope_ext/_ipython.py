"""IPython integration: ``%load_ext scope_ext`` and the ``%scope`` magic.

The runtime runs on its own thread (:class:`RuntimeThread`); every magic reaches it through that
thread's bridge. User mistakes become one-line ``UsageError`` messages, never tracebacks.
"""

from __future__ import annotations

import atexit
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ._exceptions import ScopeError
from ._thread import RuntimeThread

HELP = """\
%scope start    start the runtime (on its own thread)
%scope stop     stop every namespace in reverse order, then the runtime
%scope status   one line: state, uptime, namespaces, processes, crashes
%scope tree     the supervision trees of every namespace
%scope help     this text"""


@magics_class
class ScopeMagics(Magics):
    """The ``%scope`` line magic."""

    def __init__(self, shell: Any, thread: RuntimeThread) -> None:
        super().__init__(shell)
        self.thread = thread

    @line_magic
    def scope(self, line: str) -> Any:
        """Control and inspect the scope_ext runtime; ``%scope help`` lists the subcommands."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%scope: {exc}") from None
        command, args = (words[0], words[1:]) if words else ("status", [])
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            raise UsageError(f"%scope: unknown command {command!r}; try %scope help")
        try:
            return handler(*args)
        except TypeError as exc:
            raise UsageError(f"%scope {command}: wrong arguments ({exc})") from None
        except ScopeError as exc:
            raise UsageError(f"%scope {command}: {exc}") from None

    def _cmd_help(self) -> None:
        print(HELP)

    def _cmd_start(self) -> None:
        self.thread.start()
        print("scope_ext runtime running")

    def _cmd_stop(self) -> None:
        self.thread.stop()
        print("scope_ext runtime stopped")

    def _cmd_status(self) -> Any:
        if not self.thread.running:
            print("scope_ext runtime stopped")
            return None
        rt = self.thread.runtime
        snap, health = self.thread.run_sync(lambda: (rt.snapshot(), {  # type: ignore[union-attr]
            ns.name: ns.foundation.health for ns in rt.namespaces() if ns.foundation is not None}))  # type: ignore[union-attr]
        names = ", ".join(f"{ns.name} ({ns.status})" for ns in snap.namespaces)
        print(f"scope_ext runtime {snap.status}: up {snap.uptime:.1f}s, {snap.processes} processes, "
              f"{snap.crashes} crashes; namespaces: {names}")
        for name, report in health.items():
            if report is None:
                print(f"health of {name}: not checked yet")
                continue
            troubled = ", ".join(f"{s.name} {s.status} ({s.detail})" for s in report.services if s.status != "healthy")
            print(f"health of {name}: {report.overall}" + (f"; {troubled}" if troubled else ""))
        return None

    def _cmd_tree(self) -> Any:
        return self.thread.run_sync(lambda: self.thread.runtime.snapshot())  # type: ignore[union-attr]


_thread: RuntimeThread | None = None


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext scope_ext``: start the runtime thread and register ``%scope``."""
    global _thread
    if _thread is None:
        _thread = RuntimeThread()
        atexit.register(_thread.stop)
    _thread.start()
    ip.register_magics(ScopeMagics(ip, _thread))


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext scope_ext``: stop the runtime cleanly."""
    global _thread
    if _thread is not None:
        _thread.stop()
        atexit.unregister(_thread.stop)
        _thread = None


def runtime_thread() -> RuntimeThread | None:
    """The kernel's runtime thread, if the extension is loaded."""
    return _thread
