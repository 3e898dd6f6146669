"""Issue 13, item 6: `/metrics` on the API port is for Prometheus, and stays small and cheap.

- Without `SYNTHDATA_METRICS_TOKEN` only this machine may scrape (a loopback peer,
  not relayed by a proxy); with it, only callers that present it.
- Per-customer series are capped (`SYNTHDATA_METRICS_MAX_CUSTOMERS`); the other
  customers are counted as `other`, and nothing is lost from the totals.
- One render serves every scrape for `SYNTHDATA_METRICS_CACHE_SECONDS`, also when
  20 scrapers arrive at once on the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from benchmarks.service_processes import base_env, serve
from fastapi.testclient import TestClient

from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from tests.fixtures.service import Caller

REMOTE = ("203.0.113.5", 40000)
LOOPBACK = ("127.0.0.1", 40000)
TOKEN = "scrape-token-for-tests"


@contextmanager
def api(settings: Settings, client: tuple[str, int]) -> Iterator[TestClient]:
    """The app as `synthdata serve` builds it (metrics on), seen from `client`."""
    with TestClient(create_app(settings, workers=0, hooks=[observe.install]), client=client) as c:
        yield c


def test_a_remote_caller_without_a_token_gets_no_metrics(
    settings_for: Callable[..., Settings], alice: Caller
) -> None:
    settings = settings_for()
    with api(settings, LOOPBACK) as local:
        assert local.get("/api/v1/me", headers=alice.headers).status_code == 200
    with api(settings, REMOTE) as remote:
        answer = remote.get("/metrics")
        assert answer.status_code == 403, answer.text[:200]
        assert "synthdata_api_requests_total" not in answer.text
        assert alice.customer_id and alice.customer_id not in answer.text
        assert "SYNTHDATA_METRICS_TOKEN" in answer.json()["detail"]


def test_without_a_token_loopback_may_scrape_but_not_through_a_proxy(
    settings_for: Callable[..., Settings],
) -> None:
    with api(settings_for(), LOOPBACK) as local:
        answer = local.get("/metrics")
        assert answer.status_code == 200
        assert "# TYPE http_requests_total counter" in answer.text
        # A reverse proxy on this machine relays outside callers with a forwarding header:
        # the connection is loopback, the caller is not.
        for header in (
            {"X-Forwarded-For": "203.0.113.9"},
            {"X-Forwarded-For": "127.0.0.1"},
            {"Forwarded": "for=203.0.113.9"},
            {"X-Real-IP": "203.0.113.9"},
        ):
            assert local.get("/metrics", headers=header).status_code == 403, header


def test_with_a_token_every_scrape_must_present_it(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(metrics_token=TOKEN)
    with api(settings, REMOTE) as remote:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": TOKEN}):
            answer = remote.get("/metrics", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert "http_requests_total" not in answer.text
        answer = remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert "# TYPE synthdata_api_requests_total counter" in answer.text
    with api(settings, LOOPBACK) as local:  # once a token is set, loopback needs it too
        assert local.get("/metrics").status_code == 401
        assert local.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).is_success


def _customer_series(text: str) -> dict[str, float]:
    found = re.findall(r'^synthdata_api_requests_total\{customer_id="([^"]*)"\} (\S+)$', text, re.M)
    return {label: float(value) for label, value in found}


def test_per_customer_series_are_capped_and_the_rest_is_other(
    settings_for: Callable[..., Settings], make_caller: Callable[..., Caller]
) -> None:
    settings = settings_for(metrics_max_customers=2, metrics_cache_seconds=0)
    callers = [make_caller(name=f"Customer {n}") for n in range(6)]
    with api(settings, LOOPBACK) as local:
        before = _customer_series(local.get("/metrics").text)
        sent = 0
        for rank, caller in enumerate(callers):
            for _ in range(rank + 1):
                assert local.get("/api/v1/me", headers=caller.headers).status_code == 200
                sent += 1
        series = _customer_series(local.get("/metrics").text)
    # The registry lives as long as the process: compare with what was there before.
    own = {c.customer_id for c in callers} & set(series)
    assert len(own) <= 2, sorted(series)
    assert set(series) - set(before) <= own | {"other"}
    # At least four customers' requests went to `other`: no fewer than the quietest four's.
    assert series.get("other", 0) - before.get("other", 0) >= 1 + 2 + 3 + 4
    assert sum(series.values()) - sum(before.values()) == sent  # capped, not dropped


def test_a_render_serves_the_scrapes_that_follow_it(
    settings_for: Callable[..., Settings],
) -> None:
    with api(settings_for(metrics_cache_seconds=3600), LOOPBACK) as local:
        first = local.get("/metrics")
        assert local.get("/healthz").status_code == 200
        again = local.get("/metrics")
    assert first.status_code == again.status_code == 200
    # Rendered again, the second text would count the first scrape and the /healthz call.
    assert again.content == first.content


# -- the real server ----------------------------------------------------------------------
@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`synthdata serve` (one process), with a render reused for an hour."""
    env = base_env(
        tmp_path,
        SYNTHDATA_ENVIRONMENT="test",
        SYNTHDATA_LOG_LEVEL="WARNING",
        SYNTHDATA_SERVE_WORKERS="0",
        SYNTHDATA_METRICS_CACHE_SECONDS="3600",
    )
    with serve("serve", env, tmp_path, ["--workers", "1"]) as proc:
        yield proc.url


def test_twenty_concurrent_scrapers_share_one_render(server: str) -> None:
    def scrape(_: int) -> bytes:
        answer = httpx.get(f"{server}/metrics", timeout=30.0)
        assert answer.status_code == 200
        return answer.content

    with ThreadPoolExecutor(20) as pool:
        bodies = set(pool.map(scrape, range(20)))
        bodies |= set(pool.map(scrape, range(20)))
    assert len(bodies) == 1, f"{len(bodies)} different renders for 40 scrapes"


def test_the_cluster_scrape_presents_the_token_the_api_expects() -> None:
    """monitoring/k8s: the ServiceMonitor's bearer token is the API's SYNTHDATA_METRICS_TOKEN."""
    k8s = Path(__file__).resolve().parents[2] / "monitoring" / "k8s"
    docs = [
        d
        for name in ("api.yaml", "servicemonitors.yaml")
        for d in yaml.safe_load_all((k8s / name).read_text())
        if d
    ]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["SYNTHDATA_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
    (monitor,) = [
        d
        for d in docs
        if d["kind"] == "ServiceMonitor" and d["metadata"]["name"] == "synthdata-api"
    ]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["authorization"]["type"] == "Bearer"
    credentials = endpoint["authorization"]["credentials"]
    assert (credentials["name"], credentials["key"]) == (ref["name"], ref["key"])
    assert monitor["metadata"]["namespace"] == deployment["metadata"]["namespace"]
