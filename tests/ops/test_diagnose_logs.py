"""`check-error-logs` (runbook: `./scripts/check-error-logs.sh --last 1h --level ERROR`) over
the log file of a real service that served errors, and over the same lines as Elasticsearch
would hold them; `check-log-pipeline` (runbook: `./scripts/check-log-pipeline.sh`) against
stand-ins for Fluent Bit and Elasticsearch."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.logs import elasticsearch, fresh_document, service_documents, to_document
from tests.fixtures.ops import (  # noqa: F401  (the fixtures)
    Receiver,
    Run,
    assert_clean_exit,
    base_test_env,
    closed_url,
    fluent_bit,
    ops,
    receiver,
    script,
    wait_until,
)
from tests.fixtures.processes import Proc, processes, serve  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow


def _groups(run: Run) -> dict[str, dict[str, Any]]:
    """The grouped findings by name, with the fields a comparison needs."""
    keys = ("status", "count", "statuses", "level")
    return {
        f["name"]: {k: f["data"].get(k, f.get(k)) for k in keys}
        for f in run.findings()
        if "count" in f["data"]
    }


def _error_lines(log_file: Path) -> int:
    lines = log_file.read_text().splitlines() if log_file.exists() else []
    return sum(json.loads(line).get("level") == "ERROR" for line in lines if line.strip())


@pytest.mark.timeout(300)
def test_error_logs_of_a_real_service(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    log_file = tmp_path / "service.log"
    env = base_test_env(
        tmp_path,
        SYNTHDATA_LOG_FILE=str(log_file),
        SYNTHDATA_LOG_LEVEL="INFO",
        SYNTHDATA_FAULT_INJECTION="true",
    )
    api = serve(env, 1)

    # Started and probed, nothing failed yet: the runbook's line exits 0.
    clean = script("check-error-logs.sh", env, "--last", "1h", "--level", "ERROR")
    assert_clean_exit(clean, 0)
    assert f"no line at ERROR or above in the last 1h (log file {log_file})" in clean.stdout

    with httpx.Client(base_url=api.url, timeout=10) as client:
        for _ in range(3):
            assert client.get("/api/v1/jobs", headers={"X-Synthdata-Fault": "500"}).is_error
        assert client.get("/api/v1/datasets", headers={"X-Synthdata-Fault": "503"}).is_error
        assert client.get("/api/v1/jobs").status_code == 401  # a WARNING line
    wait_until(lambda: _error_lines(log_file) == 4, what="four ERROR lines in the log file")

    run = ops(env, "check-error-logs", "--last", "1h", "--level", "ERROR", "--json")
    assert_clean_exit(run, 1)
    from_file = _groups(run)
    assert from_file == {
        "request @ GET /api/v1/jobs": {
            "status": "fail",
            "count": 3,
            "statuses": [500],
            "level": "ERROR",
        },
        "request @ GET /api/v1/datasets": {
            "status": "fail",
            "count": 1,
            "statuses": [503],
            "level": "ERROR",
        },
    }
    jobs = run.finding("request @ GET /api/v1/jobs")["data"]
    assert jobs["first_seen"] <= jobs["last_seen"]
    assert "4 line(s) at ERROR or above in the last 1h" in run.finding("logs")["detail"]

    # WARNING and above adds the 401 to its endpoint's group; its request id is the sample
    # (the newest line of the group that has one). --limit keeps the largest group.
    warned = ops(env, "check-error-logs", "--last", "30m", "--level", "WARNING", "--json")
    assert_clean_exit(warned, 1)
    both = warned.finding("request @ GET /api/v1/jobs")
    assert (both["status"], both["data"]["count"]) == ("fail", 4)
    assert both["data"]["statuses"] == [401, 500]
    assert both["data"]["request_id"] in log_file.read_text()
    top = ops(env, "check-error-logs", "--limit", "1", "--json")
    assert list(_groups(top)) == ["request @ GET /api/v1/jobs"]
    assert top.finding("more groups")["detail"].startswith("1 more group(s)")

    # The same lines as Fluent Bit would index them, plus an error from two hours ago.
    documents = service_documents(log_file)
    old_error = json.dumps({"message": "old", "level": "ERROR", "@timestamp": "2000-01-01T00:00Z"})
    documents.append(to_document(old_error, datetime.now(UTC) - timedelta(hours=2)))
    index = elasticsearch(receiver, documents)
    env["SYNTHDATA_ELASTICSEARCH_URL"] = index.url
    searched = ops(env, "check-error-logs", "--last", "1h", "--level", "ERROR", "--json")
    assert_clean_exit(searched, 1)
    assert _groups(searched) == from_file
    (request,) = index.got("POST", "/synthdata-logs/_search")
    must = request.json()["query"]["bool"]["must"]
    assert {"range": {"@timestamp": {"gte": "now-1h"}}} in must
    assert {"terms": {"app.level": ["ERROR", "CRITICAL"]}} in must
    assert request.json()["sort"] == [{"@timestamp": {"order": "desc"}}]

    # Elasticsearch configured but down: the log file instead (tests/ops/test_error_logs.py).
    env["SYNTHDATA_ELASTICSEARCH_URL"] = closed_url()
    down = ops(env, "check-error-logs", "--last", "1h", "--level", "ERROR", "--json")
    assert_clean_exit(down, 1)
    assert down.finding("elasticsearch")["status"] == "unreachable"
    assert _groups(down) == from_file
    api.stop()


@pytest.mark.timeout(120)
def test_error_logs_without_a_source(tmp_path: Path) -> None:
    env = base_test_env(tmp_path)
    nothing = ops(env, "check-error-logs", "--json")
    assert_clean_exit(nothing, 0)
    assert nothing.finding("logs")["status"] == "info"
    assert "SYNTHDATA_ELASTICSEARCH_URL or SYNTHDATA_LOG_FILE" in nothing.finding("logs")["detail"]
    missing = ops({**env, "SYNTHDATA_LOG_FILE": str(tmp_path / "none.log")}, "check-error-logs")
    assert_clean_exit(missing, 3)
    assert "none.log" in missing.stdout


# -- the log pipeline --------------------------------------------------------------------------
def _pipeline_env(tmp_path: Path, shipper: str, index: str, written_ago: float) -> dict[str, str]:
    log_file = tmp_path / "service.log"
    log_file.write_text(json.dumps({"message": "request", "level": "INFO"}) + "\n")
    when = time.time() - written_ago
    os.utime(log_file, (when, when))
    return base_test_env(
        tmp_path,
        SYNTHDATA_FLUENT_BIT_URL=shipper,
        SYNTHDATA_ELASTICSEARCH_URL=index,
        SYNTHDATA_LOG_FILE=str(log_file),
    )


@pytest.mark.timeout(120)
def test_log_pipeline_healthy(tmp_path: Path, receiver: Callable[..., Receiver]) -> None:  # noqa: F811
    shipper = fluent_bit(receiver)
    index = elasticsearch(receiver, [fresh_document(age_seconds=30)])
    env = _pipeline_env(tmp_path, shipper.url, index.url, written_ago=5)

    table = script("check-log-pipeline.sh", env)
    assert_clean_exit(table, 0)
    for row in ("fluent-bit", "fluent-bit output es.0", "elasticsearch", "log file"):
        assert f"│ {row} " in table.stdout, table.stdout
    assert "1500 records sent, no errors" in table.stdout
    assert "cluster health green" in table.stdout
    assert re.search(r"newest document [3-9]\ds old", table.stdout)  # 30 s, and the run's
    (freshness,) = index.got("POST", "/synthdata-logs/_search")
    assert freshness.json()["size"] == 1
    assert freshness.json()["sort"] == [{"@timestamp": {"order": "desc"}}]


@pytest.mark.timeout(120)
def test_log_pipeline_problems(tmp_path: Path, receiver: Callable[..., Receiver]) -> None:  # noqa: F811
    shipper = fluent_bit(receiver, errors=1, retries_failed=2)
    index = elasticsearch(receiver, [fresh_document(age_seconds=3600)], color="yellow")
    env = _pipeline_env(tmp_path, shipper.url, index.url, written_ago=3600)

    run = ops(env, "check-log-pipeline", "--json")
    assert_clean_exit(run, 1)
    output = run.finding("fluent-bit output es.0")
    assert output["status"] == "warn"
    assert output["data"] == {"errors": 1, "retries_failed": 2, "proc_records": 1499}
    assert run.finding("elasticsearch")["status"] == "warn"
    stale = run.finding("elasticsearch index synthdata-logs")
    assert stale["status"] == "warn" and "1h00m old" in stale["detail"]
    assert run.finding("log file")["status"] == "warn"

    red = elasticsearch(receiver, [fresh_document()], color="red")
    unhealthy = fluent_bit(receiver, healthy=False)
    broken = ops(
        {**env, "SYNTHDATA_ELASTICSEARCH_URL": red.url, "SYNTHDATA_FLUENT_BIT_URL": unhealthy.url},
        "check-log-pipeline",
        "--json",
    )
    assert_clean_exit(broken, 1)
    assert broken.finding("elasticsearch")["status"] == "fail"
    assert broken.finding("fluent-bit")["status"] == "fail"


@pytest.mark.timeout(120)
def test_log_pipeline_unreachable(tmp_path: Path, receiver: Callable[..., Receiver]) -> None:  # noqa: F811
    gone = closed_url()
    index = elasticsearch(receiver, [fresh_document()])
    env = _pipeline_env(tmp_path, gone, index.url, written_ago=5)
    run = ops(env, "check-log-pipeline", "--json")
    assert_clean_exit(run, 3)
    assert run.finding("fluent-bit")["status"] == "unreachable"
    assert gone in run.finding("fluent-bit")["detail"]
    assert run.finding("elasticsearch")["status"] == "ok"
