"""Circuit breakers: stop calling what keeps failing, and probe it again after a while.

closed: calls go through; ``failure_threshold`` failures in a row open the circuit.
open: calls fail at once with :class:`CircuitOpen` until ``recovery_time`` has passed.
half_open: one probe call goes through; success closes the circuit, failure opens it again.
A call slower than ``call_timeout`` counts as a failure. Every transition is a telemetry event
(``scope.circuit_breaker.state``) and a stored event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from ..runtime._exceptions import ScopeError

if TYPE_CHECKING:
    from ._telemetry import Telemetry

T = TypeVar("T")


class CircuitOpen(ScopeError):
    """The circuit is open (or half-open with its probe in flight): the call was not made."""


class CircuitBreaker:
    """See the module docstring; get one with ``Foundation.circuit_breaker(name, ...)``."""

    def __init__(
        self,
        name: str,
        telemetry: Telemetry,
        report: Callable[[str, Any], None],
        *,
        failure_threshold: int = 5,
        recovery_time: float = 10.0,
        call_timeout: float | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, not {failure_threshold}")
        if recovery_time <= 0 or (call_timeout is not None and call_timeout <= 0):
            raise ValueError("recovery_time and call_timeout must be > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_time = recovery_time
        self.call_timeout = call_timeout
        self.state = "closed"
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False
        self._telemetry = telemetry
        self._report = report

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state}, {self.failures} failures>"

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` through the breaker."""
        if self.state == "open":
            assert self.opened_at is not None
            elapsed = trio.current_time() - self.opened_at
            if elapsed < self.recovery_time:
                raise CircuitOpen(f"circuit {self.name!r} is open; next probe in {self.recovery_time - elapsed:.2f} s")
            self._transition("half_open")
        if self.state == "half_open":
            if self._probing:
                raise CircuitOpen(f"circuit {self.name!r} is half-open and its probe call is running")
            self._probing = True
        try:
            if self.call_timeout is None:
                result = await fn(*args)
            else:
                with trio.fail_after(self.call_timeout):
                    result = await fn(*args)
        except (Exception, trio.TooSlowError):
            self._failed()
            raise
        finally:
            self._probing = False
        self._succeeded()
        return result

    def _failed(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.failure_threshold:
            self.opened_at = trio.current_time()
            if self.state != "open":
                self._transition("open")

    def _succeeded(self) -> None:
        self.failures = 0
        if self.state != "closed":
            self._transition("closed")

    def _transition(self, state: str) -> None:
        previous, self.state = self.state, state
        metadata = {"name": self.name, "from": previous, "to": state}
        self._telemetry.execute("scope.circuit_breaker.state", {"failures": self.failures}, metadata)
        self._report("scope.circuit_breaker.state", metadata)

    def reset(self) -> None:
        """Close the circuit and forget failures."""
        self.failures = 0
        if self.state != "closed":
            self._transition("closed")
