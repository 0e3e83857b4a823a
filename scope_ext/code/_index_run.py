"""One index run's progress, as the caller watches it."""

from __future__ import annotations

import time

import trio


class IndexRun:
    """One index run: progress counters, ``await wait()``, ``cancel()``."""

    def __init__(self, run_id: int, root: str) -> None:
        self.id = run_id
        self.root = root
        self.status = "running"
        self.files_total = 0
        self.files_done = 0
        self.files_skipped = 0
        self.files_removed = 0
        self.bytes_done = 0
        self.errors = 0
        self.started = time.time()
        self.finished: float | None = None
        self.error: BaseException | None = None
        self._done = trio.Event()
        self._scope = trio.CancelScope()

    def __repr__(self) -> str:
        return (
            f"<IndexRun {self.id} {self.status}: {self.files_done}/{self.files_total} files, "
            f"{self.errors} errors, {self.files_skipped} unchanged>"
        )

    @property
    def elapsed(self) -> float:
        """Seconds the run has taken (so far, or in all once it ended)."""
        return (self.finished or time.time()) - self.started

    @property
    def rate(self) -> float:
        """Files per second so far."""
        elapsed = self.elapsed
        return self.files_done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the first files are done)."""
        rate = self.rate
        return (self.files_total - self.files_done) / rate if rate > 0 else None

    def cancel(self) -> None:
        """Stop the run; what was already indexed stays."""
        self._scope.cancel()

    async def wait(self) -> IndexRun:
        """Wait for the run to end; raises what made it fail."""
        await self._done.wait()
        if self.error is not None:
            raise self.error
        return self
