"""Skip Redis for a few seconds after it failed, instead of every request waiting on it.

Redis is on the request path for the shared rate limits and for sending job messages.
Both may go without it (limits fail open; an unsent job message is sent by the reaper),
so a stalled Redis must cost one short timeout, not one per call: after a failure the
circuit opens and callers skip Redis for `open_seconds`; then one caller tries again
(the others keep skipping meanwhile) and closes the circuit if it succeeds.

Hand-written rather than pybreaker: pybreaker holds one lock across every guarded call,
which would serialise all the service's Redis calls in normal operation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("synthdata.service")


class RedisCircuit:
    """Closed (use Redis) or open until a moment (skip it); thread-safe."""

    def __init__(
        self,
        open_seconds: float,
        call_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.open_seconds = open_seconds
        self.call_seconds = call_seconds  # how long one guarded Redis call may take
        self._clock = clock
        self._open_until = 0.0  # 0: closed
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._open_until != 0.0

    def allows(self) -> bool:
        """Whether to call Redis now (closed, or this caller is the one trial)."""
        if self._open_until == 0.0:  # closed: the common case takes no lock
            return True
        with self._lock:
            now = self._clock()
            if self._open_until == 0.0:
                return True
            if now < self._open_until:
                return False
            # This caller tries Redis; the others keep skipping until it has answered.
            self._open_until = now + self.open_seconds
            return True

    def succeeded(self) -> None:
        if self._open_until != 0.0:
            with self._lock:
                if self._open_until != 0.0:
                    self._open_until = 0.0
                    log.warning("redis answering again; rate limits and job messages use it")

    def failed(self, action: str, exc: BaseException) -> None:
        with self._lock:
            was_closed = self._open_until == 0.0
            self._open_until = self._clock() + self.open_seconds
        if was_closed:  # one line per outage, not one per request
            log.warning(
                "redis unavailable during %s (%s: %s); skipping it for %g s at a time "
                "(rate limits allow, job messages wait for the reaper)",
                action,
                type(exc).__name__,
                exc,
                self.open_seconds,
            )
