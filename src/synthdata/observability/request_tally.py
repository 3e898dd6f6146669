"""Request metrics: one append on the request path, added to the metrics in batches.

Counting a request costs four metric updates (requests, latency, customer, plus
the per-source heavy-hitter count), each a few Python calls and a lock. Measured inside
the server, with its caches busy with the request itself, that was ~30 us on
`GET /api/v1/me`: more than the 10 % of a fast request we allow instrumentation.
So a request only appends one tuple to a queue, and `fold` empties the queue into
the metrics in one warm loop, adding up the counters first:

- before every `/metrics` render in this process (so a single process is exact),
- every `FOLD_SECONDS` on a background thread (so that with `serve --workers N`,
  the process answering a scrape sees every other process's counts, at most that
  old), and when the queue reaches `MAX_PENDING`,
- at exit.

A process killed outright loses at most its last second of request counts.

Per-source traffic is not a counter: each fold adds the batch's requests per source
to a windowed heavy-hitter sketch, whose current leaders `/metrics` renders as the
gauge `synthdata_source_requests_per_second` (observability/heavy_hitters.py; with
`serve --workers N`, through observability/source_rates.py).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

from synthdata.observability import metrics, source_rates
from synthdata.observability.heavy_hitters import HeavyHitters, WindowedHeavyHitters
from synthdata.observability.multiprocess import ENV as MULTIPROC_ENV

FOLD_SECONDS = 1.0
MAX_PENDING = 10_000

# method, route template, status, seconds, source address, customer id
Request = tuple[str, str, int, float, str, str | None]


DEFAULT_CUSTOMER_SERIES = 100


def customer_series(limit: int) -> HeavyHitters:
    """The busiest `limit` customers by requests, each with its own series; the rest `other`.

    One series per customer made `/metrics` grow with the customer base (430 KB with
    a few thousand) and listed every customer to whoever could read it. The labels
    ever given out are capped at `limit` too, so the series stay bounded for the life
    of the process (per process: `serve --workers N` may show up to N x `limit`).
    """
    return HeavyHitters(slots=max(64, 4 * limit), top=limit, max_labels=limit, min_count=1)


class RequestTally:
    """Finished requests waiting to be counted, and the series they are counted in."""

    def __init__(
        self, talkers: WindowedHeavyHitters | None = None, customers: HeavyHitters | None = None
    ) -> None:
        self.talkers = talkers or WindowedHeavyHitters()
        self.customers = customers or customer_series(DEFAULT_CUSTOMER_SERIES)
        self._pending: deque[Request] = deque()  # append/popleft are thread-safe
        self._fold_lock = threading.Lock()
        # Labelled children, kept: `labels()` validates and locks on every call. All
        # keys are bounded (route templates, statuses, heavy-hitter sources and customers).
        self._children: dict[tuple[str, ...], Any] = {}
        _tallies.add(self)
        _start_folding()

    def add(self, request: Request) -> None:
        self._pending.append(request)
        if len(self._pending) >= MAX_PENDING:
            self.fold()

    def fold(self) -> None:
        """Count every pending request in the metrics."""
        with self._fold_lock:
            counts: dict[tuple[str, ...], int] = {}
            by_source: dict[str, int] = {}
            pending = self._pending
            while pending:
                method, endpoint, status, seconds, source, customer = pending.popleft()
                key: tuple[str, ...] = ("req", method, endpoint, str(status))
                counts[key] = counts.get(key, 0) + 1
                self._child(("dur", method, endpoint)).observe(seconds)
                by_source[source] = by_source.get(source, 0) + 1
                if customer:
                    key = ("cus", self.customers.observe(customer))
                    counts[key] = counts.get(key, 0) + 1
            for key, count in counts.items():
                self._child(key).inc(count)
            for source, count in by_source.items():  # one sketch update per source and batch
                self.talkers.add(source, count)

    def _child(self, key: tuple[str, ...]) -> Any:
        child = self._children.get(key)
        if child is None:
            kind, *labels = key
            child = self._children[key] = _METRICS[kind].labels(*labels)
        return child


_METRICS: dict[str, Any] = {
    "req": metrics.http_requests_total,
    "dur": metrics.http_request_duration_seconds,
    "cus": metrics.api_requests_total,
}
_tallies: weakref.WeakSet[RequestTally] = weakref.WeakSet()
_folder: threading.Thread | None = None
_folder_lock = threading.Lock()


def fold_all() -> None:
    """Count every request still pending in this process (and publish its source rates)."""
    for tally in list(_tallies):
        tally.fold()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and _tallies:  # only server processes count requests
        source_rates.write_snapshot(directory, local_source_rates())


def local_source_rates() -> dict[str, float]:
    """This process's heavy-hitter sources: address -> requests per second over the window."""
    total: dict[str, float] = {}
    for tally in list(_tallies):
        for source, rate in tally.talkers.rates().items():
            total[source] = total.get(source, 0.0) + rate
    return total


def source_request_rates() -> dict[str, float]:
    """The heavy-hitter sources of every server process (the gauge's scrape-time reader)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return local_source_rates()
    source_rates.write_snapshot(directory, local_source_rates())
    return source_rates.merged_rates(directory)


metrics.scrape_time.source_request_rates = source_request_rates


def _start_folding() -> None:
    global _folder
    with _folder_lock:
        if _folder is not None and _folder.is_alive():
            return
        _folder = threading.Thread(target=_fold_forever, name="request-metrics", daemon=True)
        _folder.start()


def _fold_forever() -> None:
    while True:
        time.sleep(FOLD_SECONDS)
        fold_all()


@atexit.register
def _last_fold() -> None:
    fold_all()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:  # a stopped process's sources no longer count
        source_rates.remove_snapshot(directory)
