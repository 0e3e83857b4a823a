"""The shape of the Foundation's periodic services (health monitor, telemetry poller, memory
manager): one round of work now, then again every N seconds. N is a setting: a change applies at
once (the pending round is re-armed), and a value the service cannot use leaves it on the last
good one instead of crashing it into a restart loop."""

from __future__ import annotations

import abc
import logging
import math
from typing import TYPE_CHECKING, Any, ClassVar

from ..runtime._service import Service
from ._config import ConfigChanged

if TYPE_CHECKING:
    import trio

    from ._foundation import Foundation

log = logging.getLogger("scope_ext.foundation")
_ROUND = "scope_ext:round"


class PeriodicService(Service, abc.ABC):
    """Calls :meth:`round` at start and then every ``interval`` seconds (a config path)."""

    #: The setting that holds the seconds between rounds.
    interval: ClassVar[tuple[str, ...]]

    def init(self, foundation: Foundation) -> None:
        self.foundation = foundation
        self._every = 1.0
        self._every = self._seconds()
        self._timer: trio.CancelScope = self.send_after(0, _ROUND)
        foundation.config.subscribe(self.process, self.interval)

    def handle_info(self, message: Any) -> None:
        if isinstance(message, ConfigChanged):
            if message.path == self.interval:  # a new pace applies now, not after the old wait
                self._timer.cancel()
                self._timer = self.send_after(self._seconds(), _ROUND)
            return
        if message != _ROUND:
            return
        self.round()
        self._timer = self.send_after(self._seconds(), _ROUND)

    def _seconds(self) -> float:
        """The interval setting now, or the last good one if it cannot be used (logged)."""
        value = self.foundation.config.get(self.interval, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf:
            self._every = float(value)
        else:
            log.warning(
                "%s: %s = %r is not a usable interval; keeping %s s",
                self.process.label,
                ".".join(self.interval),
                value,
                self._every,
            )
        return self._every

    @abc.abstractmethod
    def round(self) -> None:
        """One round of the service's work."""
