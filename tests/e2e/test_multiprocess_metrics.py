"""`synthdata serve --workers 2`: one set of numbers, whichever process answers /metrics.

Each API process writes its samples to its own files in the shared multiprocess
directory. The test sends requests until both processes have served some (so the
total really is a sum over processes), then scrapes /metrics repeatedly until both
processes have answered a scrape: every scrape must report exactly the number of
requests sent, and the exposition must pass `promtool check metrics` silently.
Each process adds its requests to its file within a second (request_tally.py), so
the test waits for the files to settle before it scrapes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from synthdata.observability import metrics
from synthdata.observability.http import metrics_payload
from tests.fixtures.processes import (
    promtool_check_exposition,
    promtool_check_metrics,
    service_env,
)

ENDPOINT = "/api/v1/openapi.json"
MAX_REQUESTS = 400


def _per_process(directory: Path, endpoint: str) -> dict[str, float]:
    """http_requests_total for `endpoint`, per server process (from its own sample file)."""
    counts: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        total = 0.0
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, _help = json.loads(key)
            if name == "http_requests_total" and labels.get("endpoint") == endpoint:
                total += value
        counts[path.stem.removeprefix("counter_")] = total
    return counts


def _settled(directory: Path, endpoint: str, expected: float) -> dict[str, float]:
    """Per-process counts once they add up to `expected` (or after 10 s, as they are)."""
    deadline = time.monotonic() + 10
    while True:
        counts = _per_process(directory, endpoint)
        if sum(counts.values()) >= expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def _scraped(text: str, endpoint: str) -> tuple[float, float]:
    """(requests, observed durations) for GET `endpoint` with status 200 in one scrape."""
    requests = durations = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("endpoint") != endpoint or labels.get("method") != "GET":
                continue
            if sample.name == "http_requests_total" and labels.get("status") == "200":
                requests += sample.value
            elif sample.name == "http_request_duration_seconds_count":
                durations += sample.value
    return requests, durations


@pytest.mark.slow
def test_two_processes_report_one_exact_total(tmp_path, serve):
    home = tmp_path / "home"
    proc = serve(service_env(home), 2, "--job-threads", "0")
    samples = home / "prometheus"  # serve's multiprocess directory: beside the data dir

    # New connection per request, until both processes have served some.
    sent = 0
    with httpx.Client(base_url=proc.url, headers={"Connection": "close"}, timeout=30) as http:
        while sent < MAX_REQUESTS:
            for _ in range(10):
                assert http.get(ENDPOINT).status_code == 200
            sent += 10
            served = _per_process(samples, ENDPOINT)
            if len(served) == 2 and all(served.values()):
                break
            time.sleep(0.1)  # each process adds its requests to its file every second
    served = _settled(samples, ENDPOINT, sent)
    assert len(served) == 2 and all(served.values()), f"one process took everything: {served}"
    assert sum(served.values()) == sent

    # Scrape until each process has answered at least one scrape (and at least 10 times).
    scrapes = 0
    with httpx.Client(base_url=proc.url, headers={"Connection": "close"}, timeout=30) as http:
        while scrapes < 10 or not all(_per_process(samples, "/metrics").values()):
            assert scrapes < MAX_REQUESTS, _per_process(samples, "/metrics")
            response = http.get("/metrics")
            assert response.status_code == 200
            assert _scraped(response.text, ENDPOINT) == (sent, sent)
            scrapes += 1
    assert len(_per_process(samples, "/metrics")) == 2

    assert promtool_check_metrics(f"{proc.url}/metrics") == ""


def test_certificate_gauge_passes_promtool():
    # The runbook's `cert_expiry_days` is exposed in the base unit: promtool lints
    # a `_days` name ('use base unit "seconds" instead of "days"').
    metrics.scrape_time.cert_expiry_seconds = lambda: {"/etc/ssl/api.pem": 44.5 * 86400}
    try:
        output = promtool_check_exposition(metrics_payload())
    finally:
        metrics.scrape_time.cert_expiry_seconds = None
    assert output == ""
