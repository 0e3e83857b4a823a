"""Supervisors with OTP's meaning: child specs, three strategies, restart intensity, escalation.

- Children start in order and stop in reverse order, each within its ``shutdown`` time.
- ``permanent`` children are always restarted, ``transient`` ones only after an abnormal exit,
  ``temporary`` ones never (not even by a sibling's one_for_all / rest_for_one restart: they are
  stopped and forgotten).
- More than ``max_restarts`` restarts within ``max_seconds`` make the supervisor stop all its
  children in reverse order and exit with ``Shutdown("reached_max_restart_intensity")``, which its
  own supervisor handles as a child exit (escalation).
- A child that fails to start at supervisor start stops the children already started.

A worker restarted one_for_one while the supervisor is idle reuses the dead worker's task (the
same bookkeeping, one scheduling round instead of three); everything else is handled in the
supervisor's own task, in mailbox order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, NamedTuple

import trio

from ._exceptions import AlreadyRegistered, StartError, SupervisorError
from ._mailbox import INFO
from ._process import Kind, Process, Refused, Shutdown, is_normal_exit, spawn
from ._service import Service, Target, attempt, call, check_service_class, run_service

Restart = Literal["permanent", "transient", "temporary"]
ShutdownTime = float | Literal["brutal_kill", "infinity"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
StartFn = type[Service] | Callable[..., Awaitable[Any]]

STRATEGIES: tuple[Strategy, ...] = ("one_for_one", "one_for_all", "rest_for_one")
REACHED_MAX_INTENSITY = Shutdown("reached_max_restart_intensity")


@dataclass(frozen=True)
class ChildSpec:
    """How to start, restart and stop one child.

    ``start`` is a :class:`Service` subclass (started with ``init(*args)``) or an async function
    (run as a task process with ``start(*args)``). ``shutdown`` is seconds to wait after asking
    the child to stop before killing it, ``"brutal_kill"`` or ``"infinity"`` (default 5 s for
    workers, infinity for supervisors). ``name`` registers the child in its namespace;
    ``capacity`` overrides the service class's ``mailbox_capacity``.
    """

    id: Hashable
    start: StartFn
    args: tuple[Any, ...] = ()
    restart: Restart = "permanent"
    shutdown: ShutdownTime | None = None
    type: Kind | None = None
    name: Hashable | None = None
    capacity: int | None = field(default=None, compare=False)
    #: ``supervisor``, ``worker`` or ``task`` (an async function child); derived from ``type`` and ``start``.
    kind: Kind = field(init=False, compare=False)

    def __post_init__(self) -> None:
        hash(self.id)
        if not (check_service_class(self.start) or callable(self.start)):
            raise TypeError(
                f"child {self.id!r}: start must be a Service subclass or an async function, not {self.start!r}"
            )
        if not isinstance(self.args, tuple):
            raise TypeError(f"child {self.id!r}: args must be a tuple, not {type(self.args).__name__}")
        if self.restart not in ("permanent", "transient", "temporary"):
            raise ValueError(
                f"child {self.id!r}: restart must be permanent, transient or temporary, not {self.restart!r}"
            )
        shutdown = self.shutdown
        if not (
            shutdown is None
            or shutdown in ("brutal_kill", "infinity")
            or (isinstance(shutdown, (int, float)) and not isinstance(shutdown, bool) and shutdown >= 0)
        ):
            raise ValueError(
                f"child {self.id!r}: shutdown must be seconds >= 0, 'brutal_kill' or 'infinity', not {shutdown!r}"
            )
        if self.type is not None and self.type not in ("worker", "supervisor"):
            raise ValueError(f"child {self.id!r}: type must be worker or supervisor, not {self.type!r}")
        kind = self.type or (self.start.kind if check_service_class(self.start) else "task")  # type: ignore[union-attr]
        object.__setattr__(self, "kind", kind)

    @property
    def shutdown_time(self) -> ShutdownTime:
        """The effective shutdown: the given one, else infinity for supervisors and 5 s otherwise."""
        if self.shutdown is not None:
            return self.shutdown
        return "infinity" if self.kind == "supervisor" else 5.0


ChildStatus = Literal["starting", "running", "restarting", "stopping", "stopped"]


class ChildInfo(NamedTuple):
    """One line of :func:`which_children`."""

    id: Hashable
    process: Process | None
    type: Kind
    status: ChildStatus


class ChildCounts(NamedTuple):
    """The result of :func:`count_children`."""

    specs: int
    active: int
    supervisors: int
    workers: int


#: Restart times a child keeps (enough to tell a crash loop from a one-off restart).
RECENT_KEPT = 32

#: A child's life cycle: the statuses each status may move to (staying put is always allowed).
_MOVES: dict[ChildStatus, frozenset[ChildStatus]] = {
    "stopped": frozenset({"starting", "restarting"}),  # restarting: queued behind a failed group restart
    "starting": frozenset({"running", "stopping", "stopped", "restarting"}),  # restarting: it exited once up
    "running": frozenset({"stopping", "stopped", "restarting"}),
    "restarting": frozenset({"starting", "running", "stopping", "stopped"}),  # running: restarted in place
    "stopping": frozenset({"stopped"}),
}


class _Child:
    """A supervisor's record of one child, across its restarts."""

    __slots__ = ("spec", "proc", "status", "restarts", "restarted_at", "last_exception", "last_reason")

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.proc: Process | None = None
        self.status: ChildStatus = "stopped"
        self.restarts = 0
        #: When the latest restarts happened (runtime clock), for the recent restart rate.
        self.restarted_at: deque[float] = deque(maxlen=RECENT_KEPT)
        self.last_exception: BaseException | None = None
        self.last_reason: Any = None

    def count_restart(self) -> None:
        self.restarts += 1
        self.restarted_at.append(trio.current_time())

    def become(self, status: ChildStatus) -> None:
        """Move to ``status``: the one place a child's status changes."""
        assert status == self.status or status in _MOVES[self.status], f"{self.spec.id!r}: {self.status} -> {status}"
        self.status = status


class _Restart(NamedTuple):
    """Internal message: ``child`` exited and waits for the supervisor to restart it."""

    child: _Child


class _Request(NamedTuple):
    op: str
    arg: Any = None


async def run_task(proc: Process) -> Any:
    """Runner of a task process: ``start(*args)``; returns ``normal`` or what it raised."""
    proc._started()
    _, error = await attempt(proc, proc._start, proc._args, True)
    return "normal" if error is None else error


def make_process(owner: Process, spec: ChildSpec, label: str | None = None) -> Process:
    """A not-yet-started process for ``spec`` in ``owner``'s namespace, its name registered."""
    is_service = check_service_class(spec.start)
    proc = Process(
        owner.runtime,
        owner.namespace,
        label if label is not None else str(spec.id),
        spec.kind,
        spec.start,
        spec.args,
        run_service if is_service else run_task,
        capacity=(spec.capacity or spec.start.mailbox_capacity) if is_service else None,  # type: ignore[union-attr]
        policy=spec.start.mailbox_policy if is_service else "wait",  # type: ignore[union-attr]
        send_timeout=spec.start.send_timeout if is_service else 5.0,  # type: ignore[union-attr]
    )
    if spec.name is not None:
        try:
            owner.namespace.names.register(spec.name, spec.id, process=proc)
        except AlreadyRegistered as exc:
            proc._exit(exc)
            raise StartError(f"cannot start {spec.id!r}: {exc}") from exc
    return proc


class Supervisor(Service):
    """Start with ``init(children, strategy="one_for_one", max_restarts=3, max_seconds=5.0)``."""

    kind = "supervisor"
    own_nursery = True
    mailbox_capacity = 100_000

    strategy: Strategy
    max_restarts: int
    max_seconds: float

    async def init(
        self,
        children: Sequence[ChildSpec] = (),
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        if not (isinstance(max_restarts, int) and max_restarts >= 0):
            raise ValueError(f"max_restarts must be an int >= 0, not {max_restarts!r}")
        if not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
            raise ValueError(f"max_seconds must be > 0, not {max_seconds!r}")
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.max_seconds = float(max_seconds)
        self._restart_times: deque[float] = deque()
        self._children: list[_Child] = []
        for spec in children:
            self._check_new_id(spec)
            self._children.append(_Child(spec))
        for index, child in enumerate(self._children):
            try:
                await self._start(child)
            except StartError:
                await self._stop_children(self._children[:index])
                raise

    # ----- reading --------------------------------------------------------------------------

    @property
    def children(self) -> list[_Child]:
        """The child records, in start order (for introspection)."""
        return self._children

    def restarts_used(self) -> int:
        """Restarts counted against the intensity in the current window."""
        self._expire_restarts(trio.current_time())
        return len(self._restart_times)

    # ----- starting and stopping children ---------------------------------------------------

    def _check_new_id(self, spec: ChildSpec) -> None:
        if not isinstance(spec, ChildSpec):
            raise TypeError(f"children must be ChildSpec instances, not {spec!r}")
        if any(child.spec.id == spec.id for child in self._children):
            raise SupervisorError(f"duplicate child id {spec.id!r}")

    def _new_process(self, child: _Child) -> Process:
        proc = make_process(self.process, child.spec)
        proc.supervisor_link = partial(self._child_exited, child)
        child.proc = proc
        return proc

    async def _start(self, child: _Child) -> Process:
        child.become("starting")
        try:
            proc = self._new_process(child)
            await spawn(self.nursery, proc)
        except StartError as exc:
            child.proc = None
            child.become("stopped")
            child.last_reason = exc.__cause__ or exc
            if isinstance(child.last_reason, BaseException):
                child.last_exception = child.last_reason
            raise
        if child.proc is proc and child.status == "starting":  # it may already have exited again
            child.become("running")
        return proc

    async def _stop(self, child: _Child) -> None:
        """Stop one child within its shutdown time; temporary children are then forgotten."""
        proc = child.proc
        if proc is not None:
            child.become("stopping")
            await proc.shutdown(child.spec.shutdown_time)
            child.proc = None
        child.become("stopped")
        self._forget_if_done(child)

    def _forget_if_done(self, child: _Child) -> None:
        """Drop the record of a child that will not run again from its spec (temporary ones)."""
        if child.spec.restart == "temporary" and child in self._children:
            self._children.remove(child)

    async def _stop_children(self, children: Sequence[_Child]) -> None:
        for child in reversed(children):
            await self._stop(child)

    async def terminate(self, reason: Any) -> None:
        await self._stop_children(list(self._children))

    # ----- exits and restarts ---------------------------------------------------------------

    def _wants_restart(self, child: _Child, reason: Any) -> bool:
        restart = child.spec.restart
        return restart == "permanent" or (restart == "transient" and not is_normal_exit(reason))

    def _expire_restarts(self, now: float) -> None:
        times = self._restart_times
        while times and times[0] <= now - self.max_seconds:
            times.popleft()

    def _count_restart(self) -> bool:
        """Count one restart; True if that goes past the intensity (the supervisor must stop)."""
        now = trio.current_time()
        self._restart_times.append(now)
        self._expire_restarts(now)
        return len(self._restart_times) > self.max_restarts

    def _child_exited(self, child: _Child, proc: Process, reason: Any, carrier_free: bool) -> Process | None:
        """Supervisor link, called synchronously by the child's carrier when ``proc`` exits.

        Returns the child's next incarnation when the carrier may host it, else None.
        """
        if (
            child.proc is not proc
            or child.status == "stopping"
            or (child.status == "starting" and proc.started_at is None)
        ):
            return None  # an ordered stop or a failed start: whoever stops or starts it handles it
        child.proc = None
        child.last_reason = reason
        if isinstance(reason, BaseException):
            child.last_exception = reason
        me = self.process
        if me.status == "stopped" or me._stop_reason is not None:  # going down: no restarts
            child.become("stopped")
            return None
        if not self._wants_restart(child, reason):
            child.become("stopped")
            self._forget_if_done(child)
            return None
        child.become("restarting")
        idle = me.mailbox is not None and me.mailbox.server is not None and not me.mailbox
        if carrier_free and idle and self.strategy == "one_for_one" and proc.kind == "worker":
            if self._count_restart():
                me.request_stop(REACHED_MAX_INTENSITY)
                return None
            try:
                following = self._new_process(child)
            except StartError:
                me._deliver(INFO, _Restart(child), None)
                return None
            child.count_restart()
            child.become("running")
            return following
        me._deliver(INFO, _Restart(child), None)
        return None

    async def _restart(self, child: _Child) -> None:
        if child not in self._children or child.status != "restarting" or child.proc is not None:
            return  # stale: restarted or stopped meanwhile
        if self._count_restart():
            self.stop(REACHED_MAX_INTENSITY)
            return
        index = self._children.index(child)
        if self.strategy == "one_for_one":
            group = [child]
        else:
            group = list(self._children) if self.strategy == "one_for_all" else self._children[index:]
            await self._stop_children([c for c in group if c is not child])
            group = [c for c in group if c is child or c in self._children]  # temporary ones are gone
        for position, member in enumerate(group):
            member.count_restart()
            try:
                await self._start(member)
            except StartError:
                # OTP's try_again: mark the rest as waiting and retry through the mailbox, which
                # counts against the intensity again.
                for waiting in group[position:]:
                    waiting.become("restarting")
                self.process._deliver(INFO, _Restart(member), None)
                return

    async def handle_info(self, message: Any) -> None:
        if type(message) is _Restart:
            await self._restart(message.child)
        else:
            Service.handle_info(self, message)

    # ----- the supervisor API (through calls, serialized with restarts) ---------------------

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is not _Request:
            return Service.handle_call(self, request, caller)
        try:
            return await getattr(self, f"_op_{request.op}")(request.arg)
        except (SupervisorError, StartError, TypeError, ValueError) as exc:
            return Refused(exc)

    def _key(self, child: _Child) -> Hashable:
        """What requests name ``child`` by (what :meth:`_find` takes): its id."""
        return child.spec.id

    def _find(self, child_id: Hashable) -> _Child:
        for child in self._children:
            if child.spec.id == child_id:
                return child
        raise SupervisorError(f"no child with id {child_id!r}")

    async def _op_which_children(self, _: None) -> list[ChildInfo]:
        return [ChildInfo(c.spec.id, c.proc, c.spec.kind, c.status) for c in self._children]

    async def _op_count_children(self, _: None) -> ChildCounts:
        kinds = [c.spec.kind for c in self._children]
        active = sum(1 for c in self._children if c.proc is not None and c.proc.alive)
        supervisors = kinds.count("supervisor")
        return ChildCounts(len(kinds), active, supervisors, len(kinds) - supervisors)

    async def _op_start_child(self, spec: ChildSpec) -> Process:
        self._check_new_id(spec)
        child = _Child(spec)
        self._children.append(child)
        try:
            return await self._start(child)
        except StartError:
            self._children.remove(child)
            raise

    async def _op_terminate_child(self, child_id: Hashable) -> None:
        await self._stop(self._find(child_id))

    async def _op_restart_child(self, child_id: Hashable) -> Process:
        child = self._find(child_id)
        if child.proc is not None:
            raise SupervisorError(f"child {child_id!r} is running")
        return await self._start(child)

    async def _op_restart_service(self, child_id: Hashable) -> Process:
        child = self._find(child_id)
        await self._stop(child)
        return await self._start(child)

    async def _op_delete_child(self, child_id: Hashable) -> None:
        child = self._find(child_id)
        if child.proc is not None:
            raise SupervisorError(f"child {child_id!r} is running; terminate it first")
        self._children.remove(child)


class DynamicSupervisor(Supervisor):
    """A one_for_one supervisor whose children are added at run time with :func:`start_child`.

    Start with ``init(max_children=None, max_restarts=3, max_seconds=5.0)``. Children are known
    by their process (ids need not be unique); a child that stops for good is forgotten.
    """

    max_children: int | None

    async def init(  # type: ignore[override]
        self, max_children: int | None = None, max_restarts: int = 3, max_seconds: float = 5.0
    ) -> None:
        if max_children is not None and not (isinstance(max_children, int) and max_children >= 0):
            raise ValueError(f"max_children must be an int >= 0 or None, not {max_children!r}")
        self.max_children = max_children
        await super().init((), "one_for_one", max_restarts, max_seconds)

    def _check_new_id(self, spec: ChildSpec) -> None:
        if not isinstance(spec, ChildSpec):
            raise TypeError(f"children must be ChildSpec instances, not {spec!r}")
        if self.max_children is not None and len(self._children) >= self.max_children:
            raise SupervisorError(f"max_children ({self.max_children}) reached")

    def _forget_if_done(self, child: _Child) -> None:
        if child in self._children:
            self._children.remove(child)

    def _key(self, child: _Child) -> Hashable:
        return child.proc  # ids need not be unique here

    def _find(self, child: Any) -> _Child:
        for record in self._children:
            if record.proc is child:
                return record
        raise SupervisorError(f"{child!r} is not a running child of this supervisor")

    async def _op_restart_child(self, child_id: Hashable) -> Process:
        raise SupervisorError("a DynamicSupervisor forgets stopped children; use start_child")

    async def _op_delete_child(self, child_id: Hashable) -> None:
        raise SupervisorError("a DynamicSupervisor forgets stopped children; nothing to delete")

    async def _op_restart_service(self, child_id: Hashable) -> Process:
        raise SupervisorError(
            "a DynamicSupervisor forgets stopped children, so it cannot restart one; terminate it and start_child again"
        )


async def _request(sup: Target, op: str, arg: Any = None, timeout: float | None = None) -> Any:
    return await call(sup, _Request(op, arg), timeout)


async def which_children(sup: Target) -> list[ChildInfo]:
    """``(id, process, type, status)`` of each child, in start order."""
    return await _request(sup, "which_children")


async def count_children(sup: Target) -> ChildCounts:
    """Numbers of child specs, running children, supervisors and workers."""
    return await _request(sup, "count_children")


async def start_child(sup: Target, spec: ChildSpec, timeout: float | None = None) -> Process:
    """Add ``spec`` to the supervisor and start it; raises :class:`StartError` if it fails."""
    return await _request(sup, "start_child", spec, timeout)


async def terminate_child(sup: Target, child: Hashable, timeout: float | None = None) -> None:
    """Stop a child (by id; by process for a DynamicSupervisor) within its shutdown time.

    A Supervisor keeps the spec (temporary ones are forgotten); a DynamicSupervisor forgets it.
    """
    await _request(sup, "terminate_child", child, timeout)


async def restart_child(sup: Target, child: Hashable, timeout: float | None = None) -> Process:
    """Start a stopped child again from its spec."""
    return await _request(sup, "restart_child", child, timeout)


async def delete_child(sup: Target, child: Hashable) -> None:
    """Forget the spec of a stopped child."""
    await _request(sup, "delete_child", child)


def intensity_window(sup: Supervisor) -> tuple[int, int]:
    """``(used, left)`` of the supervisor's restart budget right now."""
    used = sup.restarts_used()
    return used, max(0, sup.max_restarts - used)


def supervised(root: Process | None) -> list[tuple[tuple[str, ...], Process, Hashable]]:
    """Every child of a :class:`Supervisor` tree under ``root``, breadth first, as (path of ids
    as text from ``root``, its supervisor, the key its supervisor knows it by: its id, or its
    process under a DynamicSupervisor): how the magics and widgets name a service.
    Runs in the runtime's thread."""
    found = []
    level: list[tuple[tuple[str, ...], Process]] = [((), root)] if root is not None else []
    while level:
        below = []
        for path, proc in level:
            if not isinstance(proc.service, Supervisor) or not proc.alive:
                continue
            for record in proc.service._children:
                child_path = (*path, str(record.spec.id))
                found.append((child_path, proc, proc.service._key(record)))
                if record.proc is not None and record.proc.kind == "supervisor":
                    below.append((child_path, record.proc))
        level = below
    return found


async def restart_service(sup: Target, child: Hashable, timeout: float | None = None) -> Process:
    """Stop a child within its shutdown time and start it again from its spec, in one request
    (a DynamicSupervisor refuses before stopping anything: it would forget the child)."""
    return await _request(sup, "restart_service", child, timeout)
