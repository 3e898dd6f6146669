"""Request ids: echoed to the caller, kept on the job, and on every worker log line about it.

A real `synthdata serve` and a real `synthdata worker` (Redis queue, PostgreSQL),
tracing off; the worker's stdout (JSON lines) is what Fluent Bit would ship.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from synthdata.jobs.models import Job
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.datasets.models import Dataset
from tests.observability.service_stack import Stack, log_lines, service_stack

pytestmark = pytest.mark.slow


def _job_row(stack: Stack, job_id: str) -> tuple[str | None, object]:
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            job = session.get_one(Job, job_id)
            return job.request_id, job.trace_context
    finally:
        engine.dispose()


def _empty_dataset_file(stack: Stack, dataset_id: str) -> None:
    """Truncate a stored upload, so that fitting on it fails (a user-facing job error)."""
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            path = session.scalars(select(Dataset.path).where(Dataset.id == dataset_id)).one()
    finally:
        engine.dispose()
    (stack.data_dir / path).write_bytes(b"")


def test_request_ids_follow_jobs_into_the_worker_logs(tmp_path: Path) -> None:
    with service_stack(tmp_path) as stack, stack.client() as client:
        dataset = stack.upload(client)
        response = client.post(
            "/api/v1/jobs",
            json={"dataset_id": dataset["id"], "rows": 50},
            headers={"X-Request-ID": "abc-123"},
        )
        assert response.status_code == 202, response.text
        assert response.headers["x-request-id"] == "abc-123"
        job_id = response.json()["id"]
        assert stack.wait_job(client, job_id)["state"] == "succeeded"

        # A job that fails logs through the runner's standard-library logger too.
        broken = stack.upload(client)
        _empty_dataset_file(stack, broken["id"])
        failing = client.post(
            "/api/v1/jobs",
            json={"dataset_id": broken["id"], "rows": 10},
            headers={"X-Request-ID": "req-fails-1"},
        ).json()["id"]
        assert stack.wait_job(client, failing)["state"] == "failed"

        # Without a usable X-Request-ID, the service makes one up (and says which).
        plain = client.get("/api/v1/jobs")
        odd = client.get("/api/v1/jobs", headers={"X-Request-ID": "no spaces allowed"})
        assert re.fullmatch(r"[0-9a-f]{32}", plain.headers["x-request-id"])
        assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
        assert plain.headers["x-request-id"] != odd.headers["x-request-id"]

        assert _job_row(stack, job_id) == ("abc-123", None)  # no trace context: tracing off
    worker = log_lines(stack.worker_log)
    api = log_lines(stack.api_log)

    lines = [line for line in worker if line.get("job_id") == job_id]
    phases = {(line.get("message"), line.get("phase")) for line in lines}
    assert ("job phase started", "prepare") in phases
    assert ("job phase started", "chunk") in phases
    assert any(line.get("message") == "job finished" for line in lines)
    assert {line.get("request_id") for line in lines} == {"abc-123"}
    # Lines about a job never leak into another job's context.
    assert not [
        line for line in worker if line.get("request_id") == "abc-123" and line not in lines
    ]

    failed = [line for line in worker if line.get("job_id") == failing]
    assert {line.get("request_id") for line in failed} == {"req-fails-1"}
    runner_line = [line for line in failed if line["message"].startswith(f"job {failing} failed")]
    assert runner_line, failed
    assert [line for line in failed if line.get("state") == "failed"]

    # The API's access-log line for the request carries the same id.
    posts = [line for line in api if line.get("request_id") == "abc-123"]
    assert [line for line in posts if line.get("http.request.method") == "POST"]
