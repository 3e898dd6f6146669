"""Both fast expositions say exactly what prometheus_client's would.

Two child processes write samples to one directory in prometheus_client's
multiprocess mode: counters and histograms with and without labels, label values
with quotes, backslashes, newlines and non-ASCII text, and a multiprocess gauge (the
type that takes prometheus_client's own merge). `MergedExposition` must give the
same families and the same samples as `MultiProcessCollector`, pass `promtool check
metrics`, and keep doing so as new series appear after its keys were cached.
Likewise, in one process, `metrics_payload` must equal `generate_latest(REGISTRY)`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from synthdata.observability import metrics
from synthdata.observability.exposition import MergedExposition
from synthdata.observability.http import metrics_payload
from tests.fixtures.processes import promtool_check_exposition

WRITER = textwrap.dedent(
    """
    import sys
    from prometheus_client import Counter, Gauge, Histogram

    step = int(sys.argv[1])
    odd = 'quote " back \\\\ slash\\nnew line, päivää'
    requests = Counter("demo_requests", "Requests.\\nTwo lines, a \\\\ too.", ["route", "status"])
    plain = Counter("demo_plain", "No labels.")
    latency = Histogram("demo_latency_seconds", "Latency.", ["route"], buckets=(0.1, 1, 10))
    bare = Histogram("demo_bare_seconds", "No labels.", buckets=(0.5,))
    gauge = Gauge("demo_inflight", "In flight.", ["route"], multiprocess_mode="livesum")
    for i in range(20 + step):
        route = f"/r/{i % 4}"
        requests.labels(route, str(200 + step)).inc(i + 1)
        latency.labels(route).observe(0.05 * (i + step))
    requests.labels(odd, "500").inc(step + 0.5)
    latency.labels(odd).observe(100)
    plain.inc(3)
    bare.observe(0.25 * step)
    gauge.labels("/r/0").set(2 + step)
    if step == 2:
        Counter("demo_late", "Appears after the first scrape.").inc(7)
    """
)


def _write(directory: Path, step: int) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", WRITER, str(step)], env=env, check=True)


def _samples(text: str) -> dict[str, set[tuple[str, tuple[tuple[str, str], ...], float]]]:
    families: dict[str, set[tuple[str, tuple[tuple[str, str], ...], float]]] = {}
    for family in text_string_to_metric_families(text):
        key = f"{family.name} {family.type} {family.documentation}"
        assert key not in families, f"family {family.name} split in two"
        # Sums over processes may be added in another order: equal to 12 digits.
        families[key] = {
            (sample.name, tuple(sorted(sample.labels.items())), float(f"{sample.value:.12g}"))
            for sample in family.samples
        }
    return families


def _contract(families: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in families.items() if not k.startswith(("process_", "python_"))}


def _reference(directory: Path) -> str:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return generate_latest(registry).decode()


def test_merged_text_equals_prometheus_clients(tmp_path):
    _write(tmp_path, 0)
    _write(tmp_path, 1)
    merged = MergedExposition(str(tmp_path))

    text = merged.render().decode()
    expected = _samples(_reference(tmp_path))
    assert _samples(text) == expected
    assert any(name.startswith("demo_inflight ") for name in expected)  # the gauge fallback
    counts = [s for f in expected.values() for s in f if s[0] == "demo_latency_seconds_count"]
    assert sum(value for _, _, value in counts) == 20 + 21 + 2  # both processes, added up
    assert promtool_check_exposition(text.encode()) == ""

    # A third process and a new family after the keys are cached: still equal.
    _write(tmp_path, 2)
    assert _samples(merged.render().decode()) == _samples(_reference(tmp_path))
    assert "demo_late_total 7.0" in merged.render().decode()


def test_empty_directory_renders_nothing(tmp_path):
    assert MergedExposition(str(tmp_path)).render() == b""


def test_local_text_equals_generate_latest():
    # The contract's metrics in this process, with awkward label values added.
    odd = 'quote " back \\ slash\nnew line, päivää'
    metrics.api_requests_total.labels(odd).inc(2.5)
    metrics.http_request_duration_seconds.labels("GET", odd).observe(0.3)
    metrics.http_request_duration_seconds.labels("GET", odd).observe(12)
    metrics.revenue_generated_total.labels("USD").inc(1234567.25)  # exponent notation
    text = metrics_payload().decode()
    reference = generate_latest(REGISTRY).decode()
    # The process and GC gauges move between two renders; the rest must be equal.
    assert _contract(_samples(text)) == _contract(_samples(reference))
    assert promtool_check_exposition(text.encode()) == ""


def test_every_registered_metric_is_rendered():
    # A metric added to metrics.py but not to SERIES_METRICS would vanish from /metrics.
    registered = {name.split(" ")[0] for name in _samples(generate_latest(REGISTRY).decode())}
    assert {name.split(" ")[0] for name in _samples(metrics_payload().decode())} == registered
    series = {m._name for m in metrics.SERIES_METRICS}
    contract = {
        value._name for value in vars(metrics).values() if isinstance(value, Counter | Histogram)
    }
    assert series == contract
