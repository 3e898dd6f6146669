"""The metric contract, heavy hitters, secret-free JSON logs and the HTTP middleware."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
from functools import partial

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from synthdata.observability import metrics
from synthdata.observability.heavy_hitters import OTHER, HeavyHitters
from synthdata.observability.http import RequestRecorder, install_observability, metrics_payload
from synthdata.observability.logging import (
    REDACTED,
    configure_logging,
    get_logger,
)
from synthdata.observability.request_tally import fold_all
from synthdata.service.core.middleware import install_middleware
from synthdata.service.core.settings import Settings

CONTRACT = {
    "http_requests_total": "counter",
    "http_request_duration_seconds": "histogram",
    "synthdata_generation_total": "counter",
    "synthdata_generation_success_total": "counter",
    "synthdata_generation_duration_seconds": "histogram",
    "synthdata_generation_queue_length": "gauge",
    "synthdata_generation_jobs_queued": "gauge",
    "synthdata_model_training_duration_seconds": "histogram",
    "synthdata_active_users": "gauge",
    "synthdata_data_processed_bytes_total": "counter",
    "synthdata_api_requests_total": "counter",
    "synthdata_revenue_generated_total": "counter",
    "auth_failures_total": "counter",
    "privileged_operations_total": "counter",
    "cert_expiry_seconds": "gauge",
    "synthdata_source_requests_per_second": "gauge",
}


def _types(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            found[name] = kind
    return found


def _app() -> FastAPI:
    app = FastAPI()
    api = APIRouter(prefix="/api/v1")

    @api.get("/jobs/{job_id}")
    def job(job_id: str) -> dict[str, str]:
        return {"id": job_id}

    app.include_router(api)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("injected")

    ready = {"ok": True}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        return JSONResponse({"ready": ready["ok"]}, status_code=200 if ready["ok"] else 503)

    app.state.ready = ready

    # The shipped quiet routes (SYNTHDATA_ACCESS_LOG_QUIET_ROUTES' default).
    quiet = Settings().access_log_quiet_route_set
    install_middleware(app, [partial(install_observability, quiet_routes=quiet)])
    return app


def test_every_contract_metric_is_exposed_with_its_type() -> None:
    metrics.preinitialise(["copula"], ["USD"], ["create_customer"])
    metrics.scrape_time.queue_length = lambda: 4
    metrics.scrape_time.jobs_queued = lambda: 3
    metrics.scrape_time.active_users = lambda: 2
    metrics.scrape_time.cert_expiry_seconds = lambda: {"api.pem": 42.5 * 86400}
    metrics.scrape_time.privileged_operations = lambda: {"api_key.revoke": 2}
    try:
        text = metrics_payload().decode()
    finally:
        metrics.scrape_time.queue_length = None
        metrics.scrape_time.jobs_queued = None
        metrics.scrape_time.active_users = None
        metrics.scrape_time.cert_expiry_seconds = None
        metrics.scrape_time.privileged_operations = None
    exposed = _types(text)
    for name, kind in CONTRACT.items():
        assert exposed.get(name) == kind, f"{name} missing or not a {kind}"
    assert "synthdata_generation_queue_length 4.0" in text
    assert "synthdata_generation_jobs_queued 3.0" in text
    assert 'cert_expiry_seconds{certificate="api.pem"} 3.672e+06' in text
    assert 'auth_failures_total{reason="locked_out"} ' in text  # present before any event
    assert 'privileged_operations_total{operation="create_customer"} 0.0' in text
    assert 'privileged_operations_total{operation="api_key.revoke"} 2.0' in text
    assert 'synthdata_generation_duration_seconds_bucket{le="30.0",size_class="small"' in text


def test_exposition_passes_promtool_check_metrics() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by the test command (Debian package prometheus)"
    done = subprocess.run(
        [promtool, "check", "metrics"], input=metrics_payload(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == b"" and done.stderr.strip() == b""


def test_broken_scrape_source_is_skipped_not_fatal() -> None:
    def broken() -> float:
        raise ConnectionError("queue down")

    metrics.scrape_time.queue_length = broken
    try:
        text = metrics_payload().decode()
    finally:
        metrics.scrape_time.queue_length = None
    assert "synthdata_generation_queue_length " not in text
    assert "http_requests_total" in text


def test_size_classes_follow_the_runbook() -> None:
    assert metrics.size_class(999_999) == "small"
    assert metrics.size_class(1_000_000) == "medium"
    assert metrics.size_class(100_000_000) == "medium"
    assert metrics.size_class(100_000_001) == "large"


def test_heavy_hitters_label_only_big_talkers_and_stay_bounded() -> None:
    talkers = HeavyHitters(slots=8, top=2, max_labels=3, min_count=5)
    labels = [talkers.observe("10.0.0.1") for _ in range(10)]
    assert labels[:4] == [OTHER] * 4 and labels[-1] == "10.0.0.1"
    seen = {talkers.observe(f"192.0.2.{i % 200}") for i in range(5000)}
    for i in range(50):
        for _ in range(20):
            seen.add(talkers.observe(f"198.51.100.{i}"))
    assert len(seen - {OTHER}) <= 3


def test_middleware_uses_route_templates_and_logs_response_time_in_ms() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    client = TestClient(_app(), raise_server_exceptions=False)
    fold_all()  # requests are counted in batches
    before = metrics.http_requests_total.labels("GET", "/api/v1/jobs/{job_id}", "200")._value.get()
    client.get("/api/v1/jobs/abc123")
    client.get("/no/such/path/42")
    assert client.get("/boom").status_code == 500
    fold_all()
    after = metrics.http_requests_total.labels("GET", "/api/v1/jobs/{job_id}", "200")._value.get()
    assert after == before + 1
    text = metrics_payload().decode()
    assert 'endpoint="unmatched",method="GET",status="404"' in text
    assert 'endpoint="/boom",method="GET",status="500"' in text
    assert "abc123" not in text
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("message") == "request"]
    assert [a["http.response.status_code"] for a in access] == [200, 404, 500]
    assert access[2]["level"] == "ERROR" and access[1]["level"] == "WARNING"
    for line in access:
        assert isinstance(line["response_time"], float) and line["response_time"] >= 0
        assert line["@timestamp"].endswith("Z") and line["service.name"] == "synthdata"


def test_probes_are_counted_but_logged_only_when_they_fail() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    app = _app()
    client = TestClient(app, raise_server_exceptions=False)
    ok = metrics.http_requests_total.labels("GET", "/readyz", "200")
    fold_all()
    before = ok._value.get()
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
    app.state.ready["ok"] = False
    assert client.get("/readyz").status_code == 503
    fold_all()
    assert ok._value.get() == before + 3  # quiet, but counted
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("message") == "request"]
    assert [(a["url.path"], a["http.response.status_code"]) for a in access] == [("/readyz", 503)]
    assert access[0]["level"] == "ERROR" and access[0]["request_id"]


def test_server_records_the_requests_of_one_event_loop_pass_together() -> None:
    writes: list[str] = []

    class Recording(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return super().write(text)

    stream = Recording()
    configure_logging(stream=stream, batch_access_lines=True)
    recorder = RequestRecorder()
    requests = metrics.http_requests_total.labels("GET", "unmatched", "200")

    def scope(request_id: str) -> dict[str, object]:
        return {"type": "http", "method": "GET", "path": "/x", "state": {"request_id": request_id}}

    async def two_passes() -> tuple[str, float, str, float, float]:
        before = requests._value.get()
        for index in range(3):
            recorder(scope(f"r{index}"), 200, 0.001)
        fold_all()
        # Nothing yet: the pass's requests are recorded after their responses.
        during = (stream.getvalue(), requests._value.get() - before)
        await asyncio.sleep(0)
        fold_all()
        after = (stream.getvalue(), requests._value.get() - before)
        # A scrape in the same pass as a response still counts that response.
        recorder(scope("r3"), 200, 0.001)
        scraped = f'endpoint="unmatched",method="GET",status="200"}} {before + 4}'
        return (*during, *after, scraped in metrics_payload().decode())

    try:
        written_during, counted_during, text, counted, scraped = asyncio.run(two_passes())
        recorder(scope("outside-a-loop"), 404, 0.001)  # recorded at once
    finally:
        configure_logging(stream=io.StringIO())
    assert (written_during, counted_during) == ("", 0)
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["request_id"] for line in lines] == ["r0", "r1", "r2"]
    assert counted == 3 and scraped
    assert len(writes) == 3 and "r3" in writes[1] and "outside-a-loop" in writes[2]


def test_a_request_that_cannot_be_recorded_spoils_no_other() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    good = {"type": "http", "method": "GET", "path": "/x", "state": {"request_id": "good"}}
    bad = {**good, "client": 42, "state": {"request_id": "bad"}}  # not (host, port)
    RequestRecorder().record([(bad, 200, 0.001, None), (good, 200, 0.001, None)])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line.get("request_id") for line in lines if line["message"] == "request"] == ["good"]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert errors and errors[0]["message"] == "could not record a finished request"
    assert errors[0]["request_id"] == "bad" and "TypeError" in errors[0]["exception"]


def test_secrets_never_reach_a_log_line() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    secret = "sdk_0123456789abcdefGHIJ-_xyz"
    get_logger().info(
        "connect",
        api_key=secret,
        dsn="postgresql://app:hunter2@db/prod",
        note=f"header Bearer {secret}",
    )
    text = stream.getvalue()
    assert secret not in text and "hunter2" not in text
    line = json.loads(text)
    assert line["api_key"] == REDACTED and REDACTED in line["note"]
