"""`health-check --comprehensive` during a real incident and on a healthy service.

A real `synthdata serve` (fault injection on), a real Prometheus scraping it every
second and evaluating an error-ratio alert (the shipped HighErrorRate condition,
`for: 0s` so it fires within seconds), sending to a real Alertmanager. The incident:
30 % of the requests answered with injected 500s and slow uploads (a client that
trickles its body for 3 s) pushing the p95 past a second, as in the runbook's 5xx
incident. Every part still answers its health probe, so the check must read the
alerts and the traffic to see it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.ops import (  # noqa: F401  (the fixtures)
    Run,
    alertmanager,
    assert_clean_exit,
    base_test_env,
    ops,
    wait_until,
)
from tests.ops.live_stack import LiveStack, stack  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

FAULT = {"X-Synthdata-Fault": "500"}
# The 5xx share of user requests (availability.yml's ratio, probes and scrapes left out).
USER = 'endpoint!~"/metrics|/healthz|/readyz"'
ERROR_RATIO = (
    f'sum by (job) (rate(http_requests_total{{status=~"5..",{USER}}}[5m]))'
    f" / sum by (job) (rate(http_requests_total{{{USER}}}[5m]))"
)
TRAFFIC = f"sum by (job) (rate(http_requests_total{{{USER}}}[5m])) > 0"
SLOW_UPLOAD_S = 3.0


def _rules(home: Path) -> Path:
    rules = home / "incident-rules.yml"
    rule = {
        "alert": "HighErrorRate",
        "expr": f"{ERROR_RATIO} > 0.01",
        "for": "0s",
        "labels": {"severity": "critical", "service": "synthdata-api"},
        "annotations": {"summary": "High error rate detected"},
    }
    rules.write_text(json.dumps({"groups": [{"name": "incident", "rules": [rule]}]}))
    return rules


def _platform(live: LiveStack, tmp_path: Path, alertmanager_url: str) -> tuple[str, dict[str, str]]:
    """The service, and Prometheus scraping it with the alert; the ops environment."""
    env = base_test_env(tmp_path, SYNTHDATA_FAULT_INJECTION="true")
    api = live.serve(env)
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(_rules(tmp_path))],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}
            ]
        },
        "scrape_configs": [
            {
                "job_name": "synthdata-api",
                "static_configs": [{"targets": [api.url.removeprefix("http://")]}],
            }
        ],
    }
    prometheus = live.prometheus(config)
    env.update(
        SYNTHDATA_API_URL=api.url,
        SYNTHDATA_PROMETHEUS_URL=prometheus.url,
        SYNTHDATA_ALERTMANAGER_URL=alertmanager_url,
    )
    return api.url, env


def _slow_upload(base: str, seconds: float) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"dataset_id": '
        time.sleep(seconds)
        yield b'"ds_slow", "rows": 10}'

    headers = {"Content-Type": "application/json"}
    httpx.post(f"{base}/api/v1/jobs", content=body(), headers=headers, timeout=60)


def _round(base: str, *, ok: int, failed: int = 0, slow: int = 0) -> None:
    """`ok` answered requests (the cheapest: /docs redirects), `failed` injected 500s and
    `slow` uploads that take SLOW_UPLOAD_S, at the same time."""
    uploads = [
        threading.Thread(target=_slow_upload, args=(base, SLOW_UPLOAD_S)) for _ in range(slow)
    ]
    for upload in uploads:
        upload.start()
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(ok):
            assert client.get("/docs").status_code == 307  # answered: a redirect
        for _ in range(failed):
            assert client.get("/api/v1/jobs", headers=FAULT).status_code == 500
    for upload in uploads:
        upload.join()


def _traffic(base: str, env: dict[str, str], *, rounds: int, **mix: int) -> None:
    """A first request of each kind, scraped before the measured rounds (a series'
    first sample is its start: Prometheus cannot count the increase up to it)."""
    _round(base, ok=1, failed=1 if mix.get("failed") else 0)
    _slow_upload(base, 0.0)
    scraped = 'count(http_requests_total{endpoint=~"/docs|/api/v1/jobs"})'
    kinds = 3 if mix.get("failed") else 2  # GET /docs, POST 401 (and GET 500)
    wait_until(
        lambda: _query(env, scraped) and float(_query(env, scraped)[0]["value"][1]) >= kinds,
        what="the first requests scraped",
    )
    time.sleep(2)  # and scraped again, unchanged
    for _ in range(rounds):
        _round(base, **mix)
        time.sleep(1.5)  # spread over scrapes, as real traffic is


def _query(env: dict[str, str], expression: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{env['SYNTHDATA_PROMETHEUS_URL']}/api/v1/query", params={"query": expression}, timeout=5
    )
    return list(answer.json()["data"]["result"])


def _alert_delivered(env: dict[str, str], name: str) -> bool:
    alerts = httpx.get(f"{env['SYNTHDATA_ALERTMANAGER_URL']}/api/v2/alerts", timeout=5).json()
    return any(alert["labels"].get("alertname") == name for alert in alerts)


def _timed(run: Run) -> None:
    """Every finding says how long its own check took."""
    for finding in run.report["findings"]:
        assert isinstance(finding["data"].get("took_ms"), int | float), finding


@pytest.mark.timeout(300)
def test_an_incident_is_not_green(
    stack: LiveStack,  # noqa: F811
    tmp_path: Path,
    alertmanager: str,  # noqa: F811
) -> None:
    base, env = _platform(stack, tmp_path, alertmanager)
    # Per round 7 answered, 3 injected 500s (30 %), 1 upload that takes 3 s (the p95).
    _traffic(base, env, rounds=3, ok=7, failed=3, slow=1)
    wait_until(lambda: _alert_delivered(env, "HighErrorRate"), what="the alert in Alertmanager")
    wait_until(lambda: bool(_query(env, ERROR_RATIO)), what="a 5xx ratio in Prometheus")

    run = ops(env, "health-check", "--comprehensive", "--json")
    assert_clean_exit(run, 1)
    # Every part answers: the old green.
    for part in ("service", "database", "queue", "storage", "workers", "prometheus"):
        assert run.finding(part)["status"] == "ok", run.finding(part)
    assert run.finding("alertmanager")["status"] == "ok"

    alert = run.finding("alert HighErrorRate")
    assert alert["status"] == "fail"
    assert sorted(alert["data"]["sources"]) == ["alertmanager", "prometheus"]
    assert "critical firing since" in alert["detail"]
    assert "High error rate detected" in alert["detail"]
    assert run.finding("alerts firing")["data"]["count"] == 1

    errors = run.finding("5xx ratio synthdata-api")
    assert errors["status"] == "fail"
    assert 0.15 < errors["data"]["ratio"] < 0.45, errors  # 9 of 33
    assert f"{errors['data']['ratio']:.2%} of requests answered 5xx" in errors["detail"]
    latency = run.finding("latency p95 synthdata-api")
    assert latency["status"] == "fail"
    assert latency["data"]["seconds"] > 1.0, latency
    assert "HighResponseTime" in latency["detail"]
    _timed(run)

    # The table an operator reads shows the same numbers.
    table = ops(env, "health-check", "--comprehensive")
    assert_clean_exit(table, 1)
    assert "alert HighErrorRate" in table.stdout
    assert "of requests answered 5xx" in table.stdout
    assert "p95 " in table.stdout
    assert "took" in table.stdout and re.search(r"│ +\d+ ms │", table.stdout)


@pytest.mark.timeout(300)
def test_a_healthy_service_passes(
    stack: LiveStack,  # noqa: F811
    tmp_path: Path,
    alertmanager: str,  # noqa: F811
) -> None:
    base, env = _platform(stack, tmp_path, alertmanager)
    _traffic(base, env, rounds=3, ok=10)
    wait_until(lambda: bool(_query(env, TRAFFIC)), what="the requests in Prometheus")
    time.sleep(3)  # a few evaluations: the alert would have fired by now

    run = ops(env, "health-check", "--comprehensive", "--json")
    assert_clean_exit(run, 0)
    assert run.finding("alerts firing")["data"]["count"] == 0
    errors = run.finding("5xx ratio synthdata-api")
    assert (errors["status"], errors["data"]["ratio"]) == ("ok", 0.0)
    latency = run.finding("latency p95 synthdata-api")
    assert latency["status"] == "ok" and latency["data"]["seconds"] is not None
    assert not [name for name in run.statuses() if name.startswith("alert ")]
    _timed(run)
