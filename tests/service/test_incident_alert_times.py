"""Incidents keep the alerts' own times (SQLite and PostgreSQL, through the real webhook).

An incident opens when its alert started, not when the notification arrived (which
can be minutes later, after an outage of the API or its database), and its response
clock and escalation count from then. A notification redelivered after a newer one
(firing, resolved, then the old firing payload again) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.fixtures.service import Caller
from tests.service.alertmanager_payloads import alert, group_key, notification

from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.incidents.escalation import run_escalations

TOKEN = "webhook-token-for-tests"
WEBHOOK = "/api/v1/alerts/webhook"
NOTHING = {"incident_id": None, "status": None, "severity": None, "changes": 0}


@pytest.fixture
def service(settings_for: Callable[..., Settings]) -> Iterator[tuple[TestClient, Settings]]:
    settings = settings_for(
        alert_webhook_token=TOKEN,
        escalation_check_seconds=3600,  # passes run by the tests, at the times they choose
        pagerduty_routing_key="",
        slack_webhook_url="",
    )
    with TestClient(create_app(settings, workers=0)) as client:
        yield client, settings


@pytest.fixture
def api(service: tuple[TestClient, Settings]) -> TestClient:
    return service[0]


@pytest.fixture
def sessions(service: tuple[TestClient, Settings]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(service[1].database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _hook(api: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(WEBHOOK, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _get(api: TestClient, admin: Caller, incident_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/incidents/{incident_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _minutes_ago(minutes: float) -> datetime:
    # Whole seconds: compared for equality with what the database gives back.
    return (utcnow() - timedelta(minutes=minutes)).replace(microsecond=0)


# -- opened_at is the alert's startsAt (issue 14, item 11) -----------------------------------
def test_a_late_notification_opens_the_incident_when_the_alert_started(
    api: TestClient,
    admin: Caller,
    service: tuple[TestClient, Settings],
    sessions: sessionmaker[Session],
) -> None:
    started = _minutes_ago(10)
    opened = _hook(
        api, notification(group_key("APIDown"), alert("APIDown", "critical", starts_at=started))
    )
    incident = _get(api, admin, opened["incident_id"])
    assert incident["severity"] == "SEV-1"
    assert _time(incident["opened_at"]) == started
    assert _time(incident["ack_due_at"]) == started + timedelta(minutes=15)
    first = incident["timeline"][0]
    assert first["kind"] == "opened" and _time(first["at"]) == started
    assert _time(first["detail"]["notified_at"]) > started

    # The escalation clock runs from the alert's start: due 15 minutes after it.
    settings = service[1]
    deadline = started + timedelta(minutes=15)
    assert run_escalations(sessions, settings, now=deadline - timedelta(seconds=1)) == []
    outcomes = run_escalations(sessions, settings, now=deadline)
    assert [(o.incident_id, o.target, o.outcome) for o in outcomes] == [
        (opened["incident_id"], "pagerduty", "skipped")  # no PagerDuty key in this test
    ]


def test_a_worse_alert_tightens_the_clock_from_its_own_start(
    api: TestClient, admin: Caller
) -> None:
    key = '{}:{service="synthdata-api"}'
    slow = alert("HighResponseTime", "warning", starts_at=_minutes_ago(40))
    sev3 = _hook(api, notification(key, slow))
    errors_started = _minutes_ago(20)
    errors = alert("HighErrorRate", "critical", starts_at=errors_started)
    assert _hook(api, notification(key, slow, errors))["severity"] == "SEV-2"
    incident = _get(api, admin, sev3["incident_id"])
    assert _time(incident["ack_due_at"]) == errors_started + timedelta(hours=1)


def test_opened_at_is_never_in_the_future_nor_before_a_resolution_by_hand(
    api: TestClient, admin: Caller
) -> None:
    skewed = alert("HighCPU", "warning", starts_at=utcnow() + timedelta(hours=1))
    incident = _get(api, admin, _hook(api, notification("{}:cpu", skewed))["incident_id"])
    assert _time(incident["opened_at"]) < _time(skewed["startsAt"])
    assert _time(incident["ack_due_at"]) - _time(incident["opened_at"]) == timedelta(hours=4)

    # Resolved by hand while the alert still fires: Alertmanager's next notification
    # opens a new incident, whose clock starts at that resolution, not at the alert's
    # start an hour back (it would escalate at once).
    still = alert("HighErrorRate", "critical", starts_at=_minutes_ago(60))
    first = _hook(api, notification("{}:errors", still))["incident_id"]
    resolved = api.post(f"/api/v1/incidents/{first}/resolve", headers=admin.headers)
    assert resolved.status_code == 200, resolved.text
    again = _hook(api, notification("{}:errors", still))
    assert again["incident_id"] != first and again["status"] == "open"
    second = _get(api, admin, again["incident_id"])
    assert _time(second["opened_at"]) == _time(resolved.json()["resolved_at"])


# -- stale redelivered notifications (issue 14, item 13) -------------------------------------
def test_a_redelivered_firing_notification_after_the_resolution_opens_nothing(
    api: TestClient, admin: Caller
) -> None:
    key = group_key("APIDown")
    started = _minutes_ago(10)
    firing = alert("APIDown", "critical", starts_at=started)
    resolved = alert(
        "APIDown",
        "critical",
        status="resolved",
        starts_at=started,
        ends_at=started + timedelta(minutes=5),
    )
    first = _hook(api, notification(key, firing))
    assert _hook(api, notification(key, resolved))["status"] == "resolved"

    # Alertmanager's retry of the first notification arrives after the resolution.
    assert _hook(api, notification(key, firing)) == NOTHING
    listing = api.get("/api/v1/incidents", headers=admin.headers).json()["items"]
    assert [(i["id"], i["status"]) for i in listing] == [(first["incident_id"], "resolved")]
    kinds = [line["kind"] for line in _get(api, admin, first["incident_id"])["timeline"]]
    assert kinds == ["opened", "alert_firing", "alert_resolved", "resolved"]

    # A real re-fire starts after the resolution: a new incident, opened then.
    restarted = started + timedelta(minutes=7)
    refiring = alert("APIDown", "critical", starts_at=restarted)
    second = _hook(api, notification(key, refiring))
    assert second["incident_id"] != first["incident_id"] and second["changes"] == 2
    # The old episode's firing and resolved notifications, redelivered, change nothing.
    unchanged = {**second, "changes": 0}
    assert _hook(api, notification(key, firing)) == unchanged
    assert _hook(api, notification(key, resolved)) == unchanged
    incident = _get(api, admin, second["incident_id"])
    assert _time(incident["opened_at"]) == restarted
    assert [(a["status"], _time(a["starts_at"])) for a in incident["alerts"]] == [
        ("firing", restarted)
    ]
    assert [line["kind"] for line in incident["timeline"]] == ["opened", "alert_firing"]


def test_a_stale_alert_does_not_fire_again_inside_an_open_incident(
    api: TestClient, admin: Caller
) -> None:
    key = group_key("APIAvailabilityLow")
    started = _minutes_ago(10)
    api_0 = alert("APIAvailabilityLow", "critical", instance="api-0", starts_at=started)
    api_1 = alert("APIAvailabilityLow", "critical", instance="api-1", starts_at=started)
    api_0_ended = {
        **api_0,
        "status": "resolved",
        "endsAt": (started + timedelta(minutes=4)).isoformat(),
    }
    opened = _hook(api, notification(key, api_0, api_1))
    assert _hook(api, notification(key, api_0_ended, api_1))["changes"] == 1

    # The notification from before api-0 resolved, redelivered: api-0 stays resolved.
    assert _hook(api, notification(key, api_0, api_1)) == {**opened, "changes": 0}
    incident = _get(api, admin, opened["incident_id"])
    states = {a["labels"]["instance"]: a["status"] for a in incident["alerts"]}
    assert states == {"api-0": "resolved", "api-1": "firing"}

    # api-0 firing again later is news; the old resolution redelivered then is not.
    api_0_again = {**api_0, "startsAt": (started + timedelta(minutes=6)).isoformat()}
    assert _hook(api, notification(key, api_0_again, api_1))["changes"] == 1
    assert _hook(api, notification(key, api_0_ended, api_1))["changes"] == 0
    assert _hook(api, notification(key, api_0, api_1))["changes"] == 0  # nor the old start
    incident = _get(api, admin, opened["incident_id"])
    states = {a["labels"]["instance"]: a["status"] for a in incident["alerts"]}
    assert states == {"api-0": "firing", "api-1": "firing"}
    assert incident["status"] == "open"
    (restarted,) = [
        a["starts_at"] for a in incident["alerts"] if a["labels"]["instance"] == "api-0"
    ]
    assert _time(restarted) == _time(api_0_again["startsAt"])
