"""Traces: one trace from `POST /api/v1/jobs` in the API into the job's work in a worker.

A real `synthdata serve` and a real `synthdata worker` (Redis queue, PostgreSQL)
export over OTLP/HTTP to a local receiver, which decodes what they send.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.jobs.telemetry import execute_span_id
from tests.observability.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.observability.service_stack import CHUNK_ROWS, log_lines, service_stack

ROWS = 50  # three chunks of at most CHUNK_ROWS rows


def _one(spans: list[ReceivedSpan], **where: str) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, [(s.service, s.name) for s in spans])
    return found[0]


def _is_db(span: ReceivedSpan) -> bool:
    return any(key.startswith("db.") for key in span.attributes)


def _tree(spans: list[ReceivedSpan]) -> str:
    """The spans as an indented tree, for failure messages."""
    children: dict[str, list[ReceivedSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_ns):
        children.setdefault(span.parent_span_id, []).append(span)
    known = {s.span_id for s in spans}
    lines: list[str] = []

    def walk(span: ReceivedSpan, depth: int) -> None:
        lines.append(f"{'  ' * depth}{span.service}: {span.name}")
        for child in children.get(span.span_id, []):
            walk(child, depth + 1)

    for span in sorted(spans, key=lambda s: s.start_ns):
        if span.parent_span_id not in known:
            walk(span, 0)
    return "\n".join(lines)


@pytest.mark.slow
def test_a_job_is_one_trace_from_the_api_request_into_the_worker(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with service_stack(tmp_path, env) as stack, stack.client() as client:
            dataset = stack.upload(client)
            response = client.post("/api/v1/jobs", json={"dataset_id": dataset["id"], "rows": ROWS})
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            assert stack.wait_job(client, job_id)["state"] == "succeeded"

            def complete(spans: list[ReceivedSpan]) -> bool:
                names = [s.name for s in spans if s.service == "synthdata-worker"]
                api = [s.name for s in spans if s.service == "synthdata-api"]
                return "job.execute" in names and "POST /api/v1/jobs" in api

            spans = receiver.wait_for(lambda found: complete(found) and found)
            worker_lines = log_lines(stack.worker_log)
            api_lines = log_lines(stack.api_log)

    request = _one(spans, service="synthdata-api", name="POST /api/v1/jobs")
    assert request.kind == "SPAN_KIND_SERVER"
    assert request.attributes.get("http.route") == "/api/v1/jobs"
    trace = [s for s in spans if s.trace_id == request.trace_id]

    execute = _one(trace, name="job.execute")
    assert execute.service == "synthdata-worker"
    assert execute.parent_span_id == request.span_id
    assert execute.span_id == format(execute_span_id(job_id), "016x")
    assert execute.attributes["job.id"] == job_id
    assert execute.attributes["job.rows"] == ROWS
    assert execute.attributes["synthesizer"] == DEFAULT_SYNTHESIZER
    assert execute.attributes["job.state"] == "succeeded"
    assert execute.attributes["job.queue_wait_seconds"] >= 0

    steps = [s for s in trace if s.parent_span_id == execute.span_id and not _is_db(s)]
    names = sorted(s.name for s in steps)
    chunks = -(-ROWS // CHUNK_ROWS)
    expected = sorted(["job.queue_wait", "job.fit", "job.write"] + ["job.sample"] * chunks)
    assert names == expected, _tree(trace)
    assert all(s.service == "synthdata-worker" for s in steps)
    samples = sorted((s for s in steps if s.name == "job.sample"), key=lambda s: s.start_ns)
    assert sorted(s.attributes["chunk.index"] for s in samples) == list(range(chunks))
    assert sum(s.attributes["chunk.rows"] for s in samples) == ROWS
    fit = _one(steps, name="job.fit")
    write = _one(steps, name="job.write")
    wait = _one(steps, name="job.queue_wait")
    # The steps happen in order inside job.execute.
    assert execute.start_ns == wait.start_ns <= wait.end_ns <= fit.start_ns
    assert fit.end_ns <= samples[0].start_ns and max(s.end_ns for s in samples) <= write.start_ns
    assert write.end_ns <= execute.end_ns

    # Database statements are spans inside the request and inside the job's steps,
    # and never roots of their own (heartbeats and reaper polls are not traced).
    by_id = {s.span_id: s for s in trace}
    api_db = [s for s in trace if _is_db(s) and s.parent_span_id == request.span_id]
    worker_db = [s for s in trace if _is_db(s) and s.service == "synthdata-worker"]
    assert api_db and worker_db
    assert all(s.parent_span_id in by_id for s in worker_db)
    assert all(s.parent_span_id for s in spans if _is_db(s))
    # Health probes and scrapes are not traced.
    assert not [s for s in spans if "/healthz" in s.name or "/metrics" in s.name]

    # The request's access line carries its trace and span, recorded after the response
    # (with the other requests of its event-loop pass) but taken while the span was current.
    posts = [
        line
        for line in api_lines
        if line.get("message") == "request"
        and line.get("http.route") == "/api/v1/jobs"
        and line.get("http.request.method") == "POST"
    ]
    assert [(line.get("trace.id"), line.get("span.id")) for line in posts] == [
        (request.trace_id, request.span_id)
    ]
    # The worker's log lines about the job carry the trace id, to jump from logs to trace.
    job_lines = [line for line in worker_lines if line.get("job_id") == job_id]
    assert job_lines
    assert {line.get("trace.id") for line in job_lines} == {request.trace_id}


_PROBE = """
import json, sys
from opentelemetry import trace
from synthdata.observability import tracing
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

app = create_app(Settings(environment="test", database_url=sys.argv[1], data_dir=sys.argv[2]))
print(json.dumps({
    "enabled": tracing.tracing_enabled(),
    "configured": tracing.is_configured(),
    "provider": type(trace.get_tracer_provider()).__name__,
    "app_instrumented": bool(getattr(app, "_is_instrumented_by_opentelemetry", False)),
    "instrumentation": sorted(m for m in sys.modules if m.startswith("opentelemetry.instrument")),
    "sdk": "opentelemetry.sdk.trace" in sys.modules,
}))
"""


def _probe(tmp_path: Path, otel: dict[str, str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SYNTHDATA_"))}
    env.update(otel)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, f"sqlite:///{tmp_path / 'db.sqlite'}", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_without_otel_variables_nothing_is_installed(tmp_path: Path) -> None:
    state = _probe(tmp_path, {})
    assert state == {
        "enabled": False,
        "configured": False,
        "provider": "ProxyTracerProvider",
        "app_instrumented": False,
        "instrumentation": [],
        "sdk": False,
    }


def test_with_an_endpoint_the_app_is_instrumented(tmp_path: Path) -> None:
    # Nothing listens there; spans would be dropped, but nothing is sent in this probe.
    state = _probe(tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert state["enabled"] is True and state["configured"] is True
    assert state["provider"] == "TracerProvider"
    assert state["app_instrumented"] is True


def test_tracing_can_be_switched_off_with_the_sdk_variable(tmp_path: Path) -> None:
    state = _probe(
        tmp_path,
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"},
    )
    assert state["configured"] is False and state["app_instrumented"] is False
