"""Issue 13, item 19: request inputs are taken as typed, never coerced.

`rows: true` used to become a 1-row job, `"100"` was taken as a number, and
`GET /usage?until=0.5` read the number as Unix time (1970). Every request body is strict
now and date-time parameters want ISO 8601 text: each case below answers 422 with a
problem document that names the offending field. `1e3` stays the integer 1000: JSON has
one number type and JSON Schema's `integer` includes it (docs/api.md, "Input types").
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from synthdata.service.app import create_app

REFUSED_BODIES = [
    ("POST", "/api/v1/jobs", {"dataset_id": "ds_x", "rows": True}, "rows"),
    ("POST", "/api/v1/jobs", {"dataset_id": "ds_x", "rows": 1000.5}, "rows"),
    ("POST", "/api/v1/jobs", {"dataset_id": "ds_x", "rows": "100"}, "rows"),
    ("POST", "/api/v1/jobs", {"dataset_id": "ds_x", "rows": 10, "seed": "7"}, "seed"),
    ("POST", "/api/v1/jobs", {"dataset_id": 5, "rows": 10}, "dataset_id"),
    (
        "POST",
        "/api/v1/jobs",
        {"dataset_id": "d", "rows": 9, "conditions": {"a": {"min": True}}},
        "min",
    ),
    ("POST", "/api/v1/models", {"dataset_id": "ds_x", "name": 12}, "name"),
]
ADMIN_BODIES = [
    ("POST", "/api/v1/customers", {"name": "A", "price_per_1k_rows": 0.5}, "price_per_1k_rows"),
    ("POST", "/api/v1/customers", {"name": "A", "price_per_1k_rows": True}, "price_per_1k_rows"),
    ("POST", "/api/v1/customers", {"name": 1}, "name"),
    ("PUT", "/api/v1/admin/circuit-breakers/synthdata-api", {"enabled": "true"}, "enabled"),
    ("PUT", "/api/v1/admin/circuit-breakers/synthdata-api", {"enabled": 1}, "enabled"),
    (
        "PUT",
        "/api/v1/admin/circuit-breakers/synthdata-api",
        {"enabled": False, "retry_after": "60"},
        "retry_after",
    ),
]
REFUSED_QUERIES = [
    ("/api/v1/usage?until=0.5", "until"),
    ("/api/v1/usage?since=1700000000", "since"),
    ("/api/v1/usage?since=1e9", "since"),
    ("/api/v1/usage?until=2026-01-01T00:00:00", "until"),  # no time zone
]


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:synthdata:problem:validation-error", problem
    # The detail quotes the first error; a union (a condition) lists one per member.
    assert any(field in error["loc"] for error in problem["errors"]), problem


@pytest.mark.parametrize(("method", "path", "body", "field"), REFUSED_BODIES)
def test_customer_bodies_are_not_coerced(client, alice, method, path, body, field):
    _refused(client.request(method, path, headers=alice.headers, json=body), field)


@pytest.mark.parametrize(("method", "path", "body", "field"), ADMIN_BODIES)
def test_admin_bodies_are_not_coerced(client, admin, method, path, body, field):
    _refused(client.request(method, path, headers=admin.headers, json=body), field)


@pytest.mark.parametrize(("path", "field"), REFUSED_QUERIES)
def test_numbers_in_place_of_timestamps_are_refused(client, alice, path, field):
    response = client.get(path, headers=alice.headers)
    _refused(response, field)
    assert f"query.{field}" in response.json()["detail"]


def test_well_typed_inputs_still_work(client, alice, admin):
    """The same requests, typed as the schema says, are accepted."""
    usage = client.get(
        "/api/v1/usage",
        headers=alice.headers,
        params={"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00+01:00"},
    )
    assert usage.status_code == 200, usage.text
    assert usage.json()["until"] == "2026-02-01T00:00:00+01:00"
    assert client.get("/api/v1/jobs?limit=10", headers=alice.headers).status_code == 200
    customer = client.post(
        "/api/v1/customers",
        headers=admin.headers,
        json={"name": "Typed", "price_per_1k_rows": "0.50"},
    )
    assert customer.status_code == 201, customer.text
    assert customer.json()["price_per_1k_rows"] == "0.50"
    key = client.post(
        f"/api/v1/customers/{customer.json()['id']}/keys",
        headers=admin.headers,
        json={"role": "customer"},
    )
    assert key.status_code == 201, key.text
    breaker = client.put(
        "/api/v1/admin/circuit-breakers/synthdata-api",
        headers=admin.headers,
        json={"enabled": False, "retry_after": 60},
    )
    assert breaker.status_code == 200, breaker.text
    for rows in (10, 1e3, 1000.0):  # a JSON number without a fraction is an integer
        job = client.post(
            "/api/v1/jobs",
            headers=alice.headers,
            json={"dataset_id": "ds_missing", "rows": rows, "conditions": {"a": {"min": 1}}},
        )
        assert job.status_code == 404, job.text  # well-formed: it gets as far as the lookup


def test_alert_timestamps_are_text(settings_for):
    """Alertmanager's RFC 3339 times are taken; a number in their place is refused."""
    token = "strict-webhook-token"
    alert = {
        "status": "firing",
        "labels": {"alertname": "Strict", "severity": "warning"},
        "fingerprint": "f1",
        "startsAt": 1700000000,
    }
    body = {"version": "4", "groupKey": "g", "status": "firing", "alerts": [alert]}
    app = create_app(settings_for(alert_webhook_token=token), workers=0)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        _refused(client.post("/api/v1/alerts/webhook", headers=headers, json=body), "startsAt")
        alert["startsAt"] = "2026-01-31T10:00:00Z"
        accepted = client.post("/api/v1/alerts/webhook", headers=headers, json=body)
        assert accepted.status_code == 200, accepted.text
