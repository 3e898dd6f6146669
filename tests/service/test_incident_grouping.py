"""One root cause, one incident: the intake attaches an alert group of the same cause to
the open incident instead of opening another (issue 14, item 5).

Alertmanager groups the API's error family per service (see
tests/service/test_incident_grouping_e2e.py and tests/monitoring/test_alert_routing.py);
these cover what still arrives in separate groups: an Alertmanager grouping by alert
name (an older configuration), and the error budget's slow-burn warning, which is
routed apart from the critical alerts. Through the real app and database (SQLite and
PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.fixtures.service import Caller
from tests.service.alertmanager_payloads import alert, notification

from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from synthdata.service.incidents import policy

TOKEN = "webhook-token-for-tests"


@pytest.fixture
def api(settings_for: Any) -> Iterator[TestClient]:
    settings: Settings = settings_for(alert_webhook_token=TOKEN, escalation_check_seconds=3600)
    with TestClient(create_app(settings, workers=0)) as client:
        yield client


def _group(name: str, severity: str = "critical", service: str = "synthdata-api") -> str:
    """Alertmanager's group key when it groups by alert name (one group per alert)."""
    route = f'{{}}/{{severity="{severity}"}}'
    return f'{route}:{{alertname="{name}", cluster="local", service="{service}"}}'


def _hook(api: TestClient, group: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        "/api/v1/alerts/webhook",
        json=notification(group, *alerts),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _incidents(api: TestClient, admin: Caller) -> list[dict[str, Any]]:
    response = api.get("/api/v1/incidents", headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _detail(api: TestClient, admin: Caller, incident_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/incidents/{incident_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_the_error_family_in_three_groups_is_one_incident(api: TestClient, admin: Caller) -> None:
    first = _hook(api, _group("HighErrorRate"), alert("HighErrorRate", "critical"))
    for name in ("APIAvailabilityLow", "APIErrorBudgetBurn"):
        result = _hook(api, _group(name), alert(name, "critical"))
        assert result["incident_id"] == first["incident_id"]
    (incident,) = _incidents(api, admin)
    detail = _detail(api, admin, incident["id"])
    assert sorted(a["alertname"] for a in detail["alerts"]) == [
        "APIAvailabilityLow",
        "APIErrorBudgetBurn",
        "HighErrorRate",
    ]
    # Opened SEV-2 (HighErrorRate), raised to SEV-1 by the availability alert.
    assert detail["severity"] == "SEV-1"
    attached = [line for line in detail["timeline"] if line["kind"] == "group_attached"]
    assert [line["detail"]["cause"] for line in attached] == ["api-errors/synthdata-api"] * 2


def test_an_attached_group_resolves_into_its_incident(api: TestClient, admin: Caller) -> None:
    critical = _group("APIAvailabilityLow")
    slow_burn = _group("APIErrorBudgetBurn", "warning")  # the slow burn: another route
    opened = _hook(api, critical, alert("APIAvailabilityLow", "critical"))
    _hook(api, slow_burn, alert("APIErrorBudgetBurn", "warning"))
    incident_id = opened["incident_id"]

    # The warning's group resolves: its alert does, the incident stays open.
    resolved = _hook(api, slow_burn, alert("APIErrorBudgetBurn", "warning", status="resolved"))
    assert (resolved["incident_id"], resolved["status"]) == (incident_id, "open")
    states = {a["alertname"]: a["status"] for a in _detail(api, admin, incident_id)["alerts"]}
    assert states == {"APIAvailabilityLow": "firing", "APIErrorBudgetBurn": "resolved"}

    # The last group resolves: so does the incident.
    done = _hook(api, critical, alert("APIAvailabilityLow", "critical", status="resolved"))
    assert (done["incident_id"], done["status"]) == (incident_id, "resolved")
    assert len(_incidents(api, admin)) == 1


def test_other_causes_and_other_services_open_their_own(api: TestClient, admin: Caller) -> None:
    api_errors = _hook(api, _group("HighErrorRate"), alert("HighErrorRate", "critical"))
    worker = _hook(
        api,
        _group("HighErrorRate", service="synthdata-worker"),
        alert("HighErrorRate", "critical", service="synthdata-worker"),
    )
    database = _hook(
        api, _group("DatabaseConnectionFailure"), alert("DatabaseConnectionFailure", "critical")
    )
    ids = {api_errors["incident_id"], worker["incident_id"], database["incident_id"]}
    assert len(ids) == 3 == len(_incidents(api, admin))


def test_after_the_incident_is_resolved_the_cause_opens_a_new_one(
    api: TestClient, admin: Caller
) -> None:
    first = _hook(api, _group("HighErrorRate"), alert("HighErrorRate", "critical"))
    response = api.post(f"/api/v1/incidents/{first['incident_id']}/resolve", headers=admin.headers)
    assert response.status_code == 200, response.text
    second = _hook(api, _group("APIAvailabilityLow"), alert("APIAvailabilityLow", "critical"))
    assert second["incident_id"] not in (None, first["incident_id"])


@pytest.mark.parametrize(
    ("labels", "cause"),
    [
        ({"alertname": "HighErrorRate", "service": "synthdata-api"}, "api-errors/synthdata-api"),
        ({"alertname": "APIErrorBudgetBurn", "service": "a"}, "api-errors/a"),
        ({"alertname": "APIDown", "service": "synthdata-api"}, ""),
        ({"alertname": "Custom", "cause_group": "db", "service": "x"}, "db/x"),
    ],
)
def test_cause_of(labels: dict[str, str], cause: str) -> None:
    assert policy.cause_of(labels) == cause


def test_two_groups_of_one_cause_on_two_replicas_at_once_are_one_incident(
    database_url: str,
) -> None:
    """Replica A has taken HighErrorRate's group and not committed yet when replica B
    takes APIAvailabilityLow's (another group, the same cause): B waits for A, then
    joins A's incident instead of opening (and paging) a second one."""
    from sqlalchemy import func, select

    from synthdata.service.core.db import make_engine, make_session_factory
    from synthdata.service.incidents.alertmanager import AlertmanagerWebhook
    from synthdata.service.incidents.intake import ingest
    from synthdata.service.incidents.models import Incident

    def payload(name: str) -> AlertmanagerWebhook:
        return AlertmanagerWebhook.model_validate(
            notification(_group(name), alert(name, "critical"))
        )

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        first = sessions()
        ingest(first, payload("HighErrorRate"))  # replica A, its transaction still open
        second_done = threading.Event()

        def replica_b() -> None:
            with sessions() as session, session.begin():
                ingest(session, payload("APIAvailabilityLow"))
            second_done.set()

        b = threading.Thread(target=replica_b)
        b.start()
        b.join(timeout=1.0)  # B must be waiting on A: it cannot have decided yet
        waited = not second_done.is_set()
        first.commit()
        first.close()
        b.join(timeout=30)
        assert second_done.is_set()
        with sessions() as session:
            opened = session.scalar(select(func.count()).select_from(Incident))
        assert (waited, opened) == (True, 1)
    finally:
        engine.dispose()
