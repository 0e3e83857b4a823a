"""Services (the GenServer idea) and the ``call`` / ``cast`` / ``send`` API.

Subclass :class:`Service` and override the handlers you need; each may be a plain or an async
method. The runtime runs each instance as one process with a bounded mailbox, handling one
message at a time.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, ClassVar, NamedTuple

import trio

from ._exceptions import NotRunning
from ._mailbox import CALL, CAST, INFO, MailboxPolicy
from ._process import (
    NORMAL,
    Caller,
    Kind,
    Monitor,
    Process,
    current_home,
    current_process,
    is_cancellation,
    is_normal_exit,
)
from ._registry import Via

#: A service reference: a Process, a ``Via`` name, or a name in the current namespace.
Target = Process | Via | Hashable

log = logging.getLogger("scope_ext.runtime")


class _NoReply:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOREPLY"


#: Returned by ``handle_call`` to reply later through ``caller.reply(value)``.
NOREPLY: Any = _NoReply()

#: Messages a server handles in a row before it lets other tasks run.
_FAIRNESS = 64
#: Sends (casts, infos, events) a producer makes in a row before it lets other tasks run: a send
#: that finds room never waits, so a tight loop of them would hold the runtime's thread.
_SENDS_PER_CHECKPOINT = 64
_sends = 0


async def pace() -> None:
    """Count one send; every so often, let the other tasks run (timers, services, commits)."""
    global _sends
    _sends += 1
    if _sends >= _SENDS_PER_CHECKPOINT:
        _sends = 0
        await trio.lowlevel.checkpoint()


class Service:
    """Base class of services. Override ``init``, ``handle_call``, ``handle_cast``,
    ``handle_info`` and ``terminate`` as needed; state lives on ``self``.

    Class attributes choose the mailbox: ``mailbox_capacity`` messages at most; when full,
    ``mailbox_policy = "wait"`` makes senders wait up to ``send_timeout`` seconds (then
    :class:`MailboxFull`), ``"refuse"`` raises :class:`MailboxFull` at once.
    """

    mailbox_capacity: ClassVar[int] = 1000
    mailbox_policy: ClassVar[MailboxPolicy] = "wait"
    send_timeout: ClassVar[float] = 5.0
    kind: ClassVar[Kind] = "worker"
    #: Supervisors set this: the process then owns a nursery (``self.nursery``) for its children.
    own_nursery: ClassVar[bool] = False

    process: Process
    nursery: trio.Nursery

    def init(self, *args: Any) -> Any:
        """Set up state from the start arguments; raising here fails the start."""

    def handle_call(self, request: Any, caller: Caller) -> Any:
        """Answer a ``call``: return the reply, or ``NOREPLY`` and later ``caller.reply(value)``."""
        raise RuntimeError(f"{type(self).__name__} got a call it does not handle: {request!r}")

    def handle_cast(self, message: Any) -> Any:
        """Handle a ``cast``."""
        raise RuntimeError(f"{type(self).__name__} got a cast it does not handle: {message!r}")

    def handle_info(self, message: Any) -> Any:
        """Handle any other message: ``send``, timers, ``Down`` from monitors. Ignored by default."""
        log.debug("%s ignored info %r", type(self).__name__, message)

    def terminate(self, reason: Any) -> Any:
        """Clean up before the process exits with ``reason`` (not called on a brutal kill)."""

    def health(self) -> str:
        """The service's own view of its health: ``healthy``, ``degraded`` or ``critical``.

        Called by health checks in the runtime's thread; keep it quick and side-effect free.
        """
        return "healthy"

    # ----- helpers for handlers -------------------------------------------------------------

    def stop(self, reason: Any = NORMAL) -> None:
        """Exit with ``reason`` after the current message (a call's reply is still sent)."""
        self.process.request_stop(reason)

    def send_after(self, delay: float, message: Any) -> trio.CancelScope:
        """Deliver ``message`` to ``handle_info`` after ``delay`` seconds; cancel with the result.

        ``delay`` is a finite number >= 0 (else ValueError here, not a crash later in the timer)."""
        if not (isinstance(delay, (int, float)) and 0 <= delay < math.inf):
            raise ValueError(f"send_after needs a finite delay >= 0 seconds, not {delay!r}")
        process = self.process

        async def timer() -> None:
            await trio.sleep(delay)
            if process.alive:
                process._deliver(INFO, message, None)

        return process.start_helper(timer)

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> trio.CancelScope:
        """Run a helper task that dies with this process; if it raises, the process stops with it."""
        return self.process.start_helper(fn, *args)


class _Dispatch(NamedTuple):
    init: bool
    call: bool
    cast: bool
    info: bool
    terminate: bool


_dispatch_cache: dict[type, _Dispatch] = {}


def _dispatch(cls: type[Service]) -> _Dispatch:
    """Which handlers of ``cls`` are coroutine functions; computed once per class."""
    found = _dispatch_cache.get(cls)
    if found is None:
        names = ("init", "handle_call", "handle_cast", "handle_info", "terminate")
        found = _dispatch_cache[cls] = _Dispatch(*(inspect.iscoroutinefunction(getattr(cls, n)) for n in names))
    return found


def check_service_class(cls: object) -> bool:
    """Whether ``cls`` is a Service subclass (the start function of a service child)."""
    return isinstance(cls, type) and issubclass(cls, Service)


async def run_service(proc: Process) -> Any:
    """Runner of a service process: init, serve, terminate. Returns the exit reason."""
    svc: Service = proc._start()
    svc.process = proc
    proc.service = svc
    if not svc.own_nursery:
        return await _lifecycle(proc, svc)
    async with trio.open_nursery() as nursery:
        svc.nursery = nursery
        reason = await _lifecycle(proc, svc)
        nursery.cancel_scope.cancel()
    return reason


async def _lifecycle(proc: Process, svc: Service) -> Any:
    flags = _dispatch(type(svc))
    _, error = await attempt(proc, svc.init, proc._args, flags.init)
    if error is not None:
        return error
    proc._started()
    reason, error = await attempt(proc, _serve, (proc, svc, flags), True)
    if error is not None:
        reason = error
    _, error = await attempt(proc, svc.terminate, (reason,), flags.terminate)
    if error is not None and is_normal_exit(reason):
        reason = error
    return reason


async def attempt(
    proc: Process, fn: Callable[..., Any], args: tuple[Any, ...], is_async: bool
) -> tuple[Any, BaseException | None]:
    """Run one callback of ``proc``: ``(result, None)``, or ``(None, error)`` with the crash reported.

    Cancellation passes through untouched: it belongs to whoever cancelled.
    """
    try:
        result = fn(*args)
        if is_async:
            result = await result
        return result, None
    except BaseException as exc:
        if is_cancellation(exc):
            raise
        proc.runtime._report_crash(proc, exc)
        return None, exc


async def _serve(proc: Process, svc: Service, flags: _Dispatch) -> Any:
    """The message loop; returns the stop reason, raises what a handler raised."""
    mailbox = proc.mailbox
    assert mailbox is not None
    handle_call, handle_cast, handle_info = svc.handle_call, svc.handle_cast, svc.handle_info
    call_async, cast_async, info_async = flags.call, flags.cast, flags.info
    budget = _FAIRNESS
    while True:
        if proc._stop_reason is not None:
            return proc._stop_reason
        if not mailbox:
            await mailbox.wait_for_message()
            budget = _FAIRNESS
            continue
        kind, message, caller = mailbox.popleft()
        if mailbox.senders:
            mailbox.senders.unpark()
        proc.handled += 1
        if kind == CALL:
            proc._current = caller
            result = handle_call(message, caller)  # type: ignore[arg-type]  # calls carry a caller
            if call_async:
                result = await result
            proc._current = None
            if result is not NOREPLY:
                caller.reply(result)  # type: ignore[union-attr]
            elif not caller._done:  # type: ignore[union-attr]
                if proc._deferred is None:
                    proc._deferred = set()
                proc._deferred.add(caller)  # type: ignore[arg-type]
        elif kind == CAST:
            result = handle_cast(message)
            if cast_async:
                await result
        else:
            result = handle_info(message)
            if info_async:
                await result
        budget -= 1
        if not budget:
            budget = _FAIRNESS
            await trio.lowlevel.checkpoint()


# ----- the messaging API ------------------------------------------------------------------------


def resolve(target: Target) -> Process:
    """The running process ``target`` names: a Process, a ``Via`` name, or a name string in the
    current namespace. Raises :class:`NotRunning` if nothing runs under it."""
    if type(target) is Process:
        return target
    if type(target) is Via:
        proc = target.registry.whereis(target.key)
    elif isinstance(target, Hashable):
        proc = current_home().names.whereis(target)
    else:
        raise TypeError(f"not a service reference: {target!r}")
    if proc is None:
        raise NotRunning(f"no process is registered as {target!r}")
    return proc


async def call(target: Target, request: Any, timeout: float | None = 5.0) -> Any:
    """Send ``request`` to ``target``'s ``handle_call`` and return its reply.

    Raises :class:`NotRunning` if the target is not running, :class:`ServiceExited` if it exits
    (or crashes) before replying, :class:`CallTimeout` after ``timeout`` seconds (None: no limit).
    A full mailbox makes the caller wait within the same timeout, or refuses with
    :class:`MailboxFull`, per the target's policy.
    """
    return await resolve(target).call(request, timeout)


async def cast(target: Target, message: Any) -> None:
    """Deliver ``message`` to ``target``'s ``handle_cast`` without waiting for it to be handled.

    A full mailbox applies the target's policy: wait up to its ``send_timeout``, or refuse; both
    end in :class:`MailboxFull`, never in a wait without end.
    """
    await _post(resolve(target), CAST, message)


async def send(target: Target, message: Any) -> None:
    """Deliver ``message`` to ``target``'s ``handle_info``; full mailboxes behave as for ``cast``."""
    await _post(resolve(target), INFO, message)


async def _post(proc: Process, kind: int, message: Any) -> None:
    mailbox = proc.mailbox
    try:
        if mailbox is not None and len(mailbox) < mailbox.capacity and proc.status != "stopped":
            mailbox.deliver(kind, message, None)
        else:
            await proc._put(kind, message, None, mailbox.send_timeout if mailbox is not None else 0.0)
    finally:  # delivered or refused, a loop of sends still lets the receiver run
        await pace()


def cast_nowait(target: Target, message: Any) -> None:
    """``cast`` from synchronous code: deliver now or raise :class:`MailboxFull`."""
    resolve(target).put_nowait(CAST, message)


def send_nowait(target: Target, message: Any) -> None:
    """``send`` from synchronous code: deliver now or raise :class:`MailboxFull`."""
    resolve(target).put_nowait(INFO, message)


def monitor(target: Target, receiver: Process | None = None) -> Monitor:
    """Watch ``target``; its :class:`Down` goes to ``receiver`` (default: the current process) as
    info, and ``await monitor.wait()`` returns it. A target that already exited fires at once."""
    return resolve(target).monitor(receiver if receiver is not None else current_process())
