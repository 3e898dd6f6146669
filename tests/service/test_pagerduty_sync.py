"""PagerDuty kept in step with the incident, both ways (issue 14, item 12).

Our acknowledge and resolve (API and CLI) send Events API v2 acknowledge/resolve
events for the dedup_key Alertmanager's PagerDuty receiver pages with (SHA-256 of
the alert group key), and so does the escalation. PagerDuty's v3 webhook, signed
with X-PagerDuty-Signature, acknowledges and resolves our incident. PagerDuty is a
local HTTP receiver whose recorded bodies the tests check; the app, its database
(SQLite and PostgreSQL) and the CLI are the real ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.fixtures.pagerduty import Receiver, receiver  # noqa: F401  (the fixture)
from tests.fixtures.service import Caller
from tests.service.alertmanager_payloads import alert, group_key, notification
from typer.testing import CliRunner

from synthdata.cli.main import app as cli_app
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

TOKEN = "webhook-token-for-tests"
ROUTING_KEY = "pd-routing-key-for-tests"
SECRET = "pd-webhook-secret-for-tests"
PAGERDUTY_HOOK = "/api/v1/alerts/pagerduty"


def _alertmanager_dedup_key(key: str) -> str:
    """What Alertmanager's PagerDuty notifier sends as dedup_key (notify.Key.Hash)."""
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def pd_settings(settings_for: Callable[..., Settings], receiver: Receiver) -> Settings:  # noqa: F811
    return settings_for(
        alert_webhook_token=TOKEN,
        escalation_check_seconds=3600,
        pagerduty_events_url=f"{receiver.url}/pagerduty",
        pagerduty_routing_key=ROUTING_KEY,
        pagerduty_webhook_secret=SECRET,
    )


@pytest.fixture
def api(pd_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(pd_settings, workers=0)) as client:
        yield client


def _open(api: TestClient, name: str = "APIAvailabilityLow", severity: str = "critical") -> str:
    body = notification(group_key(name), alert(name, severity))
    response = api.post(
        "/api/v1/alerts/webhook", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200, response.text
    incident_id: str = response.json()["incident_id"]
    return incident_id


def _incident(api: TestClient, admin: Caller, incident_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/incidents/{incident_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _pd_lines(incident: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (line["kind"], line["detail"].get("outcome", ""))
        for line in incident["timeline"]
        if line["kind"].startswith("pagerduty_")
    ]


# -- ours -> PagerDuty ----------------------------------------------------------------------
def test_api_ack_and_resolve_close_alertmanagers_page(
    api: TestClient,
    admin: Caller,
    receiver: Receiver,  # noqa: F811
) -> None:
    incident_id = _open(api)
    dedup = _alertmanager_dedup_key(group_key("APIAvailabilityLow"))

    assert api.post(f"/api/v1/incidents/{incident_id}/ack", headers=admin.headers).is_success
    assert api.post(f"/api/v1/incidents/{incident_id}/ack", headers=admin.headers).is_success
    assert api.post(f"/api/v1/incidents/{incident_id}/resolve", headers=admin.headers).is_success
    assert api.post(f"/api/v1/incidents/{incident_id}/resolve", headers=admin.headers).is_success

    # One event per change (the repeats changed nothing), for Alertmanager's key.
    assert receiver.bodies("/pagerduty") == [
        {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": dedup},
        {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": dedup},
    ]
    found = _incident(api, admin, incident_id)
    assert _pd_lines(found) == [("pagerduty_acknowledge", "sent"), ("pagerduty_resolve", "sent")]
    assert found["status"] == "resolved"


def test_a_security_page_is_acknowledged_on_the_security_teams_service(
    pd_settings: Settings,
    admin: Caller,
    receiver: Receiver,  # noqa: F811
) -> None:
    """PagerDuty scopes a dedup_key to its integration: the security route's page is
    acknowledged with the security service's routing key."""
    settings = pd_settings.model_copy(update={"pagerduty_security_routing_key": "security-key"})
    key = '{}/{team="security"}/{severity="critical"}:{alertname="BruteForceAttack"}'
    with TestClient(create_app(settings, workers=0)) as api:
        response = api.post(
            "/api/v1/alerts/webhook",
            json=notification(key, alert("BruteForceAttack", "critical")),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 200, response.text
        incident_id = response.json()["incident_id"]
        assert api.post(f"/api/v1/incidents/{incident_id}/ack", headers=admin.headers).is_success
    assert receiver.bodies("/pagerduty") == [
        {
            "routing_key": "security-key",
            "event_action": "acknowledge",
            "dedup_key": _alertmanager_dedup_key(key),
        }
    ]


def test_a_failed_event_is_on_the_timeline_and_the_ack_stands(
    api: TestClient,
    admin: Caller,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.status = 500
    incident_id = _open(api)
    response = api.post(f"/api/v1/incidents/{incident_id}/ack", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "acknowledged"
    assert _pd_lines(_incident(api, admin, incident_id)) == [("pagerduty_acknowledge", "failed")]
    assert len(receiver.bodies("/pagerduty")) == 1


def test_an_incident_that_never_paged_sends_nothing(
    api: TestClient,
    admin: Caller,
    receiver: Receiver,  # noqa: F811
) -> None:
    incident_id = _open(api, "HighResponseTime", "warning")  # SEV-3: Slack, not a page
    assert api.post(f"/api/v1/incidents/{incident_id}/ack", headers=admin.headers).is_success
    assert api.post(f"/api/v1/incidents/{incident_id}/resolve", headers=admin.headers).is_success
    assert receiver.bodies("/pagerduty") == []
    assert _pd_lines(_incident(api, admin, incident_id)) == []


def test_cli_ack_and_resolve_send_the_events(
    api: TestClient,
    admin: Caller,
    pd_settings: Settings,
    receiver: Receiver,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incident_id = _open(api)
    monkeypatch.setenv("SYNTHDATA_DATABASE_URL", pd_settings.database_url)
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", str(pd_settings.data_dir))
    monkeypatch.setenv("SYNTHDATA_PAGERDUTY_EVENTS_URL", pd_settings.pagerduty_events_url)
    monkeypatch.setenv("SYNTHDATA_PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    runner = CliRunner()
    for command in ("ack", "resolve"):
        result = runner.invoke(cli_app, ["incident", command, incident_id, "--by", "olga"])
        assert result.exit_code == 0, result.output
        assert "PagerDuty" in result.output and "sent" in result.output
    dedup = _alertmanager_dedup_key(group_key("APIAvailabilityLow"))
    assert [(b["event_action"], b["dedup_key"]) for b in receiver.bodies("/pagerduty")] == [
        ("acknowledge", dedup),
        ("resolve", dedup),
    ]
    found = _incident(api, admin, incident_id)
    assert (found["acknowledged_by"], found["resolved_by"]) == ("olga", "olga")


# -- PagerDuty -> ours ----------------------------------------------------------------------
def _pd_event(event_type: str, incident_key: str, who: str = "Paula Pager") -> bytes:
    body = {
        "event": {
            "id": "01DEN1HNLBC1VITK192ETJ1MPJ",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-12-07T21:00:00.000Z",
            "agent": {"id": "PLH1HKV", "summary": who, "type": "user_reference"},
            "client": None,
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "status": event_type.split(".")[1],
                "incident_key": incident_key,
                "title": "synthdata-api: APIAvailabilityLow",
            },
        }
    }
    return json.dumps(body).encode()


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post_pd(api: TestClient, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return api.post(PAGERDUTY_HOOK, content=body, headers=headers)


def test_signed_pagerduty_ack_and_resolve_reach_the_incident(
    api: TestClient,
    admin: Caller,
    receiver: Receiver,  # noqa: F811
) -> None:
    incident_id = _open(api)
    key = _alertmanager_dedup_key(group_key("APIAvailabilityLow"))

    acked = _pd_event("incident.acknowledged", key)
    response = _post_pd(api, acked, _sign(acked))
    assert response.status_code == 200, response.text
    assert response.json() == {"incident_id": incident_id, "action": "acknowledge", "changed": True}
    found = _incident(api, admin, incident_id)
    assert found["status"] == "acknowledged"
    assert found["acknowledged_by"] == "pagerduty:Paula Pager"
    assert found["checklist"][0]["done"]  # the SEV-1 checklist's "Acknowledge alert"

    # PagerDuty redelivers: nothing changes.
    again = _post_pd(api, acked, _sign(acked))
    assert again.json()["changed"] is False

    # During a secret rotation PagerDuty sends two signatures; one must match.
    resolved = _pd_event("incident.resolved", key)
    rotating = f"{_sign(resolved, 'the-old-secret')}, {_sign(resolved)}"
    response = _post_pd(api, resolved, rotating)
    assert response.json() == {"incident_id": incident_id, "action": "resolve", "changed": True}
    found = _incident(api, admin, incident_id)
    assert (found["status"], found["resolved_by"]) == ("resolved", "pagerduty:Paula Pager")
    # PagerDuty already knows: nothing is sent back to it.
    assert receiver.bodies("/pagerduty") == []


def test_our_ack_echoed_by_pagerduty_changes_nothing(
    api: TestClient,
    admin: Caller,
    receiver: Receiver,  # noqa: F811
) -> None:
    incident_id = _open(api)
    assert api.post(f"/api/v1/incidents/{incident_id}/ack", headers=admin.headers).is_success
    (event,) = receiver.bodies("/pagerduty")
    echo = _pd_event("incident.acknowledged", event["dedup_key"])
    response = _post_pd(api, echo, _sign(echo))
    assert response.json() == {
        "incident_id": incident_id,
        "action": "acknowledge",
        "changed": False,
    }
    assert len(receiver.bodies("/pagerduty")) == 1


@pytest.mark.parametrize(
    "signature",
    [None, "", "v1=" + "0" * 64, "sha256=whatever"],
    ids=["missing", "empty", "wrong", "malformed"],
)
def test_unsigned_or_badly_signed_webhook_is_refused(
    api: TestClient, admin: Caller, signature: str | None
) -> None:
    incident_id = _open(api)
    body = _pd_event("incident.resolved", _alertmanager_dedup_key(group_key("APIAvailabilityLow")))
    response = _post_pd(api, body, signature)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _incident(api, admin, incident_id)["status"] == "open"


def test_a_signature_of_another_body_is_refused(api: TestClient, admin: Caller) -> None:
    incident_id = _open(api)
    key = _alertmanager_dedup_key(group_key("APIAvailabilityLow"))
    signed = _pd_event("incident.acknowledged", key)
    tampered = _pd_event("incident.resolved", key)
    assert _post_pd(api, tampered, _sign(signed)).status_code == 401
    assert _incident(api, admin, incident_id)["status"] == "open"


def test_webhook_without_a_secret_is_not_configured(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(alert_webhook_token=TOKEN, escalation_check_seconds=3600)
    with TestClient(create_app(settings, workers=0)) as client:
        body = _pd_event("incident.acknowledged", "x")
        response = _post_pd(client, body, _sign(body))
    assert response.status_code == 503
    assert "SYNTHDATA_PAGERDUTY_WEBHOOK_SECRET" in response.json()["detail"]


def test_events_about_other_pages_or_of_other_types_change_nothing(
    api: TestClient, admin: Caller
) -> None:
    incident_id = _open(api)
    key = _alertmanager_dedup_key(group_key("APIAvailabilityLow"))
    for body in (
        _pd_event("incident.acknowledged", "someone-elses-page"),
        _pd_event("incident.annotated", key),
        _pd_event("incident.priority_updated", key),
    ):
        response = _post_pd(api, body, _sign(body))
        assert response.status_code == 200, response.text
        assert response.json() == {"incident_id": None, "action": None, "changed": False}
    assert _incident(api, admin, incident_id)["status"] == "open"
