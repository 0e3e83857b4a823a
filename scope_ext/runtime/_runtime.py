"""The runtime: namespaces, the process table, crash reports and the call-timeout timer.

Open one with ``async with open_runtime() as rt:`` inside ``trio.run`` (scripts, tests), or run
one on its own thread inside a kernel with :class:`scope_ext.RuntimeThread`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import Token
from typing import Any, TypeVar

import trio

from ._deadlines import Deadlines
from ._exceptions import NamespaceError, RuntimeNotRunning
from ._namespace import Namespace
from ._process import (
    CrashReport,
    Home,
    Process,
    _current_node,
    _namespace_override,
    current_home,
    current_node,
    spawn,
)
from ._service import run_service
from ._snapshot import RuntimeSnapshot, take_snapshot
from ._supervisor import Supervisor

log = logging.getLogger("scope_ext.runtime")
T = TypeVar("T")

PRODUCTION = "production"


class Runtime:
    """Holds every namespace and process of one trio run; all methods belong to that trio thread."""

    def __init__(self, *, crash_history: int = 256) -> None:
        self._processes: dict[int, Process] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._deadlines = Deadlines()
        self._nursery: trio.Nursery | None = None
        self._crash_listeners: list[Callable[[CrashReport], None]] = []
        #: The most recent crashes, oldest first.
        self.crashes: deque[CrashReport] = deque(maxlen=crash_history)
        self.started_at: float | None = None
        self.status = "stopped"

    def __repr__(self) -> str:
        return f"<Runtime {self.status}, {len(self._namespaces)} namespaces, {len(self._processes)} processes>"

    # ----- namespaces -----------------------------------------------------------------------

    @property
    def production(self) -> Namespace:
        """The ``production`` namespace."""
        return self.namespace(PRODUCTION)

    def namespace(self, name: str) -> Namespace:
        """The namespace called ``name``; raises :class:`NamespaceError` if there is none."""
        found = self._namespaces.get(name)
        if found is None:
            raise NamespaceError(f"no namespace {name!r} (have: {', '.join(self._namespaces) or 'none'})")
        return found

    def namespaces(self) -> list[Namespace]:
        """Every namespace, in creation order."""
        return list(self._namespaces.values())

    async def create_namespace(self, name: str, *, max_restarts: int = 3, max_seconds: float = 5.0) -> Namespace:
        """Create an isolated namespace with its own root supervisor (one_for_one)."""
        if self._nursery is None or self.status not in ("starting", "running"):
            raise RuntimeNotRunning("the runtime is not running")
        if not isinstance(name, str) or not name or not name.isprintable():
            raise NamespaceError(f"a namespace name is a non-empty printable string, not {name!r}")
        if name in self._namespaces:
            raise NamespaceError(f"namespace {name!r} already exists")
        ns = self._namespaces[name] = Namespace(self, name)
        root = Process(
            self,
            ns,
            name,
            "supervisor",
            Supervisor,
            ((), "one_for_one", max_restarts, max_seconds),
            run_service,
            capacity=Supervisor.mailbox_capacity,
        )
        ns.root = root
        try:
            await spawn(self._nursery, root)
        except BaseException:
            del self._namespaces[name]
            raise
        return ns

    async def drop_namespace(self, name: str) -> None:
        """Stop everything in a namespace (reverse start order) and forget its names.

        ``production`` is dropped only when the runtime stops.
        """
        if name == PRODUCTION:
            raise NamespaceError("production cannot be dropped; stop the runtime instead")
        await self._drop(self.namespace(name))

    async def _drop(self, ns: Namespace) -> None:
        """Drop ``ns`` once: a second drop while the first runs waits for it (from any thread)."""
        if ns._dropping is not None:
            await ns._dropping.wait()
            return
        ns._dropping = done = trio.Event()
        try:
            for hook in ns._drop_hooks:
                try:
                    hook()
                except Exception:
                    log.exception("drop hook %r of %r raised", hook, ns.name)
            if ns.root is not None:
                await ns.root.shutdown("infinity")
            for proc in ns.processes():  # processes started outside the root's tree
                await proc.shutdown(5.0)
            ns._clear()
            ns.dropped = True
            self._namespaces.pop(ns.name, None)  # listed until nothing in it runs
        finally:
            if not ns.dropped:  # interrupted: it stays listed, and a later drop tries again
                ns._dropping = None
            done.set()

    # ----- processes and crashes ------------------------------------------------------------

    def processes(self) -> list[Process]:
        """Every live process, oldest first."""
        return list(self._processes.values())

    def process(self, pid: int) -> Process | None:
        """The live process with ``pid``, or None."""
        return self._processes.get(pid)

    def on_crash(self, listener: Callable[[CrashReport], None]) -> Callable[[], None]:
        """Call ``listener(report)`` on every crash; returns an unsubscribe function."""
        self._crash_listeners.append(listener)
        return lambda: self._crash_listeners.remove(listener) if listener in self._crash_listeners else None

    def _report_crash(self, proc: Process, exc: BaseException) -> None:
        report = CrashReport(proc.pid, proc.label, proc.namespace.name, trio.current_time(), exc)
        self.crashes.append(report)
        if log.isEnabledFor(logging.ERROR):
            log.error("%s (pid %d) in %r crashed", proc.label, proc.pid, proc.namespace.name, exc_info=exc)
        for listener in list(self._crash_listeners):
            try:
                listener(report)
            except Exception:
                log.exception("crash listener %r raised; detached", listener)
                self._crash_listeners.remove(listener)

    # ----- introspection --------------------------------------------------------------------

    def snapshot(self) -> RuntimeSnapshot:
        """A consistent :class:`RuntimeSnapshot` of every tree (cheap: plain records)."""
        return take_snapshot(self.status, self.started_at, len(self._processes), len(self.crashes), self.namespaces())

    # ----- lifecycle ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop every namespace, newest first (production last), each in reverse start order."""
        if self.status in ("stopping", "stopped"):
            return
        self.status = "stopping"
        for ns in reversed(self.namespaces()):
            await self._drop(ns)
        self.status = "stopped"


#: What runs once production exists, before the block starts (a layer above starting its services).
StartHook = Callable[[Runtime], Awaitable[object]]


@asynccontextmanager
async def open_runtime(*, on_start: StartHook | None = None, shutdown_timeout: float = 30.0) -> AsyncIterator[Runtime]:
    """Run a runtime for the duration of the block; on exit stop it gracefully.

    ``on_start(runtime)`` runs once production exists (the Foundation uses it to start its
    services). The graceful stop is shielded from outer cancellation and bounded by
    ``shutdown_timeout`` seconds, after which whatever still runs is killed.
    """
    rt = Runtime()
    token = _current_node.set(rt)
    try:
        async with _single_errors(), trio.open_nursery() as nursery:
            rt._nursery = nursery
            nursery.start_soon(rt._deadlines.run, name="scope_ext:deadlines")
            rt.status = "starting"
            rt.started_at = trio.current_time()
            try:
                await rt.create_namespace(PRODUCTION)
                rt.status = "running"
                if on_start is not None:
                    await on_start(rt)
                yield rt
            finally:
                with trio.CancelScope(shield=True, deadline=trio.current_time() + shutdown_timeout):
                    await rt.aclose()
                rt.status = "stopped"
                nursery.cancel_scope.cancel()
    finally:
        _current_node.reset(token)


@asynccontextmanager
async def _single_errors() -> AsyncIterator[None]:
    """Our own tasks never raise, so a group with one error holds the caller's error: unwrap it."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
            raise group.exceptions[0] from None
        raise


def run(main: Callable[[Runtime], Awaitable[T]], **options: Any) -> T:
    """``trio.run`` a function ``main(runtime)`` inside a fresh runtime (scripts and CLIs)."""

    async def _main() -> T:
        async with open_runtime(**options) as rt:
            return await main(rt)

    return trio.run(_main)


# ----- the current runtime and namespace ----------------------------------------------------


def current_runtime() -> Runtime:
    """The runtime of the current task; raises :class:`RuntimeNotRunning` outside one."""
    node = current_node()
    assert isinstance(node, Runtime)
    return node


def current_namespace() -> Namespace:
    """The namespace of the current process; outside any process, the one chosen with
    :func:`use_namespace` for this task, else ``production``."""
    home = current_home()
    assert isinstance(home, Namespace)
    return home


def use_namespace(namespace: Namespace) -> Token[Home | None]:
    """Make bare names in this task (outside processes) resolve in ``namespace``; returns a token
    for ``reset_namespace``."""
    return _namespace_override.set(namespace)


def reset_namespace(token: Token[Home | None]) -> None:
    """Undo :func:`use_namespace`."""
    _namespace_override.reset(token)


def namespace_of(namespace: Namespace | str | None) -> Namespace:
    """A namespace given as itself, by name (in the current runtime), or None for the current one."""
    if namespace is None:
        return current_namespace()
    if isinstance(namespace, str):
        return current_runtime().namespace(namespace)
    return namespace
