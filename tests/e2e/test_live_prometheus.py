"""The metric contract end to end: real processes, real traffic, a real Prometheus.

`synthdata serve --workers 2` (two API processes, Redis queue) and one `synthdata
worker` run on a scratch SQLite database; Prometheus scrapes both every second. The
test drives a known amount of traffic - reads, 404s, injected 500s and 503s, each
kind of authentication failure, admin operations through the API, an upload, one
generation job and its download - and then checks every metric of DESIGN.md
section 3 through Prometheus' query API, with exact values wherever the traffic
fixes them. Exact counts across two API processes show that the multi-process
metrics add up without counting anything twice.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.service_processes import cli

import synthdata
from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.ops.dashboards import dashboard_expressions, substitute_variables
from tests.fixtures.processes import (
    Prometheus,
    promtool_check_metrics,
    service_env,
    write_certificate,
)

pytestmark = pytest.mark.slow

API, WORKER = "synthdata-api", "synthdata-worker"
FAULT = "X-Synthdata-Fault"
PRICE, CURRENCY, ROWS = 2.50, "USD", 1000
READS, NOT_FOUND, UNMATCHED, FAULTS_500, FAULTS_503 = 12, 4, 2, 7, 3
MISSING, UNKNOWN, REVOKED, FORBIDDEN = 2, 3, 2, 2

# Every metric of the contract, as it appears in Prometheus (histograms by their _count).
CONTRACT = (
    "http_requests_total",
    "http_request_duration_seconds_count",
    "synthdata_generation_total",
    "synthdata_generation_success_total",
    "synthdata_generation_duration_seconds_count",
    "synthdata_generation_queue_length",
    "synthdata_generation_jobs_queued",
    "synthdata_model_training_duration_seconds_count",
    "synthdata_active_users",
    "synthdata_data_processed_bytes_total",
    "synthdata_api_requests_total",
    "synthdata_revenue_generated_total",
    "auth_failures_total",
    "privileged_operations_total",
    "cert_expiry_seconds",
    "synthdata_source_requests_per_second",
)

ENGINE = f'"{DEFAULT_SYNTHESIZER}"'  # the synthesizer label of jobs that name none


def _table(path: Path, rows: int = 400) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["age", "income", "city", "member"])
        for i in range(rows):
            city = ("Paris", "Lyon", "Nice")[i % 3]
            out.writerow([20 + i % 50, 1000 + (i * 37) % 900 + 0.5, city, i % 4 != 0])
    return path


class Api:
    """One new connection per request, so the kernel spreads them over both processes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["X-API-Key"] = key
        headers["Connection"] = "close"
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


def _check(prom: Prometheus, expr: str, expected: float, timeout: float = 30.0) -> None:
    value = prom.wait_equal(expr, expected, timeout)
    assert value is not None and math.isclose(value, expected, abs_tol=1e-9), (
        f"{expr} = {value}, expected {expected}"
    )


def test_every_contract_metric_reaches_prometheus(
    tmp_path, redis_db, serve, worker, prometheus_factory
):
    certificate = write_certificate(tmp_path / "tls.pem", days=45)
    env = service_env(
        tmp_path / "home",
        SYNTHDATA_QUEUE="redis",
        SYNTHDATA_REDIS_URL=redis_db,
        SYNTHDATA_QUEUE_NAME="e2e-prometheus",
        SYNTHDATA_QUEUE_POLL_MAX_SECONDS="0.2",
        SYNTHDATA_FAULT_INJECTION="true",
        SYNTHDATA_CERT_FILES=str(certificate),
        SYNTHDATA_CURRENCIES="USD,EUR",
    )
    # The CLI migrates the database before the two API processes start.
    acme = cli(
        env,
        "admin",
        "create-customer",
        "Acme",
        "--plan",
        "standard",
        "--price-per-1k-rows",
        str(PRICE),
        "--currency",
        CURRENCY,
    )
    admin_key = cli(env, "admin", "create-key", "--role", "admin", "--name", "ops")

    api_proc = serve(env, 2, "--job-threads", "0")
    worker_proc = worker(env)
    prom = prometheus_factory(
        {
            API: [api_proc.url.removeprefix("http://")],
            WORKER: [worker_proc.url.removeprefix("http://")],
        }
    )
    # Scrapes run before the traffic, so rate() has samples on both sides of it.
    for job in (API, WORKER):
        _check(prom, f'up{{job="{job}"}}', 1)
    api = Api(api_proc.url)

    # Privileged operations through the admin API (the CLI's, above, are in the audit
    # log too, which is where the API reads privileged_operations_total from).
    created = api("POST", f"/api/v1/customers/{acme}/keys", admin_key, json={"name": "app"})
    assert created.status_code == 201, created.text
    acme_key = created.json()["secret"]
    second = api("POST", "/api/v1/customers", admin_key, json={"name": "Second", "currency": "EUR"})
    assert second.status_code == 201, second.text
    other = api("POST", f"/api/v1/customers/{second.json()['id']}/keys", admin_key, json={})
    assert other.status_code == 201, other.text
    revoked = api("POST", f"/api/v1/keys/{other.json()['id']}/revoke", admin_key)
    assert revoked.status_code == 200, revoked.text

    # Reads, 404s, injected faults and every kind of authentication failure.
    for _ in range(READS):
        assert api("GET", "/api/v1/me", acme_key).status_code == 200
    for _ in range(NOT_FOUND):
        assert api("GET", "/api/v1/jobs/job_missing", acme_key).status_code == 404
    for _ in range(UNMATCHED):
        assert api("GET", "/no/such/page").status_code == 404
    for _ in range(FAULTS_500):
        assert api("GET", "/api/v1/me", acme_key, headers={FAULT: "500"}).status_code == 500
    for _ in range(FAULTS_503):
        assert api("GET", "/healthz", headers={FAULT: "503"}).status_code == 503
    for _ in range(MISSING):
        assert api("GET", "/api/v1/me").status_code == 401
    for _ in range(UNKNOWN):
        assert api("GET", "/api/v1/me", "sk_not_a_key_of_ours_0000000000").status_code == 401
    for _ in range(REVOKED):
        assert api("GET", "/api/v1/me", other.json()["secret"]).status_code == 401
    for _ in range(FORBIDDEN):
        assert api("GET", "/api/v1/customers", acme_key).status_code == 403

    # An upload, one generation job to success, its download.
    source = _table(tmp_path / "people.csv")
    with synthdata.Client(api_proc.url, acme_key) as client:
        dataset = client.upload(source)
        job = client.generate(dataset_id=dataset["id"], rows=ROWS, seed=3, poll_interval=0.2)
        assert job["state"] == "succeeded"
        result = client.download(job["id"], tmp_path / "synthetic.csv")
    uploaded, downloaded = source.stat().st_size, result.stat().st_size

    # -- HTTP: exact counts across both API processes, route templates as labels ----------
    _check(prom, 'sum(http_requests_total{status="500"})', FAULTS_500)
    _check(prom, 'sum(http_requests_total{endpoint="/api/v1/me",status="500"})', FAULTS_500)
    _check(prom, 'sum(http_requests_total{endpoint="/healthz",status="503"})', FAULTS_503)
    _check(
        prom, 'sum(http_requests_total{endpoint="/api/v1/jobs/{job_id}",status="404"})', NOT_FOUND
    )
    _check(prom, 'sum(http_requests_total{endpoint="unmatched",status="404"})', UNMATCHED)
    _check(prom, 'sum(http_requests_total{status="401"})', MISSING + UNKNOWN + REVOKED)
    _check(prom, 'sum(http_requests_total{status="403"})', FORBIDDEN)
    _check(prom, 'sum(http_requests_total{endpoint="/api/v1/me",status="200"})', READS)
    _check(prom, 'sum(http_requests_total{endpoint="/api/v1/datasets",method="POST"})', 1)
    _check(prom, 'sum(http_requests_total{endpoint="/api/v1/jobs/{job_id}/result"})', 1)
    endpoints = {s["metric"]["endpoint"] for s in prom.query("http_requests_total")}
    assert {"/api/v1/me", "/api/v1/jobs/{job_id}", "/healthz", "unmatched"} <= endpoints
    for endpoint in endpoints:  # templates only: never an id or a raw unknown path
        assert endpoint == "unmatched" or endpoint.startswith("/"), endpoint
        assert job["id"] not in endpoint and "job_missing" not in endpoint, endpoint
        assert "no/such" not in endpoint, endpoint

    p95 = prom.wait_for(
        "histogram_quantile(0.95, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{endpoint="/api/v1/me"}[1m])))',
        lambda v: v is not None and math.isfinite(v) and v > 0,
    )
    assert p95 is not None and math.isfinite(p95) and 0 < p95 <= 10, p95
    _check(
        prom,
        'sum(http_request_duration_seconds_count{endpoint="/api/v1/me",method="GET"})',
        READS + FAULTS_500 + MISSING + UNKNOWN + REVOKED,
    )

    # -- authentication and admin --------------------------------------------------------
    for reason, count in {
        "missing": MISSING,
        "unknown": UNKNOWN,
        "revoked": REVOKED,
        "forbidden": FORBIDDEN,
        "locked_out": 0,
    }.items():
        _check(prom, f'sum(auth_failures_total{{reason="{reason}"}})', count)
    for operation, count in {
        "api_key.create": 3,  # the CLI's admin key, and two through the API
        "customer.create": 2,  # Acme from the CLI, Second through the API
        "api_key.revoke": 1,
    }.items():
        _check(
            prom, f'max(privileged_operations_total{{job="{API}",operation="{operation}"}})', count
        )

    # -- generation: counted by the worker ----------------------------------------------------
    worker_gen = f'{{job="{WORKER}",synthesizer={ENGINE}}}'
    _check(prom, f"synthdata_generation_total{worker_gen}", 1)
    _check(prom, f"synthdata_generation_success_total{worker_gen}", 1)
    _check(prom, f"sum(synthdata_generation_total{{synthesizer={ENGINE}}})", 1)
    _check(
        prom,
        f'sum(synthdata_generation_duration_seconds_count{{synthesizer={ENGINE},size_class="small"}})',
        1,
    )
    _check(prom, 'sum(synthdata_generation_duration_seconds_count{size_class!="small"})', 0)
    training = prom.wait_for(
        f"sum(synthdata_model_training_duration_seconds_count{{synthesizer={ENGINE}}})",
        lambda v: v is not None and v >= 1,
    )
    assert training is not None and training >= 1, training
    _check(prom, "max(synthdata_generation_queue_length)", 0)
    _check(prom, "max(synthdata_generation_jobs_queued)", 0)  # the job was started
    _check(
        prom,
        f'sum(synthdata_revenue_generated_total{{currency="{CURRENCY}"}})',
        ROWS / 1000 * PRICE,
    )
    _check(prom, 'sum(synthdata_revenue_generated_total{currency="EUR"})', 0)

    # -- usage, traffic, certificates ----------------------------------------------------
    _check(prom, 'sum(synthdata_data_processed_bytes_total{direction="in"})', uploaded)
    _check(prom, 'sum(synthdata_data_processed_bytes_total{direction="out"})', downloaded)
    customer_requests = prom.wait_for(
        f'sum(synthdata_api_requests_total{{customer_id="{acme}"}})',
        lambda v: v is not None and v > READS + NOT_FOUND + FORBIDDEN,
    )
    assert customer_requests is not None and customer_requests > READS + NOT_FOUND + FORBIDDEN
    # The admin key and Acme's key were used (the revoked and unknown ones never got in).
    _check(prom, f'synthdata_active_users{{job="{API}"}}', 2)
    days = prom.value(f'cert_expiry_seconds{{job="{API}",certificate="{certificate}"}} / 86400')
    assert days is not None and 44 < days <= 45, days
    # The busiest sources of the last minute (bounded: the top 10 of each process).
    sources = prom.query(f'synthdata_source_requests_per_second{{job="{API}"}}')
    assert sources and len(sources) <= 10, sources

    for name in CONTRACT:
        count = prom.value(f'count({{__name__="{name}"}})')
        assert count is not None and count >= 1, f"{name} is not in Prometheus"
    # Both expositions are clean (the worker's too, which Prometheus also scrapes).
    for url in (api_proc.url, worker_proc.url):
        assert promtool_check_metrics(f"{url}/metrics") == ""

    _dashboard_queries_return_data(prom, api_proc.url)


# Metric families the service and its workers expose themselves; panels over exporters'
# metrics (node_, kube_, pg_, redis_, container_) have no exporter here and are skipped.
SERVICE_METRIC = re.compile(
    r"\b(http_request\w*|synthdata_\w+|auth_failures_total|privileged_operations_total"
    r"|cert_expiry_seconds)\b"
)
EXPORTER_METRIC = re.compile(r"\b(node|kube|kubelet|pg|redis|container|up)_?\w*\s*[{(\[]|\bup\b")


def _dashboard_queries_return_data(prom: Prometheus, api_url: str) -> None:
    """Every committed panel query over the service's own metrics returns series."""
    # A heavy hitter (>= 1 request/s over the last minute) for the top-sources panel.
    with httpx.Client(base_url=api_url, timeout=10.0) as http:
        for _ in range(150):  # one keep-alive connection: one process
            http.get("/healthz")
    prom.wait_for("count(synthdata_source_requests_per_second)", lambda v: v is not None and v >= 1)
    checked = 0
    empty: list[str] = []
    for board, panels in dashboard_expressions().items():
        for title, expr in panels:
            if not SERVICE_METRIC.search(expr) or EXPORTER_METRIC.search(expr):
                continue
            query = substitute_variables(expr, {"$__rate_interval": "5m", "$__range": "1h"})
            if not prom.query(query):
                empty.append(f"{board} / {title}: {query}")
            checked += 1
    assert checked >= 20, f"only {checked} service panels found"
    assert empty == [], "panels without data:\n" + "\n".join(empty)
