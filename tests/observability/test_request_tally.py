"""Requests counted in batches: none lost or counted twice, and none left waiting."""

from __future__ import annotations

import threading
import time

from synthdata.observability import metrics
from synthdata.observability.heavy_hitters import WindowedHeavyHitters
from synthdata.observability.request_tally import FOLD_SECONDS, RequestTally, fold_all

ROUTE = "/test/tally/{item_id}"


def _requests(status: str) -> float:
    return float(metrics.http_requests_total.labels("GET", ROUTE, status)._value.get())


def _durations() -> tuple[float, float]:
    """(observations, sum) of the route's latency histogram, from its exposition."""
    samples = {
        sample.name: sample.value
        for family in metrics.http_request_duration_seconds.collect()
        for sample in family.samples
        if sample.labels.get("endpoint") == ROUTE
    }
    count = samples.get("http_request_duration_seconds_count", 0.0)
    return count, samples.get("http_request_duration_seconds_sum", 0.0)


def test_concurrent_adds_and_folds_count_every_request_once():
    tally = RequestTally(WindowedHeavyHitters(min_rate=0.0))
    fold_all()
    before_ok, before_err = _requests("200"), _requests("500")
    before_count, before_sum = _durations()
    customer = metrics.api_requests_total.labels("cus_tally_test")
    before_customer = customer._value.get()

    def client(index: int) -> None:
        for n in range(2000):
            status = 500 if n % 10 == 0 else 200
            tally.add(("GET", ROUTE, status, 0.25, f"192.0.2.{index}", "cus_tally_test"))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    folder = threading.Thread(target=lambda: [tally.fold() for _ in range(200)])
    for thread in [*threads, folder]:
        thread.start()
    for thread in [*threads, folder]:
        thread.join()
    tally.fold()

    assert _requests("200") - before_ok == 4 * 1800
    assert _requests("500") - before_err == 4 * 200
    count, total = _durations()
    assert count - before_count == 8000
    assert abs((total - before_sum) - 8000 * 0.25) < 1e-6
    assert customer._value.get() - before_customer == 8000
    # Every request is in the per-source window: 2000 from each of the four sources.
    rates = tally.talkers.rates()
    assert sorted(rates) == [f"192.0.2.{index}" for index in range(4)]
    assert len({round(rate, 6) for rate in rates.values()}) == 1  # the same count each


def test_pending_requests_are_counted_without_a_scrape():
    tally = RequestTally()
    fold_all()
    before = _requests("404")
    tally.add(("GET", ROUTE, 404, 0.01, "198.51.100.7", None))
    deadline = time.monotonic() + 10 * FOLD_SECONDS
    while _requests("404") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _requests("404") == before + 1
