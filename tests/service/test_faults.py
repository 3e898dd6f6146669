"""The test-only fault switch: on, a header yields a counted 5xx; off, it does nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import ValidationError

from synthdata.observability.request_tally import fold_all
from synthdata.service.app import create_app
from synthdata.service.asgi import service_hooks
from synthdata.service.core.settings import Settings

FAULT = "X-Synthdata-Fault"


def _count(endpoint: str, status: str, method: str = "GET") -> float:
    labels = {"method": method, "endpoint": endpoint, "status": status}
    fold_all()  # requests are counted in batches
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


@pytest.fixture
def app_with(settings_for: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(**overrides: object) -> TestClient:
        settings = settings_for(**overrides)
        client = TestClient(create_app(settings, workers=0, hooks=service_hooks(settings)))
        clients.append(client.__enter__())
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def test_fault_header_answers_with_that_status_and_is_counted(app_with, admin):
    client = app_with(fault_injection=True)
    route = "/api/v1/jobs/{job_id}"
    before_500, before_503 = _count(route, "500"), _count(route, "503")

    response = client.get("/api/v1/jobs/job_x", headers={**admin.headers, FAULT: "500"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 500
    assert problem["type"] == "urn:synthdata:problem:injected-fault"
    assert client.get("/api/v1/jobs/job_x", headers={FAULT: "503"}).status_code == 503

    # Counted by the observability middleware around it, under the route template.
    assert _count(route, "500") == before_500 + 1
    assert _count(route, "503") == before_503 + 1
    # An unsupported value is a client error, not a silent pass-through.
    assert client.get("/healthz", headers={FAULT: "418"}).status_code == 400
    # Without the header everything works as usual.
    assert client.get("/api/v1/me", headers=admin.headers).status_code == 200


def test_fault_on_unknown_path_is_counted_as_unmatched(app_with):
    client = app_with(fault_injection=True)
    before = _count("unmatched", "500")
    assert client.get("/no/such/path", headers={FAULT: "500"}).status_code == 500
    assert _count("unmatched", "500") == before + 1


def test_header_does_nothing_when_the_switch_is_off(app_with, admin):
    client = app_with()  # the default: off
    response = client.get("/api/v1/me", headers={**admin.headers, FAULT: "500"})
    assert response.status_code == 200
    assert client.get("/healthz", headers={FAULT: "503"}).status_code == 200


def test_fault_injection_is_refused_in_production():
    with pytest.raises(ValidationError, match="FAULT_INJECTION"):
        Settings(environment="production", fault_injection=True)
    assert Settings(environment="test", fault_injection=True).fault_injection


def test_an_injected_fault_is_logged_with_its_request_id(app_with):
    import io
    import json

    from synthdata.observability.logging import configure_logging

    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        client = app_with(fault_injection=True)
        response = client.get("/api/v1/me", headers={FAULT: "503", "X-Request-ID": "fault-1"})
    finally:
        configure_logging("INFO")
    assert response.status_code == 503
    assert response.headers["x-request-id"] == "fault-1"
    access = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in access if line.get("message") == "request"]
    assert [(line["request_id"], line["http.response.status_code"]) for line in lines] == [
        ("fault-1", 503)
    ]
