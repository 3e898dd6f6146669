"""`check-error-logs` explains errors: a real `synthdata serve` writing JSON lines to its log
file, requests that fail (an injected exception before authentication, and a real bug
after it: the jobs table gone under the running service), then the command against the
file, against a local stand-in for Elasticsearch that evaluates the query it gets, and
with Elasticsearch unreachable or failing (it falls back to the file and says so).
Also `--slow`, the runbook's slow-request query, over uploads that trickle their body.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.service_processes import create_customer_key

from tests.fixtures.logs import elasticsearch, service_documents
from tests.fixtures.ops import (  # noqa: F401  (the fixtures)
    Receiver,
    Run,
    assert_clean_exit,
    base_test_env,
    closed_url,
    fixed,
    ops,
    receiver,
    wait_until,
)
from tests.fixtures.processes import Proc, processes, serve  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow

ROUTE = "GET /api/v1/jobs"


def _records(log_file: Path) -> list[dict[str, Any]]:
    text = log_file.read_text() if log_file.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _errors(log_file: Path) -> list[dict[str, Any]]:
    return [record for record in _records(log_file) if record.get("level") == "ERROR"]


def _exits(run: Run, code: int) -> None:
    """The exit code wanted and no traceback of the command's own (the JSON report holds
    the service's tracebacks on purpose, so `assert_clean_exit` does not fit here)."""
    assert run.code == code, f"exit {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.stderr, run.stderr


def _groups(run: Run) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in run.findings() if "count" in f["data"]}


def _environment(tmp_path: Path) -> dict[str, str]:
    return base_test_env(
        tmp_path,
        SYNTHDATA_LOG_FILE=str(tmp_path / "service.log"),
        SYNTHDATA_LOG_LEVEL="INFO",
        SYNTHDATA_FAULT_INJECTION="true",
    )


def _fail_requests(api: Proc, env: dict[str, str]) -> tuple[list[str], str, str]:
    """Two injected exceptions and one real bug; their request ids, the bug's, its customer."""
    customer, key = create_customer_key(env, "Acme")
    database = env["SYNTHDATA_DATABASE_URL"].removeprefix("sqlite:///")
    with httpx.Client(base_url=api.url, timeout=60) as client:
        injected = [
            client.get("/api/v1/jobs", headers={"X-Synthdata-Fault": "exception"}) for _ in range(2)
        ]
        # A schema that drifted under the running service: the query fails after the
        # key was checked, so the request has a customer.
        with sqlite3.connect(database) as connection:
            connection.execute("ALTER TABLE jobs RENAME TO jobs_moved")
        try:
            broken = client.get("/api/v1/jobs", headers={"X-API-Key": key})
        finally:
            with sqlite3.connect(database) as connection:
                connection.execute("ALTER TABLE jobs_moved RENAME TO jobs")
    assert [r.status_code for r in [*injected, broken]] == [500, 500, 500]
    ids = [r.headers["x-request-id"] for r in injected]
    return ids, broken.headers["x-request-id"], customer


def _assert_explained(run: Run, injected: list[str], bug: str, customer: str) -> None:
    """Two groups, named by the exception, each with its request ids, customer, traceback."""
    groups = _groups(run)
    assert len(groups) == 2, list(groups)
    (faults,) = [g for n, g in groups.items() if n.startswith("InjectedException: exception")]
    (drift,) = [g for n, g in groups.items() if n.startswith("OperationalError: ")]
    for group in (faults, drift):
        assert group["name"].endswith(f" @ {ROUTE}")
        assert group["status"] == "fail"
        assert 'File "' in group["data"]["stack_trace"]  # the traceback's end, where it raised
    assert faults["data"]["count"] == 2
    assert faults["data"]["request_id"] in injected
    assert faults["data"]["customers"] == []  # answered before the key was read
    assert drift["data"]["count"] == 1
    assert drift["data"]["request_id"] == bug
    assert drift["data"]["customers"] == [customer]
    assert "no such table: jobs" in drift["data"]["error"]
    assert f"customer {customer}" in drift["detail"] and bug in drift["detail"]


@pytest.mark.timeout(300)
def test_each_failed_request_is_one_explained_error_line(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    env = _environment(tmp_path)
    log_file = Path(env["SYNTHDATA_LOG_FILE"])
    api = serve(env, 1)
    injected, bug, customer = _fail_requests(api, env)
    wait_until(lambda: len(_errors(log_file)) >= 3, what="the error lines")
    time.sleep(1)  # any further line a failure would write

    # One ERROR line per failed request, carrying its request id, route, customer and
    # the exception with its traceback; no other line repeats the traceback.
    errors = _errors(log_file)
    assert sorted(e["request_id"] for e in errors) == sorted([*injected, bug])
    for line in errors:
        assert line["http.route"] == "/api/v1/jobs"
        assert line["http.response.status_code"] == 500
        assert line["error.stack_trace"].startswith("Traceback (most recent call last)")
    (drifted,) = [e for e in errors if e["request_id"] == bug]
    assert drifted["customer_id"] == customer
    assert drifted["error.type"] == "OperationalError"
    assert "no such table: jobs" in drifted["error.message"]
    assert {e["error.type"] for e in errors if e["request_id"] in injected} == {"InjectedException"}
    assert sum("Traceback" in json.dumps(r) for r in _records(log_file)) == 3

    from_file = ops(env, "check-error-logs", "--last", "1h", "--level", "ERROR", "--json")
    _exits(from_file, 1)
    _assert_explained(from_file, injected, bug, customer)
    assert "log source" not in from_file.statuses()

    # The same lines as Fluent Bit indexes them, searched by the saved query.
    index = elasticsearch(receiver, service_documents(log_file))
    searched = ops({**env, "SYNTHDATA_ELASTICSEARCH_URL": index.url}, "check-error-logs", "--json")
    _exits(searched, 1)
    _assert_explained(searched, injected, bug, customer)
    (request,) = index.got("POST", "/synthdata-logs/_search")
    must = request.json()["query"]["bool"]["must"]
    assert {"terms": {"app.level": ["ERROR", "CRITICAL"]}} in must
    assert f"Elasticsearch {index.url}" in searched.finding("logs")["detail"]

    # Elasticsearch down, or refusing the search: the log file instead, said so.
    refusing = receiver({("POST", "/synthdata-logs/_search"): fixed(503, {"error": "busy"})})
    for broken_index, status in ((closed_url(), "unreachable"), (refusing.url, "fail")):
        fallback = ops(
            {**env, "SYNTHDATA_ELASTICSEARCH_URL": broken_index}, "check-error-logs", "--json"
        )
        _exits(fallback, 1)
        assert fallback.finding("elasticsearch")["status"] == status
        source = fallback.finding("log source")
        assert source["status"] == "info"
        assert f"read the log file {log_file} instead" in source["detail"]
        assert f"(log file {log_file})" in fallback.finding("logs")["detail"]
        _assert_explained(fallback, injected, bug, customer)
    api.stop()


def _trickle(base: str, seconds: float) -> str:
    """A job request whose body arrives over `seconds` (a slow client): its request id."""

    def body() -> Iterator[bytes]:
        yield b'{"dataset_id": '
        time.sleep(seconds)
        yield b'"ds_slow", "rows": 10}'

    answer = httpx.post(
        f"{base}/api/v1/jobs",
        content=body(),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 401
    return answer.headers["x-request-id"]


@pytest.mark.timeout(300)
def test_slow_requests(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    env = _environment(tmp_path)
    log_file = Path(env["SYNTHDATA_LOG_FILE"])
    api = serve(env, 1)
    slow_ids: list[str] = []
    uploads = [
        threading.Thread(target=lambda s=s: slow_ids.append(_trickle(api.url, s)))
        for s in (1.5, 2.5)
    ]
    for upload in uploads:
        upload.start()
    for upload in uploads:
        upload.join()
    assert httpx.get(f"{api.url}/docs", timeout=60).status_code == 307
    wait_until(
        lambda: {r.get("request_id") for r in _records(log_file)} >= set(slow_ids),
        what="the slow requests' access lines",
    )
    # What the file says is slow (the service's own timing), to compare the command with.
    slow = [r for r in _records(log_file) if r.get("response_time", 0) >= 1000]
    assert {r["request_id"] for r in slow} >= set(slow_ids)
    endpoints = {f"{r['http.request.method']} {r['http.route']}" for r in slow}

    run = ops(env, "check-error-logs", "--slow", "--json")
    assert_clean_exit(run, 1)
    summary = run.finding("slow requests")
    assert summary["status"] == "warn"
    assert summary["detail"].startswith(f"{len(slow)} request(s) at or above 1000 ms")
    jobs = run.finding("slow POST /api/v1/jobs")["data"]
    assert jobs["count"] == sum(r["http.route"] == "/api/v1/jobs" for r in slow)
    assert jobs["max_ms"] == max(r["response_time"] for r in slow if r["request_id"] in slow_ids)
    assert jobs["request_id"] in slow_ids and jobs["statuses"] == [401]
    assert {f["data"]["endpoint"] for f in run.findings("slow ") if "endpoint" in f["data"]} == (
        endpoints
    )

    # A threshold above every request: nothing, exit 0.
    above = max(r["response_time"] for r in slow) + 1
    none = ops(env, "check-error-logs", "--slow", "--min-ms", f"{above:.0f}", "--json")
    assert_clean_exit(none, 0)
    assert none.finding("slow requests")["status"] == "ok"

    # The same lines in the Elasticsearch stand-in: the saved query, threshold and window set.
    index = elasticsearch(receiver, service_documents(log_file))
    searched = ops(
        {**env, "SYNTHDATA_ELASTICSEARCH_URL": index.url}, "check-error-logs", "--slow", "--json"
    )
    assert_clean_exit(searched, 1)
    assert searched.finding("slow POST /api/v1/jobs")["data"] == jobs
    (request,) = index.got("POST", "/synthdata-logs/_search")
    must = request.json()["query"]["bool"]["must"]
    assert {"range": {"app.response_time": {"gte": 1000}}} in must
    assert {"range": {"@timestamp": {"gte": "now-1h"}}} in must
    assert request.json()["sort"] == [{"app.response_time": {"order": "desc"}}]
    api.stop()
