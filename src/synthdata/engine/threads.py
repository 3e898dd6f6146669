"""How many CPU threads this process may use for the engine's work.

By default the engine overlaps its stages (sampling the next chunk while the last is
encoded, Arrow's and the BLAS thread pools), so one process uses every core. A
worker that is given a share of a machine (`SYNTHDATA_WORKER_CPU_THREADS`, like a
container's CPU limit) calls `limit_cpu_threads` once; then the stages run one after
another and the native pools are capped, so identical workers added side by side
scale out instead of competing for the same cores.
"""

from __future__ import annotations

import os

import pyarrow as pa
from threadpoolctl import threadpool_limits


class _Limit:
    threads: int | None = None


def limit_cpu_threads(threads: int) -> None:
    """Use at most `threads` CPU threads in this process from now on."""
    _Limit.threads = max(1, threads)
    pa.set_cpu_count(_Limit.threads)
    threadpool_limits(_Limit.threads)


def overlap_stages() -> bool:
    """Whether the engine may run a second stage on another thread at the same time."""
    return _Limit.threads is None or _Limit.threads > 1


def encoder_threads(wanted: int) -> int:
    """How many threads may encode output at once (at least 1)."""
    return wanted if _Limit.threads is None else max(1, min(wanted, _Limit.threads))


def lower_priority(nice: int) -> None:
    """Run this process `nice` steps below normal, for work that must not slow a server.

    Only nice, not Linux's idle scheduling class: that class gave no measurable gain
    on the abuse benchmark's job phases (3.9x and 4.2x the idle p95 with it, 3.3x and
    4.1x without) and would starve jobs under a steadily busy API.
    """
    if nice > 0:
        os.nice(nice)
