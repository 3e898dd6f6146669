"""Who worked an incident over HTTP: each admin key is named on the timeline and in the
audit log (the CLI's `--by` and OS user are tested in test_incident_cli.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from tests.fixtures.service import Caller
from tests.service.alertmanager_payloads import alert, group_key, notification

from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import Role

TOKEN = "webhook-token-for-tests"


@pytest.fixture
def api(settings_for: Callable[..., Settings]) -> Iterator[TestClient]:
    settings = settings_for(alert_webhook_token=TOKEN, escalation_check_seconds=3600)
    with TestClient(create_app(settings, workers=0)) as client:
        yield client


def test_two_admins_are_told_apart(
    api: TestClient, admin: Caller, make_caller: Callable[..., Caller]
) -> None:
    other = make_caller(Role.ADMIN, with_customer=False)
    body = notification(group_key("APIDown"), alert("APIDown", "critical"))
    opened = api.post(
        "/api/v1/alerts/webhook", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert opened.status_code == 200, opened.text
    url = f"/api/v1/incidents/{opened.json()['incident_id']}"

    assert api.post(f"{url}/ack", headers=admin.headers).status_code == 200
    noted = api.post(f"{url}/notes", json={"message": "failing over"}, headers=other.headers)
    assert noted.status_code == 201, noted.text
    resolved = api.post(f"{url}/resolve", headers=other.headers)
    assert resolved.status_code == 200, resolved.text

    incident = resolved.json()
    assert incident["acknowledged_by"] == f"key:{admin.key_id}"
    assert incident["resolved_by"] == f"key:{other.key_id}"
    actors = [(e["kind"], e["actor"]) for e in incident["timeline"]][2:]
    assert actors == [
        ("acknowledged", f"key:{admin.key_id}"),
        ("note", f"key:{other.key_id}"),
        ("resolved", f"key:{other.key_id}"),
    ]
    audit = api.get("/api/v1/admin/audit", headers=admin.headers).json()
    mine = sorted(
        (e["action"], e["actor"], e["source"]) for e in audit if e["target"] == incident["id"]
    )
    assert mine == [
        ("incident.acknowledge", f"key:{admin.key_id}", "testclient"),
        ("incident.note", f"key:{other.key_id}", "testclient"),
        ("incident.resolve", f"key:{other.key_id}", "testclient"),
    ]
