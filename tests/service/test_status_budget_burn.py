"""The status page's banner after a 5xx episode: an error-budget burn alert measures hours
of history and keeps firing long after recovery, so it shows as degraded, never as a
major outage; an outage alert (APIAvailabilityLow) still shows as one.

Incidents arrive through the real webhook, as Alertmanager sends them (SQLite and
PostgreSQL through the `settings_for` fixture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.service.alertmanager_payloads import alert, notification

from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

TOKEN = "webhook-token-for-status-tests"
GROUP = '{}:{alertname="APIAvailabilityLow"}'


@pytest.fixture
def api(settings_for: Callable[..., Settings]) -> Iterator[TestClient]:
    settings = settings_for(alert_webhook_token=TOKEN, escalation_check_seconds=3600)
    with TestClient(create_app(settings, workers=0)) as client:
        yield client


def _hook(api: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        "/api/v1/alerts/webhook", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _banner(api: TestClient) -> tuple[str, list[str]]:
    body = api.get("/status.json").json()
    return body["status"], [incident["severity"] for incident in body["open_incidents"]]


def test_a_budget_burn_alert_alone_is_degraded_not_an_outage(api: TestClient) -> None:
    opened = _hook(api, notification("burn", alert("APIErrorBudgetBurn", "critical")))
    assert opened["severity"] == "SEV-1"  # the pager's record is unchanged
    assert _banner(api) == ("degraded", ["SEV-1"])


def test_after_recovery_the_lingering_burn_alert_no_longer_reads_as_an_outage(
    api: TestClient,
) -> None:
    down = alert("APIAvailabilityLow", "critical")
    burn = alert("APIErrorBudgetBurn", "critical")
    _hook(api, notification(GROUP, down, burn))
    assert _banner(api) == ("major_outage", ["SEV-1"])  # a real outage is still one

    recovered = alert("APIAvailabilityLow", "critical", status="resolved")
    _hook(api, notification(GROUP, recovered, burn))
    # The burn's 30 min window keeps it firing: the incident stays open and SEV-1 on
    # record, but users meet a working service with some errors, not an outage.
    assert _banner(api) == ("degraded", ["SEV-1"])

    _hook(
        api,
        notification(GROUP, recovered, alert("APIErrorBudgetBurn", "critical", status="resolved")),
    )
    assert _banner(api) == ("operational", [])
