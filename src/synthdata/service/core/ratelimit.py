"""Rate limits per API key and per source address, and lockout after bad keys.

Fixed windows: simple, and with Redis exact across replicas (INCR + EXPIRE).
In memory they are per process, which is right for the embedded single-process
mode. If Redis fails, limits fail open: abuse protection must not take the API down.
With Redis, one call waits at most the short Redis timeout, and after a failure the
circuit (`circuit.py`) skips Redis for a few seconds: a stalled Redis costs one timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from synthdata.service.core.circuit import RedisCircuit

log = logging.getLogger("synthdata.service")


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead, and if not, in how many seconds to retry."""

    allowed: bool
    retry_after: int = 0
    locked_out: bool = False  # refused because the source sent too many bad keys


class Counter(Protocol):
    """Counts hits in fixed windows, and holds timed locks."""

    def incr(self, key: str, window: int) -> tuple[int, int]:
        """Count a hit; return (hits in the current window, seconds until it ends)."""
        ...

    def lock(self, key: str, seconds: int) -> None:
        """Lock `key` for `seconds`."""
        ...

    def locked_for(self, key: str) -> int:
        """Seconds `key` stays locked (0 when not locked)."""
        ...


class MemoryCounter:
    """In-process counters (one process = one set of limits)."""

    def __init__(self) -> None:
        self._hits: dict[str, tuple[int, int]] = {}
        self._locks: dict[str, float] = {}
        self._mutex = threading.Lock()

    def incr(self, key: str, window: int) -> tuple[int, int]:
        now = time.time()
        index = int(now // window)
        with self._mutex:
            if len(self._hits) > 100_000:  # keep memory bounded under a flood of sources
                self._hits = {k: v for k, v in self._hits.items() if v[0] >= index}
            start, count = self._hits.get(key, (index, 0))
            count = count + 1 if start == index else 1
            self._hits[key] = (index, count)
        return count, max(1, math.ceil((index + 1) * window - now))

    def lock(self, key: str, seconds: int) -> None:
        with self._mutex:
            self._locks[key] = time.time() + seconds

    def locked_for(self, key: str) -> int:
        with self._mutex:
            until = self._locks.get(key)
            if until is None:
                return 0
            left = until - time.time()
            if left <= 0:
                del self._locks[key]
                return 0
            return max(1, math.ceil(left))


class RedisCounter:
    """Counters shared by every replica through Redis, under a key prefix."""

    def __init__(self, url: str, prefix: str, timeout: float = 0.25) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a retry of a timed-out call is another timeout on every request.
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self._prefix = prefix

    def incr(self, key: str, window: int) -> tuple[int, int]:
        now = time.time()
        index = int(now // window)
        name = f"{self._prefix}:hits:{key}:{index}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window + 1)
        count = int(pipe.execute()[0])
        return count, max(1, math.ceil((index + 1) * window - now))

    def lock(self, key: str, seconds: int) -> None:
        self._redis.set(f"{self._prefix}:lock:{key}", b"1", ex=seconds)

    def locked_for(self, key: str) -> int:
        ttl = int(self._redis.ttl(f"{self._prefix}:lock:{key}"))
        return max(ttl, 0)


class RateLimiter:
    """The request limits and the bad-key lockout, over a `Counter`."""

    def __init__(
        self,
        counter: Counter,
        *,
        window: int,
        per_key: int,
        per_source: int,
        lockout_failures: int,
        per_source_per_second: int | None = None,
        lockout_window: int,
        lockout_seconds: int,
        circuit: RedisCircuit | None = None,
    ) -> None:
        self.counter = counter
        self.circuit = circuit
        self.window = window
        self.per_key = per_key
        self.per_source = per_source
        # A second, one-second window: without it a source may spend its whole
        # window's allowance in the first second (3,000 requests in ~1 s).
        self.per_source_per_second = per_source_per_second
        self.lockout_failures = lockout_failures
        self.lockout_window = lockout_window
        self.lockout_seconds = lockout_seconds

    @property
    def is_local(self) -> bool:
        """Whether the counters are in this process (checks never wait on I/O)."""
        return isinstance(self.counter, MemoryCounter)

    def _safely(self, action: str, default: Decision, fn: Callable[[], Decision]) -> Decision:
        circuit = self.circuit
        if circuit is not None and not circuit.allows():
            return default  # Redis failed a moment ago: allow without asking it
        try:
            decision = fn()
        except Exception as exc:  # fail open: see the module docstring
            if circuit is None:
                log.warning("rate limiter unavailable during %s; allowing", action, exc_info=True)
            else:
                circuit.failed(f"rate limit {action}", exc)  # logs once per outage
            return default
        if circuit is not None:
            circuit.succeeded()
        return decision

    def check_source(self, source: str) -> Decision:
        """Refuse a locked-out source, or one over its request rate."""

        def run() -> Decision:
            locked = self.counter.locked_for(f"src:{source}")
            if locked:
                return Decision(False, locked, locked_out=True)
            if self.per_source_per_second is not None:
                burst = self._hit(f"src1s:{source}", self.per_source_per_second, 1)
                if not burst.allowed:
                    return burst
            return self._hit(f"src:{source}", self.per_source, self.window)

        return self._safely("check_source", Decision(True), run)

    def check_key(self, key_id: str) -> Decision:
        """Refuse a key over its request rate."""
        return self._safely(
            "check_key",
            Decision(True),
            lambda: self._hit(f"key:{key_id}", self.per_key, self.window),
        )

    def record_failure(self, source: str) -> Decision:
        """Count a bad key from `source`; lock the source out once it has sent too many."""

        def run() -> Decision:
            count, _ = self.counter.incr(f"fail:{source}", self.lockout_window)
            if count >= self.lockout_failures:
                self.counter.lock(f"src:{source}", self.lockout_seconds)
                return Decision(False, self.lockout_seconds, locked_out=True)
            return Decision(True)

        return self._safely("record_failure", Decision(True), run)

    def _hit(self, key: str, limit: int, window: int) -> Decision:
        count, retry_after = self.counter.incr(key, window)
        return Decision(count <= limit, 0 if count <= limit else retry_after)


class Tarpit:
    """Holds refused requests for a moment before their 429.

    A flood answered with instant 429s still costs the server every request: 16
    connections got 3,000 refusals a second and slowed everyone else's requests
    2-9x (benchmarks/abuse.py). Holding each refusal `seconds` first lets a
    connection send one request per `seconds`, and a held request costs one sleeping
    coroutine. At most `capacity` are held at once, so that many connections cannot
    pile up sleepers; past it refusals are answered at once.
    """

    def __init__(self, seconds: float, capacity: int) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._held = 0
        self._mutex = threading.Lock()  # apps under test may run on several loops

    @property
    def held(self) -> int:
        """Refusals being held now."""
        return self._held

    async def hold(self) -> float:
        """Wait `seconds` unless the tarpit is full (or off); the seconds held."""
        if self.seconds <= 0:
            return 0.0
        with self._mutex:
            if self._held >= self.capacity:
                return 0.0
            self._held += 1
        started = time.monotonic()
        try:
            await asyncio.sleep(self.seconds)
        finally:
            with self._mutex:
                self._held -= 1
        return time.monotonic() - started
