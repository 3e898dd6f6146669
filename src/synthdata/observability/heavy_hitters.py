"""Bounded top-N talkers: one series each for the few that matter, never one per key.

One series per client address would let any scanner explode the metric's
cardinality. Both structures here keep approximate counts for a fixed number of
keys (the Space-Saving algorithm of Metwally et al.: when the table is full, the
least-counted slot is recycled) and give only the leaders a label of their own.

`WindowedHeavyHitters` (per-source traffic, the DDoSAttack rule) counts the last
`window` seconds only, in `buckets` time buckets per slot, so old traffic stops
counting as its buckets expire, and its labels recycle: the leaders are read afresh
at every scrape and exported as a gauge of their request rate
(`synthdata_source_requests_per_second`). A new source above the alert threshold is
among the leaders as soon as it is in the table, whatever came before it, and a
source that stops sending drops out of the gauge (Prometheus marks its series
stale). A counter could not do this: a retired counter child cannot be removed in
multiprocess mode, so the label set would only grow.

`HeavyHitters` (per-customer series, `request_tally.customer_series`) labels a key
for the life of the process, which a counter needs: its series must not come and go.
Full per-address detail stays in the access log (`source.ip`).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

OTHER = "other"

SOURCE_WINDOW_SECONDS = 60.0
"""The window of the per-source rate: the DDoSAttack rule's one minute."""


@dataclass
class _Slot:
    """One tracked key: its own counts per time bucket, and what it may have inherited."""

    since: float  # when the key took this slot: its own counts start here
    since_bucket: int
    inherited: int  # the recycled slot's count (Space-Saving's error bound), until it expires
    buckets: deque[list[int]] = field(default_factory=deque)  # [bucket number, count]
    total: int = 0  # own count in the live buckets

    @property
    def estimate(self) -> int:
        """An upper bound of the key's count in the window (own plus inherited)."""
        return self.total + self.inherited


class WindowedHeavyHitters:
    """The keys sending the most in the last `window` seconds, with bounded memory and labels.

    Counts live in `buckets` buckets of `window / buckets` seconds per slot; a bucket
    older than the window is dropped, so nothing counted before the window matters.
    When all `slots` are taken, a new key takes the slot with the smallest count and
    inherits that count as an error bound (Space-Saving): the table then holds every
    key that sent more than 1/`slots` of the window's traffic. The exported rate
    counts a key's own requests only, since it took its slot, so an inherited count
    never makes a key look busier than it is.

    Finding the smallest slot is a heap, not a scan: a scanner sending from thousands
    of new addresses a second recycles a slot for each. Counts only grow between two
    bucket edges, so a popped entry whose count grew is pushed back with its count,
    and the heap is rebuilt once per bucket, when old buckets expire.
    """

    def __init__(
        self,
        slots: int = 64,
        top: int = 10,
        window: float = SOURCE_WINDOW_SECONDS,
        buckets: int = 12,
        min_rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = slots
        self.top = top
        self.window = window
        self.buckets = buckets
        self.width = window / buckets
        self.min_rate = min_rate  # a trickle never earns its own series
        self.clock = clock
        self._table: dict[str, _Slot] = {}
        self._heap: list[tuple[int, str]] = []  # (estimate when pushed, key): lower bounds
        self._heap_bucket: int | None = None
        self._lock = threading.Lock()

    def add(self, key: str, count: int = 1, now: float | None = None) -> None:
        """Count `count` requests from `key` at `now` (the clock's time by default)."""
        with self._lock:  # the clock is read inside: buckets are appended in time order
            now = self.clock() if now is None else now
            number = int(now // self.width)
            slot = self._table.get(key)
            if slot is None:
                slot = self._take_slot(key, now, number)
            if slot.buckets and slot.buckets[-1][0] == number:
                slot.buckets[-1][1] += count
            else:
                slot.buckets.append([number, count])
            slot.total += count

    def rates(self, now: float | None = None) -> dict[str, float]:
        """The current leaders: key -> requests per second over the window (or since tracked).

        At most `top` keys, each at `min_rate` or more.
        """
        found: list[tuple[float, str]] = []
        with self._lock:
            now = self.clock() if now is None else now
            number = int(now // self.width)
            window_start = (number - self.buckets + 1) * self.width  # the oldest live bucket's
            for key, slot in self._table.items():
                self._expire(slot, number)
                if not slot.total:
                    continue
                # Never less than one bucket: a key seen a moment ago is not a flood yet.
                covered = max(now - max(window_start, slot.since), self.width)
                rate = slot.total / covered
                if rate >= self.min_rate:
                    found.append((rate, key))
        found.sort(reverse=True)
        return {key: rate for rate, key in found[: self.top]}

    def tracked(self) -> int:
        """Keys in the table now (at most `slots`)."""
        return len(self._table)

    def _take_slot(self, key: str, now: float, number: int) -> _Slot:
        inherited = 0
        if len(self._table) >= self.slots:
            victim = self._smallest(number)
            inherited = self._table.pop(victim).estimate
        slot = self._table[key] = _Slot(since=now, since_bucket=number, inherited=inherited)
        heapq.heappush(self._heap, (slot.estimate, key))
        return slot

    def _smallest(self, number: int) -> str:
        if self._heap_bucket != number:  # counts dropped at the bucket edge: rebuild
            for slot in self._table.values():
                self._expire(slot, number)
            self._heap = [(slot.estimate, key) for key, slot in self._table.items()]
            heapq.heapify(self._heap)
            self._heap_bucket = number
        while True:
            pushed, key = heapq.heappop(self._heap)
            found = self._table.get(key)
            if found is None:
                continue  # recycled since it was pushed
            if found.estimate == pushed:
                return key
            heapq.heappush(self._heap, (found.estimate, key))  # it grew: try again

    def _expire(self, slot: _Slot, number: int) -> None:
        oldest = number - self.buckets + 1
        while slot.buckets and slot.buckets[0][0] < oldest:
            slot.total -= slot.buckets.popleft()[1]
        if slot.inherited and slot.since_bucket < oldest:
            slot.inherited = 0  # every request it stood for is older than the window now


class HeavyHitters:
    """Approximate top talkers since start, with bounded memory and a bounded label set.

    A label, once given, is kept for the life of the process (a counter's series must
    not come and go), and at most `max_labels` are ever given.
    """

    def __init__(
        self, slots: int = 64, top: int = 10, max_labels: int = 50, min_count: int = 100
    ) -> None:
        self.slots = slots
        self.min_count = min_count  # a handful of requests never earns its own series
        self.top = top
        self.max_labels = max_labels
        self._counts: dict[str, int] = {}
        self._labels: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, address: str) -> str:
        """Count one request from `address`; return the label to count it under."""
        with self._lock:
            if address in self._counts:
                self._counts[address] += 1
            elif len(self._counts) < self.slots:
                self._counts[address] = 1
            else:
                victim = min(self._counts, key=self._counts.__getitem__)
                self._counts[address] = self._counts.pop(victim) + 1
            if address in self._labels:
                return address
            if (
                self._counts[address] >= self.min_count
                and len(self._labels) < self.max_labels
                and address in self._leaders()
            ):
                self._labels.add(address)
                return address
            return OTHER

    def _leaders(self) -> set[str]:
        ranked = sorted(self._counts.items(), key=lambda item: item[1], reverse=True)
        return {address for address, _ in ranked[: self.top]}
