"""The shape of the Foundation's periodic services (health monitor, telemetry poller, memory
manager): do one round of work now, then again every N seconds, N read from the config at each
round so a change applies from the next one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..runtime._service import Service

if TYPE_CHECKING:
    from ._foundation import Foundation

_ROUND = "scope_ext:round"


class PeriodicService(Service):
    """Calls :meth:`round` at start and then every ``interval`` seconds (a config path)."""

    #: The setting that holds the seconds between rounds.
    interval: ClassVar[tuple[str, ...]]

    def init(self, foundation: Foundation) -> None:
        self.foundation = foundation
        self.send_after(0, _ROUND)

    def handle_info(self, message: Any) -> None:
        if message != _ROUND:
            return
        self.round()
        self.send_after(self.foundation.config.get(self.interval), _ROUND)

    def round(self) -> None:
        """One round of the service's work."""
        raise NotImplementedError
