"""Every exception scope_ext raises on purpose, in one place."""

from __future__ import annotations

from typing import Any


class ScopeError(Exception):
    """Base class of all scope_ext errors."""


class CallError(ScopeError):
    """A call did not get a reply; the subclass says why."""


class NotRunning(CallError):
    """The target names no running service (never started, already exited, or unregistered)."""


class ServiceExited(CallError):
    """The service exited before it replied; ``reason`` is its exit reason.

    When the service crashed, the crash is also chained as ``__cause__``.
    """

    def __init__(self, message: str, reason: Any) -> None:
        super().__init__(message)
        self.reason = reason


class CallTimeout(CallError, TimeoutError):
    """No reply arrived within the call's timeout."""


class MailboxFull(ScopeError):
    """The target's mailbox stayed full: refused at once, or still full after the wait policy's timeout."""


class AlreadyRegistered(ScopeError):
    """A unique key is already held by another process (``holder``)."""

    def __init__(self, message: str, holder: Any) -> None:
        super().__init__(message)
        self.holder = holder


class NamespaceError(ScopeError):
    """A namespace does not exist, already exists, or cannot be dropped."""


class StartError(ScopeError):
    """A process failed to start (its ``init`` raised, or it was asked to stop first).

    The original error is chained as ``__cause__``.
    """


class SupervisorError(ScopeError):
    """A supervisor operation was refused: unknown child id, duplicate id, child still running, ..."""


class RuntimeNotRunning(ScopeError):
    """The runtime is not started (or has been stopped)."""
