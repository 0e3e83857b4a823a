"""Prompt wake-ups beside a busy thread: the interpreter's switch interval, short only while the
runtime is about to run.

A thread running Python (a CPU-bound cell) keeps the GIL until another thread has waited a whole
*switch interval* for it (5 ms by default), and the runtime's loop may wait that long more than
once per wake-up. :class:`PromptSwitching` shortens the interval while the loop has work due soon
and gives it back while the loop sleeps, so a busy cell is interrupted about as often as before,
only sooner (``bench/gil_liveness.py`` measures it).
"""

from __future__ import annotations

import sys

import trio

#: The switch interval while the runtime has work due (seconds).
PROMPT = 0.00025
#: The loop counts as having work due when it will wake within this many seconds.
HORIZON = 0.05


class PromptSwitching(trio.abc.Instrument):
    """A trio instrument for the runtime's own thread; the interval it found is given back by
    :meth:`restore` (and whenever the loop goes to sleep for longer than :data:`HORIZON`)."""

    def __init__(self, prompt: float = PROMPT) -> None:
        self.prompt = prompt
        self.normal = sys.getswitchinterval()
        self._short = False

    def before_io_wait(self, timeout: float) -> None:
        short = timeout < HORIZON
        if short != self._short:
            self._short = short
            sys.setswitchinterval(self.prompt if short else self.normal)

    def restore(self) -> None:
        """Give the interpreter its interval back (the runtime is stopping)."""
        if self._short:
            self._short = False
            sys.setswitchinterval(self.normal)
