"""A bounded top-N of request sources, for the runbook's per-address DDoS rule.

One series per client address would let any scanner explode the metric's
cardinality. Instead we keep approximate counts for a fixed number of addresses
(the Space-Saving algorithm of Metwally et al.: the least-counted slot is
recycled) and label a request with its address only while that address is a heavy
hitter; everything else is `other`. The set of labels ever emitted is capped too,
so the number of series is bounded for the life of the process. Full per-address
detail stays in the access log (`source.ip`). The same structure caps the
per-customer series (`request_tally.customer_series`).
"""

from __future__ import annotations

import threading

OTHER = "other"


class HeavyHitters:
    """Approximate top talkers with bounded memory and a bounded label set."""

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
