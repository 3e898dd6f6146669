"""CPU-heavy request work in a helper process, so that the API keeps answering.

Inspecting an upload (parsing it, inferring the schema) is pure CPU under the GIL:
on a thread of the API process a 3,000-column upload took a bystander's
`GET /api/v1/me` p95 from 7 ms to 37 ms (benchmarks/abuse.py). Here it runs in one
helper process at a lower CPU priority (`SYNTHDATA_OFFLOAD_NICE`), started on first
use and shared by every app in the process. The helper is forked from a clean
server process (`forkserver`), never from the API process with its threads and
sockets. A helper that dies (out of memory on a decompression bomb) is replaced, and
the request that killed it fails with a clear error instead of taking the API down.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from synthdata.engine.errors import InputError
from synthdata.engine.threads import lower_priority

P = ParamSpec("P")
R = TypeVar("R")


class OffloadFailed(InputError):
    """The helper died on the input (most often: out of memory); a 422 for the caller."""


class Offload:
    """One lazily started helper process that runs picklable functions."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None
        self._mutex = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._mutex:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=context,
                    initializer=lower_priority,
                    initargs=(self.nice,),
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._mutex:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`fn(*args, **kwargs)` in the helper; its exceptions are raised here."""
        pool = self._executor()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))
        except BrokenProcessPool:
            self._replace(pool)
            raise OffloadFailed(
                "the process reading the table stopped (most often: it ran out of memory); "
                "the table was not kept"
            ) from None

    def close(self) -> None:
        """Stop the helper (at exit)."""
        with self._mutex:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_shared: dict[int, Offload] = {}
_shared_mutex = threading.Lock()


def shared_offload(nice: int) -> Offload:
    """The process's helper for this priority (one per API process, not per app)."""
    with _shared_mutex:
        offload = _shared.get(nice)
        if offload is None:
            offload = _shared[nice] = Offload(nice)
            atexit.register(offload.close)
        return offload
