"""Processes: the identity, status, exit bookkeeping and monitors of everything the runtime runs.

A :class:`Process` is what a pid is in Erlang: one incarnation of a service or a task. It is
created ``starting``, becomes ``running`` once its ``init`` returned, and ends ``stopped`` with an
exit reason. Its trio task (the *carrier*) lives in its supervisor's nursery; a one_for_one
restart of a worker may reuse the carrier for the next incarnation, which gets a new pid.

All of this state belongs to the runtime's trio thread.
"""

from __future__ import annotations

import itertools
import math
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from typing import Any, Literal, NamedTuple, Protocol

import trio
from outcome import Error, Value
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

from ._deadlines import Deadlines, Expiring
from ._exceptions import CallTimeout, MailboxFull, NotRunning, RuntimeNotRunning, ServiceExited, StartError
from ._mailbox import CALL, INFO, Mailbox, MailboxPolicy

Status = Literal["starting", "running", "restarting", "stopping", "stopped"]
Kind = Literal["worker", "supervisor", "task"]

# Exit reasons. A crash's reason is the exception itself.
NORMAL = "normal"
SHUTDOWN = "shutdown"
KILLED = "killed"
NOPROC = "noproc"
#: Seconds a killed task gets to reach a checkpoint before it is declared killed without it.
KILL_GRACE = 0.1


class Shutdown(NamedTuple):
    """A shutdown with a detail, such as a supervisor past its restart intensity."""

    detail: Any


def is_normal_exit(reason: object) -> bool:
    """Whether ``reason`` is a normal exit for restart purposes (``normal``, ``shutdown``, ``Shutdown``)."""
    return reason == NORMAL or reason == SHUTDOWN or isinstance(reason, Shutdown)


def describe_reason(reason: object) -> str:
    """One line for an exit reason."""
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
    if isinstance(reason, Shutdown):
        return f"shutdown ({reason.detail})"
    return str(reason)


class CrashReport:
    """A process crashed: who, where, when (runtime clock), and the exception.

    A plain slotted class: one is made per crash, on the restart path, so it must be cheap; the
    traceback is formatted only when first read.
    """

    __slots__ = ("pid", "label", "namespace", "time", "exception", "_traceback")

    def __init__(self, pid: int, label: str, namespace: str, time: float, exception: BaseException) -> None:
        self.pid = pid
        self.label = label
        self.namespace = namespace
        self.time = time
        self.exception = exception
        self._traceback: str | None = None

    def __repr__(self) -> str:
        return f"<CrashReport {self.label!r} (pid {self.pid}) in {self.namespace!r}: {self.exception!r}>"

    @property
    def traceback(self) -> str:
        """The formatted traceback (formatted on first read)."""
        if self._traceback is None:
            self._traceback = "".join(traceback.format_exception(self.exception))
        return self._traceback


# ----- where a process lives -----------------------------------------------------------------
# A process refers back to its runtime and namespace, which are built from processes. These
# protocols say what the modules below them need of each, so nothing imports upwards:
# :class:`Runtime` is a Node, :class:`Namespace` a Home, :class:`Registry` a NameTable.


class NameTable(Protocol):
    """A registry, as processes and name resolution use it."""

    def whereis(self, key: Hashable) -> Process | None: ...

    def register(self, key: Hashable, value: Any = None, *, process: Process | None = None) -> None: ...

    def _drop(self, key: Hashable, proc: Process) -> None: ...


class Home(Protocol):
    """A namespace, as its processes use it."""

    @property
    def name(self) -> str: ...

    @property
    def names(self) -> NameTable: ...

    process_count: int


class Node(Protocol):
    """A runtime, as its processes and namespaces use it."""

    _processes: dict[int, Process]
    _deadlines: Deadlines
    crashes: deque[CrashReport]

    @property
    def production(self) -> Home: ...

    def _report_crash(self, proc: Process, exc: BaseException) -> None: ...


_pids = itertools.count(1)
_current_process: ContextVar[Process | None] = ContextVar("scope_ext.current_process", default=None)
#: The runtime opened in this task (set by ``open_runtime``), and the namespace chosen with ``use_namespace``.
_current_node: ContextVar[Node | None] = ContextVar("scope_ext.current_runtime", default=None)
_namespace_override: ContextVar[Home | None] = ContextVar("scope_ext.namespace_override", default=None)


def current_process() -> Process | None:
    """The process whose code is running in the current task, or None outside any process."""
    return _current_process.get()


def current_node() -> Node:
    """The runtime of the current task; raises :class:`RuntimeNotRunning` outside one."""
    node = _current_node.get()
    if node is None:
        proc = _current_process.get()
        if proc is not None:
            return proc.runtime
        raise RuntimeNotRunning("no scope_ext runtime in this task: use `async with open_runtime()`")
    return node


def current_home() -> Home:
    """The namespace of the current process; outside any process, the one chosen with
    ``use_namespace`` for this task, else ``production``."""
    proc = _current_process.get()
    if proc is not None:
        return proc.namespace
    return _namespace_override.get() or current_node().production


class Down(NamedTuple):
    """Delivered to a monitor when its target exits: the monitor, the process and its exit reason."""

    monitor: Monitor
    process: Process
    reason: Any


class Monitor:
    """A watch on one process. ``await wait()`` returns its :class:`Down`; a receiver process also
    gets the ``Down`` as an info message. ``cancel()`` stops watching (demonitor)."""

    __slots__ = ("target", "receiver", "down", "_event")

    def __init__(self, target: Process, receiver: Process | None) -> None:
        self.target = target
        self.receiver = receiver
        self.down: Down | None = None
        self._event: trio.Event | None = None

    @property
    def active(self) -> bool:
        """True until the target exits or the monitor is cancelled."""
        return self.down is None and self in (self.target._monitors or ())

    def cancel(self) -> None:
        """Stop watching; no ``Down`` is delivered after this returns."""
        monitors = self.target._monitors
        if monitors is not None and self in monitors:
            monitors.remove(self)

    async def wait(self) -> Down:
        """Wait for the target to exit and return the ``Down``."""
        if self.down is None:
            if self._event is None:
                self._event = trio.Event()
            await self._event.wait()
        assert self.down is not None
        return self.down

    def _fire(self, reason: Any) -> None:
        self.down = Down(self, self.target, reason)
        receiver = self.receiver
        if receiver is not None and receiver.status != "stopped" and receiver.mailbox is not None:
            receiver.mailbox.deliver(INFO, self.down, None)
        if self._event is not None:
            self._event.set()

    def __repr__(self) -> str:
        return f"<Monitor of {self.target!r}>"


class Refused(NamedTuple):
    """A reply that refuses the request: :func:`scope_ext.call` raises ``error`` in the caller, and
    the service that refused keeps running."""

    error: Exception


class Caller:
    """The pending side of a ``call``; a handler that defers its reply keeps it and calls ``reply``."""

    __slots__ = ("server", "_task", "_timeout", "_bucket", "_done")

    def __init__(self, server: Process, task: Task, timeout: float | None) -> None:
        self.server = server
        self._task = task
        self._timeout = timeout
        self._bucket: set[Expiring] | None = None
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the call already got its answer (or was given up by the caller)."""
        return self._done

    def reply(self, value: Any) -> None:
        """Send the reply; later replies to the same call are ignored."""
        deferred = self.server._deferred
        if deferred:
            deferred.discard(self)
        self._finish(Value(value))

    def _fail(self, exc: BaseException) -> None:
        self._finish(Error(exc))

    def _finish(self, outcome: Value[Any] | Error) -> None:
        if self._done:
            return
        self._done = True
        if self._bucket is not None:
            self._bucket.discard(self)
        reschedule(self._task, outcome)

    def _time_out(self) -> None:
        self._fail(CallTimeout(f"call to {self.server.label!r} got no reply within {self._timeout} s"))

    def _abort(self, _raise_cancel: object) -> Abort:
        self._done = True
        if self._bucket is not None:
            self._bucket.discard(self)
        return Abort.SUCCEEDED


class Process:
    """One incarnation of a service, supervisor or task, with its pid, mailbox and status."""

    __slots__ = (
        "pid",
        "label",
        "kind",
        "runtime",
        "namespace",
        "status",
        "started_at",
        "handled",
        "exit_reason",
        "last_exception",
        "mailbox",
        "service",
        "supervisor_link",
        "nursery",
        "_start",
        "_args",
        "_runner",
        "_scope",
        "_names",
        "_monitors",
        "_stop_reason",
        "_deferred",
        "_current",
        "_exited",
        "_starter",
        "_helpers",
        "__weakref__",
    )

    def __init__(
        self,
        runtime: Node,
        namespace: Home,
        label: str,
        kind: Kind,
        start: Callable[..., Any],
        args: tuple[Any, ...],
        runner: Callable[[Process], Awaitable[Any]],
        *,
        capacity: int | None = None,
        policy: MailboxPolicy = "wait",
        send_timeout: float = 5.0,
    ) -> None:
        self.pid = next(_pids)
        self.label = label
        self.kind: Kind = kind
        self.runtime = runtime
        self.namespace = namespace
        self.status: Status = "starting"
        self.started_at: float | None = None
        self.handled = 0
        self.exit_reason: Any = None
        self.last_exception: BaseException | None = None
        #: Services and supervisors have one; tasks have none.
        self.mailbox: Mailbox | None = None if capacity is None else Mailbox(capacity, policy, send_timeout)
        self.service: Any = None
        #: Called by the carrier when this process exits, with whether the carrier could host a
        #: restart; set by the owning supervisor. It returns the next incarnation to run, or None.
        self.supervisor_link: Callable[[Process, Any, bool], Process | None] | None = None
        self.nursery: trio.Nursery | None = None
        self._start = start
        self._args = args
        self._runner = runner
        self._scope = trio.CancelScope()
        self._names: list[tuple[NameTable, Any]] | None = None
        self._monitors: list[Monitor] | None = None
        self._stop_reason: Any = None
        self._deferred: set[Caller] | None = None
        self._current: Caller | None = None
        self._exited = trio.Event()
        self._starter: Task | None = None
        self._helpers: set[trio.CancelScope] | None = None
        runtime._processes[self.pid] = self
        namespace.process_count += 1

    def __repr__(self) -> str:
        return f"<Process {self.pid} {self.label!r} {self.status}>"

    # ----- messages -------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """How many messages the mailbox holds (0 for a task, which has none)."""
        return 0 if self.mailbox is None else self.mailbox.capacity

    def _deliver(self, kind: int, message: Any, caller: Caller | None) -> None:
        """Deliver to a process that has a mailbox, whatever its fill (timers, supervisors' own restarts)."""
        self.mailbox.deliver(kind, message, caller)  # type: ignore[union-attr]

    def _check_accepts(self) -> Mailbox:
        mailbox = self.mailbox
        if self.status == "stopped":
            raise NotRunning(f"{self.label!r} (pid {self.pid}) is not running: {describe_reason(self.exit_reason)}")
        if mailbox is None:
            raise TypeError(f"{self.label!r} is a {self.kind}; it has no mailbox")
        return mailbox

    async def _put(self, kind: int, message: Any, caller: Caller | None, wait: float) -> None:
        """Deliver honouring capacity: refuse or wait up to ``wait`` seconds per the policy."""
        mailbox = self._check_accepts()
        if len(mailbox) >= mailbox.capacity:
            if mailbox.policy == "refuse":
                raise MailboxFull(f"mailbox of {self.label!r} is full ({mailbox.capacity} messages)")
            with trio.move_on_after(wait):
                await mailbox.wait_for_room(lambda: self.status != "stopped")
            self._check_accepts()
            if len(mailbox) >= mailbox.capacity:
                raise MailboxFull(f"mailbox of {self.label!r} stayed full ({mailbox.capacity} messages) for {wait} s")
        mailbox.deliver(kind, message, caller)

    def put_nowait(self, kind: int, message: Any) -> None:
        """Deliver a cast or info at once, or raise ``MailboxFull`` / ``NotRunning``."""
        mailbox = self._check_accepts()
        if len(mailbox) >= mailbox.capacity:
            raise MailboxFull(f"mailbox of {self.label!r} is full ({mailbox.capacity} messages)")
        mailbox.deliver(kind, message, None)

    async def call(self, request: Any, timeout: float | None) -> Any:
        """Send ``request`` and wait for the reply; see :func:`scope_ext.call`."""
        if self is _current_process.get():
            raise RuntimeError(f"{self.label!r} called itself; that would wait forever")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, not {timeout!r}")
        if timeout == math.inf:
            timeout = None
        caller = Caller(self, current_task(), timeout)
        mailbox = self.mailbox
        if mailbox is not None and len(mailbox) < mailbox.capacity and self.status != "stopped":
            mailbox.deliver(CALL, request, caller)
        else:  # a full mailbox: the wait for room counts against the call's one timeout
            started = trio.current_time()
            wait = timeout if timeout is not None else mailbox.send_timeout if mailbox is not None else 0.0
            await self._put(CALL, request, caller, wait)
            if timeout is not None:
                timeout = max(timeout - (trio.current_time() - started), 0.0)
        if timeout is not None:
            caller._bucket = self.runtime._deadlines.add(caller, timeout)
        reply = await wait_task_rescheduled(caller._abort)
        if type(reply) is Refused:
            raise reply.error
        return reply

    # ----- lifecycle ------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """True from creation until exit."""
        return self.status != "stopped"

    def request_stop(self, reason: Any = SHUTDOWN) -> None:
        """Ask the process to stop after its current message; it runs ``terminate(reason)``.

        A task has no messages: for it, being cancelled is the graceful stop (its ``finally``
        blocks run), and it exits with ``reason``.
        """
        if self._stop_reason is None:
            self._stop_reason = reason
        if self.mailbox is None:
            self._scope.cancel()
            return
        self.mailbox.wake_server()

    def kill(self) -> None:
        """Cancel the process's task at once (brutal kill): no ``terminate``, reason ``killed``."""
        self._stop_reason = KILLED
        self._scope.cancel()

    async def wait_exited(self) -> Any:
        """Wait until the process has exited; return its exit reason."""
        await self._exited.wait()
        return self.exit_reason

    async def shutdown(self, timeout: float | Literal["brutal_kill", "infinity"] = 5.0) -> Any:
        """Stop the process within ``timeout``: ask first, kill when the time is up."""
        if self.status == "stopped":
            return self.exit_reason
        if timeout == "brutal_kill":
            self.kill()
        else:
            self.request_stop(SHUTDOWN)
            with trio.move_on_after(math.inf if timeout == "infinity" else float(timeout)):
                return await self.wait_exited()
            self.kill()
        with trio.move_on_after(KILL_GRACE):  # a cancelled task ends at its next checkpoint
            return await self.wait_exited()
        # It shields itself from cancellation. trio cannot preempt it, but like OTP's kill we stop
        # waiting: it is killed (names freed, monitors fired) and its task is left to end alone.
        self._exit(KILLED)
        if self.supervisor_link is not None:
            self.supervisor_link(self, KILLED, False)
        return self.exit_reason

    def monitor(self, receiver: Process | None = None) -> Monitor:
        """Watch this process; if it already exited the monitor fires at once with ``noproc``
        (as OTP's: the exit was before the monitor, so its reason is not the monitor's to see)."""
        mon = Monitor(self, receiver)
        if self.status == "stopped":
            mon._fire(NOPROC)
        else:
            if self._monitors is None:
                self._monitors = []
            self._monitors.append(mon)
        return mon

    def start_helper(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> trio.CancelScope:
        """Run ``fn(*args)`` as a helper task that is cancelled when this process exits.

        If the helper raises, the process stops with that exception as its reason.
        """
        if self.nursery is None or self.status == "stopped":
            raise NotRunning(f"{self.label!r} is not running")
        scope = trio.CancelScope()
        if self._helpers is None:
            self._helpers = set()
        self._helpers.add(scope)
        self.nursery.start_soon(self._run_helper, scope, fn, args)
        return scope

    async def _run_helper(
        self, scope: trio.CancelScope, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        token = _current_process.set(self)
        try:
            with scope:
                await fn(*args)
        except Exception as exc:
            self.runtime._report_crash(self, exc)
            self.request_stop(exc)
        finally:
            _current_process.reset(token)
            if self._helpers is not None:
                self._helpers.discard(scope)

    def _exit(self, reason: Any) -> None:
        """Record the exit and tell everyone who needs to know. Synchronous: runs under cancellation."""
        if self.status == "stopped":
            return
        self.status = "stopped"
        self.exit_reason = reason
        if isinstance(reason, BaseException):
            self.last_exception = reason
        self.runtime._processes.pop(self.pid, None)
        self.namespace.process_count -= 1
        if self._names:
            for registry, key in self._names:
                registry._drop(key, self)
            self._names = None
        if self._helpers:
            for scope in self._helpers:
                scope.cancel()
        self._fail_pending(reason)
        if self.mailbox is not None:
            self.mailbox.release_senders()
        monitors, self._monitors = self._monitors, None
        if monitors:
            for mon in monitors:
                mon._fire(reason)
        self._exited.set()
        if self._starter is not None:
            starter, self._starter = self._starter, None
            error = StartError(f"{self.label!r} failed to start: {describe_reason(reason)}")
            if isinstance(reason, BaseException):
                error.__cause__ = reason
            reschedule(starter, Error(error))

    def _fail_pending(self, reason: Any) -> None:
        pending: list[Caller] = []
        if self._current is not None:
            pending.append(self._current)
            self._current = None
        if self.mailbox:
            pending.extend(caller for _, _, caller in self.mailbox if caller is not None)
            self.mailbox.clear()
        if self._deferred:
            pending.extend(self._deferred)
            self._deferred = None
        for caller in pending:
            if not caller._done:
                error = ServiceExited(
                    f"{self.label!r} (pid {self.pid}) exited before replying: {describe_reason(reason)}", reason
                )
                if isinstance(reason, BaseException):
                    error.__cause__ = reason
                caller._fail(error)

    def _started(self) -> None:
        """Mark the process running and release whoever waits for it to start."""
        self.status = "running"
        self.started_at = trio.current_time()
        if self._starter is not None:
            starter, self._starter = self._starter, None
            reschedule(starter, Value(self))


async def spawn(nursery: trio.Nursery, proc: Process) -> Process:
    """Start ``proc`` in a new carrier task in ``nursery``; return once its ``init`` returned.

    Raises :class:`StartError` (with the cause chained) if it exits before it is running.
    """
    proc._starter = current_task()
    proc.nursery = nursery
    nursery.start_soon(_carry, proc, name=f"scope_ext:{proc.label}")

    def abort(_raise_cancel: object) -> Abort:
        # The starter was cancelled: the half-started process must not outlive the request.
        proc._starter = None
        proc.request_stop(SHUTDOWN)
        proc.kill()
        return Abort.SUCCEEDED

    return await wait_task_rescheduled(abort)


async def _carry(proc: Process) -> None:
    """Carrier task: run ``proc``, then each next incarnation its supervisor hands back."""
    scope = proc._scope
    try:
        with scope:
            while True:
                _current_process.set(proc)
                reason = await proc._runner(proc)
                if proc.status == "stopped":  # declared killed while it ran on shielded: already reported
                    return
                proc._exit(reason)
                link = proc.supervisor_link
                following = link(proc, reason, True) if link is not None else None
                if following is None:
                    return
                following._scope = scope
                following.nursery = proc.nursery
                proc = following
    finally:
        # Killed (our scope) or cancelled from outside: still exit cleanly and tell the supervisor.
        if proc.status != "stopped":
            stopped = proc.mailbox is None and proc._stop_reason is not None  # a task asked to stop
            reason = proc._stop_reason if stopped else KILLED
            proc._exit(reason)
            if proc.supervisor_link is not None:
                proc.supervisor_link(proc, reason, False)


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is trio cancellation (alone or a group of only cancellations) to re-raise."""
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(trio.Cancelled)[1] is None
    return False
