"""One `/metrics` render at a time, off the event loop, reused for a moment.

A render reads every series, and the scrape-time gauges query the database. Done on
the event loop for each scrape, 20 scrapers at once took a bystander's
`GET /api/v1/me` from ~50 ms to ~1 s. Here a render runs on a thread of its own;
a scrape that arrives while one runs waits for it and gets the same text, and a
render younger than `max_age` seconds is served again without rendering. Scrapers
can then cost at most one render per `max_age`, however many they are.

The waiting goes through a `concurrent.futures.Future`, which belongs to no event
loop: the same cache serves any loop (tests start one per client) and plain threads.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class RenderCache:
    """`render()`'s latest result, at most `max_age` seconds old; one render at a time."""

    def __init__(
        self,
        render: Callable[[], bytes],
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self.max_age = max_age
        self._clock = clock
        self._mutex = threading.Lock()  # held only to look at or swap the fields below
        self._payload: bytes | None = None
        self._rendered_at = -math.inf  # when the cached render started
        self._running: Future[bytes] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="metrics-render")

    def get(self) -> bytes:
        """The text, from this thread (blocks while a render runs)."""
        return self._future().result()

    async def get_async(self) -> bytes:
        """The text, without blocking the event loop."""
        return await asyncio.wrap_future(self._future())

    def _future(self) -> Future[bytes]:
        with self._mutex:
            if self._payload is not None and self._clock() - self._rendered_at < self.max_age:
                fresh: Future[bytes] = Future()
                fresh.set_result(self._payload)
                return fresh
            if self._running is None:  # else: join the render under way
                self._running = self._thread.submit(self._render_once, self._clock())
            return self._running

    def _render_once(self, started: float) -> bytes:
        try:
            payload = self._render()
        except BaseException:
            with self._mutex:
                self._running = None  # the next scrape tries again
            raise
        with self._mutex:
            self._payload, self._rendered_at, self._running = payload, started, None
        return payload
