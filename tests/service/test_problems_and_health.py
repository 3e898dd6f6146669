"""Every error is a problem document; health and readiness probes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from synthdata.artifacts import LocalStore
from synthdata.service.app import create_app

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    return body


def test_unknown_route_and_wrong_method_are_problems(client, alice):
    _is_problem(client.get("/api/v1/nope", headers=alice.headers), 404)
    _is_problem(client.delete("/api/v1/jobs", headers=alice.headers), 405)


def test_validation_error_names_the_field(client, alice):
    body = _is_problem(client.post("/api/v1/jobs", headers=alice.headers, json={"rows": 0}), 422)
    assert body["type"] == "urn:synthdata:problem:validation-error"
    assert any("rows" in e["loc"] for e in body["errors"])
    body = _is_problem(client.post("/api/v1/jobs", headers=alice.headers, json={"rows": 5}), 422)
    assert "exactly one of dataset_id or model_id" in body["detail"]


def test_missing_and_bad_keys_are_401(client, alice):
    assert _is_problem(client.get("/api/v1/datasets"), 401)["detail"].startswith("an API key")
    bad = client.get("/api/v1/datasets", headers={"X-API-Key": "sdk_not-a-real-key"})
    assert _is_problem(bad, 401)["detail"] == "invalid or revoked API key"
    bearer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {alice.secret}"})
    assert bearer.status_code == 200 and bearer.json()["customer"]["id"] == alice.customer_id


def test_unknown_object_is_404_problem(client, alice):
    body = _is_problem(client.get("/api/v1/jobs/job_missing", headers=alice.headers), 404)
    assert "job_missing" in body["detail"]


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "queue": "ok", "storage": "ok"}


def test_readiness_names_the_failing_parts(settings_for, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    settings = settings_for(queue="redis", redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings, workers=0)
    # A directory under a file: nothing can be written there.
    app.state.platform.storage.store = LocalStore(blocker / "data")
    with TestClient(app) as client:
        body = _is_problem(client.get("/readyz"), 503)
    assert body["detail"] == "not ready: queue, storage failing"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue"] != "ok" and body["checks"]["storage"] != "ok"


def test_request_id_is_echoed_or_made(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_openapi_documents_the_api(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/jobs", "/api/v1/datasets", "/api/v1/usage", "/api/v1/models"):
        assert path in spec["paths"]
    schemes = spec["components"]["securitySchemes"]
    assert {"ApiKey", "Bearer"} <= schemes.keys()
    upload = spec["paths"]["/api/v1/datasets"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
