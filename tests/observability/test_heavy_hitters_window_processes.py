"""`synthdata serve --workers 2`: the per-source gauge adds up both processes' heavy hitters.

Each server process sees only its share of a source's requests. Each publishes its
current leaders in the shared metrics directory, and whichever process answers a
scrape reports the sum, so the DDoSAttack rule sees the source's whole rate.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from benchmarks.service_processes import SYNTHDATA, free_port

from tests.fixtures.processes import wait_http
from tests.ops import live_stack
from tests.ops.live_stack import LiveStack

pytestmark = pytest.mark.slow
stack = live_stack.stack

SOURCE = "203.0.113.50"
GAUGE = re.compile(
    r'^synthdata_source_requests_per_second\{source_ip="203\.0\.113\.50"\} (\S+)$', re.M
)


def _snapshots(directory: Path) -> dict[str, float]:
    """file name -> the rate of SOURCE in that process's snapshot."""
    found = {}
    for path in directory.glob("source_rates_*.json"):
        try:
            rates = json.loads(path.read_text())
        except ValueError:  # being replaced
            continue
        if SOURCE in rates:
            found[path.name] = float(rates[SOURCE])
    return found


def test_both_processes_count_towards_the_source_rate(stack: LiveStack, tmp_path: Path) -> None:
    shared = tmp_path / "multiproc"
    env = stack.service_env(
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        SYNTHDATA_RATE_LIMIT_PER_SOURCE="1000000",
        SYNTHDATA_RATE_LIMIT_PER_SOURCE_PER_SECOND="100000",
    )
    port = free_port()
    api = stack.start(
        "serve",
        [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env,
        url=f"http://127.0.0.1:{port}",
    )
    wait_http(api, "/readyz")

    # New connections until both processes have served (and published) the source.
    deadline = time.monotonic() + 60
    while len(_snapshots(shared)) < 2 and time.monotonic() < deadline:
        for _ in range(50):
            httpx.get(f"{api.url}/healthz", headers={"X-Forwarded-For": SOURCE}, timeout=10)
        time.sleep(1.2)  # a fold publishes each second
    shares = _snapshots(shared)
    assert len(shares) == 2, shares

    # Whichever process answers, the scrape reports the two shares added up.
    for _ in range(6):
        shares = _snapshots(shared)
        text = httpx.get(f"{api.url}/metrics", timeout=10).text
        shares_after = _snapshots(shared)
        match = GAUGE.search(text)
        assert match, text[-2000:]
        value = float(match.group(1))
        low = min(sum(shares.values()), sum(shares_after.values()))
        high = max(sum(shares.values()), sum(shares_after.values()))
        # Above either process's own share; the sum of the shares, as they move.
        assert value > max(shares.values()) and value > max(shares_after.values()), (value, shares)
        assert 0.8 * low <= value <= 1.2 * high, (value, shares, shares_after)
