"""Mailboxes: a process's bounded queue of messages, and the tasks that wait on it.

A :class:`Mailbox` is a deque of ``(kind, message, caller)`` entries, so the server loop pops at C
speed, with its capacity and full-mailbox policy and the two kinds of waiting: the server task
parks while it is empty (:meth:`Mailbox.wait_for_message`, woken by :meth:`Mailbox.deliver`), and
senders park while it is full (:meth:`Mailbox.wait_for_room`, let in one at a time as the server
takes messages). Whether a process still accepts messages at all is the process's business.

All of it belongs to the runtime's trio thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from trio.lowlevel import Abort, ParkingLot, Task, current_task, reschedule, wait_task_rescheduled

MailboxPolicy = Literal["wait", "refuse"]

# Entry kinds.
CALL = 0
CAST = 1
INFO = 2


class Mailbox(deque[tuple[int, Any, Any]]):
    """Entries are ``(kind, message, caller)``; ``caller`` is the call's ``Caller``, else None.

    ``policy`` says what a sender meets when it is full: ``"wait"`` (up to ``send_timeout``
    seconds) or ``"refuse"``. Capacity is checked by the senders.
    """

    __slots__ = ("capacity", "policy", "send_timeout", "server", "senders")

    def __init__(self, capacity: int, policy: MailboxPolicy = "wait", send_timeout: float = 5.0) -> None:
        super().__init__()
        self.capacity = capacity
        self.policy: MailboxPolicy = policy
        self.send_timeout = send_timeout
        #: The server task parked in :meth:`wait_for_message`, if any.
        self.server: Task | None = None
        #: Senders parked in :meth:`wait_for_room` (made on first need).
        self.senders: ParkingLot | None = None

    def __repr__(self) -> str:
        return f"<Mailbox {len(self)}/{self.capacity} {self.policy}>"

    def deliver(self, kind: int, message: Any, caller: Any) -> None:
        """Append an entry and wake the server."""
        self.append((kind, message, caller))
        server = self.server  # wake_server() inlined: this runs once per message
        if server is not None:
            self.server = None
            reschedule(server)

    def wake_server(self) -> None:
        """Wake the parked server without a message (to see a stop request)."""
        server = self.server
        if server is not None:
            self.server = None
            reschedule(server)

    async def wait_for_message(self) -> None:
        """Park the server task until a delivery or :meth:`wake_server`."""
        self.server = current_task()
        await wait_task_rescheduled(self._abort_wait)

    def _abort_wait(self, _raise_cancel: object) -> Abort:
        self.server = None
        return Abort.SUCCEEDED

    async def wait_for_room(self, still_open: Callable[[], bool]) -> None:
        """Park while full and ``still_open()``; the caller bounds the wait (a cancel scope)."""
        while len(self) >= self.capacity and still_open():
            if self.senders is None:
                self.senders = ParkingLot()
            await self.senders.park()

    def release_senders(self) -> None:
        """Wake every parked sender (the process stopped; they see it and fail)."""
        if self.senders is not None:
            self.senders.unpark_all()
