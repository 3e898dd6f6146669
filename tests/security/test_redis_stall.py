"""A stalled Redis costs one short timeout, not seconds on every request.

Redis carries the shared rate limits (every authenticated request) and the job
messages (POST /jobs). The service reaches the real Redis through a TCP proxy
(`tcp_proxy.py`) that the test stalls: connections stay open, no byte moves, as when
Redis hangs. After the first short timeout the circuit skips Redis for a few
seconds: limits fail open, the job message is left to the reaper. Each request must
answer within a 1 s client timeout (the old code waited two 1 s limiter timeouts per
request, more on POST /jobs); when Redis answers again the limits use it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from synthdata.service.app import create_app
from tests.fixtures.service import CSV, REDIS_URL, Caller, make_settings, serving
from tests.security.tcp_proxy import TcpProxy, proxy_to

CLIENT_TIMEOUT = 1.0  # detects a request that waits on the stalled Redis
CIRCUIT_SECONDS = 1.0

pytestmark = pytest.mark.parametrize("migrated_database", ["sqlite"], indirect=True)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    assert "127.0.0.1:6379" in REDIS_URL, REDIS_URL
    with proxy_to("127.0.0.1", 6379) as started:
        yield started


@pytest.fixture
def served(database_url: str, tmp_path: Path, proxy: TcpProxy, redis_prefix: str) -> Iterator[str]:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        redis_url=proxy.url_for(REDIS_URL),
        queue="redis",
        rate_limit_backend="redis",
        rate_limit_prefix=redis_prefix,
        redis_circuit_seconds=CIRCUIT_SECONDS,
    )
    with serving(create_app(settings)) as url:
        yield url


def _hits(prefix: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return sum(int(client.get(key) or 0) for key in client.scan_iter(f"{prefix}:hits:*"))
    finally:
        client.close()


def test_stalled_redis_costs_one_short_timeout_then_is_skipped(
    served: str,
    proxy: TcpProxy,
    alice: Caller,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    latencies: list[float] = []
    with httpx.Client(base_url=served, timeout=10) as http:
        dataset = http.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("p.csv", CSV, "text/csv")}
        )
        assert dataset.status_code == 201, dataset.text
        job = {"dataset_id": dataset.json()["id"], "rows": 10}
        # Before the stall: the limits live in Redis, and the first job pays for loading
        # the engine (not for Redis).
        assert http.post("/api/v1/jobs", headers=alice.headers, json=job).status_code == 202
        assert _hits(redis_prefix) > 0

        proxy.stall()
        deadline = time.monotonic() + 3 * CIRCUIT_SECONDS  # past a trial after the circuit
        jobs = 0
        while time.monotonic() < deadline:
            for method, path, body in (
                ("GET", "/api/v1/me", None),
                ("GET", "/api/v1/usage", None),
                ("POST", "/api/v1/jobs", job),
            ):
                began = time.monotonic()
                answer = http.request(
                    method, path, headers=alice.headers, json=body, timeout=CLIENT_TIMEOUT
                )
                latencies.append(time.monotonic() - began)
                assert answer.status_code in (200, 202), answer.text
                jobs += path == "/api/v1/jobs"
        assert jobs > 1
        # The job is recorded and waits for the reaper to send its message.
        listed = http.get("/api/v1/jobs", headers=alice.headers, timeout=CLIENT_TIMEOUT).json()
        assert len(listed["items"]) == min(50, jobs + 1)
        assert {item["state"] for item in listed["items"]} == {"queued"}

        proxy.resume()
        time.sleep(CIRCUIT_SECONDS + 0.2)  # the circuit lets a trial through again
        before = _hits(redis_prefix)
        for _ in range(3):
            assert http.get("/api/v1/me", headers=alice.headers).status_code == 200
        assert _hits(redis_prefix) > before, "the limits did not go back to Redis"

    outages = [
        r.getMessage() for r in caplog.records if "redis unavailable during" in r.getMessage()
    ]
    assert 1 <= len(outages) <= 3, outages  # once per outage (and per failed trial), not per call
    assert not [r for r in caplog.records if r.exc_info and "rate limiter" in r.getMessage()]
    latencies.sort()
    median = latencies[len(latencies) // 2]
    print(
        f"\nstalled redis: {len(latencies)} requests, median {median:.3f} s, "
        f"max {latencies[-1]:.3f} s"
    )
