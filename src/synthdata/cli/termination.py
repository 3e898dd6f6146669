"""SIGTERM ends a command the way Ctrl-C does, so the same clean-up runs.

Without a handler, SIGTERM (from `kill`, `timeout`, a container stop) ends Python at
once: no `finally` runs, and an output being written stays behind as a hidden
`.part` file. Raised as `Terminated`, a `KeyboardInterrupt`, it unwinds the command
like Ctrl-C. Servers and workers install their own handlers, which take precedence.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# The shell's code for a process ended by SIGTERM.
TERMINATED_EXIT = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM during the clean-up ends the process at once, as it would have.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Raise `Terminated` on SIGTERM inside the block (only if nothing else handles it)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
