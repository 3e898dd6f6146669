"""The per-source heavy hitters count the last minute only, so no history can blind them.

The adversary first burns the label budget: for three simulated hours, hundreds of
sources take turns as the busiest talkers (millions of requests). Under the old
lifetime cap (50 labels, counts that never decay) a new source after that stayed
under `other` for good. Here a new source above the DDoSAttack threshold must be
among the exported sources, at a rate above the threshold, within 60 simulated
seconds. Time is an injected clock: the tests never read the wall clock.
"""

from __future__ import annotations

import random

from synthdata.observability.heavy_hitters import WindowedHeavyHitters
from synthdata.observability.http import metrics_payload
from synthdata.observability.request_tally import RequestTally

THRESHOLD = 1000.0  # DDoSAttack: requests per second from one source
ROUTE = "/test/window/{item}"


class Clock:
    """Simulated seconds."""

    def __init__(self, now: float = 1_000_000.5) -> None:  # events between bucket edges
        self.now = now

    def __call__(self) -> float:
        return self.now


def _burn_label_budget(
    sketch: WindowedHeavyHitters, clock: Clock, seconds: int, sources: int = 400
) -> tuple[int, set[str]]:
    """Hundreds of sources taking turns at ~2,000 req/s in all; (requests, labels seen)."""
    rng = random.Random(7)
    addresses = [f"198.51.{i // 250}.{i % 250}" for i in range(sources)]
    sent, labelled = 0, set()
    for second in range(seconds):
        clock.now += 1
        shift = (second // 30) * 20  # a new set of 20 busy sources every 30 s
        for offset in range(40):
            busy = offset < 20
            address = addresses[(shift + offset * (1 if busy else 7)) % sources]
            count = rng.randint(60, 90) if busy else rng.randint(1, 5)
            sketch.add(address, count)
            sent += count
        if second % 10 == 0:
            rates = sketch.rates()
            assert len(rates) <= sketch.top
            assert sketch.tracked() <= sketch.slots
            labelled.update(rates)
    return sent, labelled


def _background(sketch: WindowedHeavyHitters, rng: random.Random) -> None:
    for _ in range(40):
        sketch.add(f"198.51.{rng.randrange(2)}.{rng.randrange(200)}", rng.randint(1, 90))


def test_a_new_attacker_is_labelled_within_a_minute_after_the_label_budget_is_burnt() -> None:
    clock = Clock()
    sketch = WindowedHeavyHitters(clock=clock)
    sent, labelled = _burn_label_budget(sketch, clock, seconds=3 * 3600)
    assert sent > 10_000_000  # millions of requests over three hours
    # Labels were recycled: far more sources had a series, in turn, than the old
    # lifetime cap of 50 ever allowed, and never more than `top` at once.
    assert len(labelled) > 200, len(labelled)

    rng = random.Random(11)
    attacker, rate = "203.0.113.99", 1100  # just above the threshold
    first_seen = None
    for second in range(1, 61):
        clock.now += 1
        _background(sketch, rng)
        sketch.add(attacker, rate)
        exported = sketch.rates()
        assert len(exported) <= sketch.top
        if exported.get(attacker, 0.0) > THRESHOLD and first_seen is None:
            first_seen = second
    assert first_seen is not None and first_seen <= 60, first_seen
    # A minute in, the exported rate is the attacker's real rate (its own requests only).
    assert abs(sketch.rates()[attacker] - rate) < 0.02 * rate


def test_old_traffic_stops_counting_and_idle_sources_drop_out() -> None:
    clock = Clock()
    sketch = WindowedHeavyHitters(clock=clock)
    for _ in range(3600):  # an hour at 1,500 req/s: 5.4 million requests
        clock.now += 1
        sketch.add("192.0.2.1", 1500)
    assert abs(sketch.rates()["192.0.2.1"] - 1500) < 0.02 * 1500  # one second's worth
    clock.now += 61  # it stopped a minute ago: nothing of it is in the window any more
    assert sketch.rates() == {}
    # A newcomer does not have to out-count that hour: 2 req/s make it the leader.
    for _ in range(10):
        clock.now += 1
        sketch.add("192.0.2.2", 2)
    assert set(sketch.rates()) == {"192.0.2.2"}


def test_a_trickle_gets_no_series_and_the_rate_is_over_the_last_minute() -> None:
    clock = Clock()
    sketch = WindowedHeavyHitters(clock=clock, min_rate=1.0)
    for second in range(600):
        clock.now += 1
        sketch.add("192.0.2.7", 1200)
        if second % 2:
            sketch.add("192.0.2.8", 1)  # 0.5 req/s: under min_rate
    rates = sketch.rates()
    assert set(rates) == {"192.0.2.7"}
    assert abs(rates["192.0.2.7"] - 1200) < 0.02 * 1200


def test_a_scanner_cannot_push_a_flood_out_of_the_table() -> None:
    # Thousands of one-request addresses every second, besides one flood: each new
    # address recycles the least-counted slot, never the flood's.
    clock = Clock()
    sketch = WindowedHeavyHitters(clock=clock)
    for second in range(120):
        clock.now += 1
        sketch.add("203.0.113.5", 1500)
        for index in range(2000):
            sketch.add(f"10.{second % 200}.{index // 250}.{index % 250}", 1)
    rates = sketch.rates()
    assert abs(rates["203.0.113.5"] - 1500) < 0.02 * 1500
    assert sketch.tracked() <= sketch.slots


def test_the_gauge_follows_the_window_in_the_exposition() -> None:
    clock = Clock()
    tally = RequestTally(WindowedHeavyHitters(clock=clock))
    attacker = "203.0.113.77"
    for _ in range(90):
        clock.now += 1
        for _ in range(1200):
            tally.add(("GET", ROUTE, 200, 0.001, attacker, None))
        tally.fold()
    text = metrics_payload().decode()
    assert "# TYPE synthdata_source_requests_per_second gauge" in text
    line = next(
        row
        for row in text.splitlines()
        if row.startswith(f'synthdata_source_requests_per_second{{source_ip="{attacker}"}}')
    )
    assert abs(float(line.rsplit(" ", 1)[1]) - 1200) < 0.02 * 1200, line
    clock.now += 61  # quiet for a minute: its series is gone (Prometheus marks it stale)
    assert f'source_ip="{attacker}"' not in metrics_payload().decode()
