"""Incidents end to end: a real Alertmanager notifies a real `synthdata serve`.

Alertmanager runs the SHIPPED routing (monitoring/alertmanager/alertmanager.yml), whose
receivers send the incident webhook token from a credentials file; only its webhook
URL points at the test's API and PagerDuty/Slack at a local recorder. Alerts are
posted to Alertmanager's own API (`/api/v2/alerts`), as Prometheus would; group_wait
and group_interval are 1 s in the test's copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.alert_latency import TimedReceiver
from benchmarks.service_processes import cli

from tests.fixtures.incident_webhook import TOKEN, start_alertmanager
from tests.fixtures.monitoring import Tools, tools  # noqa: F401  (the fixture)
from tests.fixtures.processes import Proc, promtool_check_metrics, service_env

pytestmark = pytest.mark.slow


def _post_alert(alertmanager: Proc, labels: dict[str, str], ends_at: datetime) -> None:
    started = datetime.now(UTC) - timedelta(minutes=2)
    body = [
        {
            "labels": labels,
            "annotations": {"summary": f"{labels['alertname']} summary for the test"},
            "startsAt": started.isoformat(),
            "endsAt": ends_at.isoformat(),
        }
    ]
    response = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=body, timeout=10)
    assert response.status_code == 200, response.text


def _wait_incident(
    api: Proc, key: str, match: Callable[[dict[str, Any]], bool], timeout: float = 90.0
) -> dict[str, Any]:
    """Poll the incident list until one incident matches; return its full document."""
    headers = {"X-API-Key": key}
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = httpx.get(f"{api.url}/api/v1/incidents", headers=headers, timeout=10).json()["items"]
        for item in seen:
            if match(item):
                detail: dict[str, Any] = httpx.get(
                    f"{api.url}/api/v1/incidents/{item['id']}", headers=headers, timeout=10
                ).json()
                return detail
        time.sleep(0.5)
    raise AssertionError(f"no matching incident after {timeout:.0f} s: {seen}\n{api.tail()}")


def test_alertmanager_opens_and_resolves_incidents(
    tmp_path: Path,
    tools: Tools,  # noqa: F811
    processes: Callable[..., Proc],
    serve: Callable[..., Proc],
    stand_ins: TimedReceiver,
) -> None:
    env = service_env(tmp_path / "api", SYNTHDATA_ALERT_WEBHOOK_TOKEN=TOKEN)
    admin_key = cli(env, "admin", "create-key", "--role", "admin", "--name", "on-call")
    api = serve(env, 1, "--job-threads", "0")
    alertmanager = start_alertmanager(
        tmp_path / "alertmanager", api.url, stand_ins, processes, tools
    )

    database = {
        "alertname": "DatabaseConnectionFailure",
        "severity": "critical",
        "service": "synthdata-api",
        "instance": "postgres-exporter:9187",
    }
    slow = {"alertname": "HighResponseTime", "severity": "warning", "service": "synthdata-api"}
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    _post_alert(alertmanager, database, in_an_hour)
    _post_alert(alertmanager, slow, in_an_hour)

    outage = _wait_incident(
        api, admin_key, lambda i: i["title"].startswith("DatabaseConnectionFailure")
    )
    assert outage["severity"] == "SEV-1" and outage["status"] == "open"
    assert (
        outage["title"]
        == "DatabaseConnectionFailure: DatabaseConnectionFailure summary for the test"
    )
    assert outage["service"] == "synthdata-api"
    assert len(outage["checklist"]) == 7
    (firing,) = outage["alerts"]
    assert firing["status"] == "firing" and firing["labels"] == database
    assert len(firing["fingerprint"]) == 16  # Alertmanager's own fingerprint
    assert 'alertname="DatabaseConnectionFailure"' in outage["group_key"]
    warning = _wait_incident(api, admin_key, lambda i: i["title"].startswith("HighResponseTime"))
    assert warning["severity"] == "SEV-3" and warning["id"] != outage["id"]
    # Alertmanager also paged (the shipped routing), which the service did not do itself.
    stand_ins.wait_for("/pagerduty", lambda body: body["event_action"] == "trigger")

    # The alert ends: Alertmanager sends the resolved notification, the incident closes.
    _post_alert(alertmanager, database, datetime.now(UTC) - timedelta(seconds=1))
    closed = _wait_incident(
        api, admin_key, lambda i: i["id"] == outage["id"] and i["status"] == "resolved"
    )
    assert closed["resolved_by"] == "alertmanager"
    assert closed["alerts"][0]["status"] == "resolved"
    assert [line["kind"] for line in closed["timeline"]] == [
        "opened",
        "alert_firing",
        "alert_resolved",
        "resolved",
    ]
    still_open = httpx.get(
        f"{api.url}/api/v1/incidents/{warning['id']}",
        headers={"X-API-Key": admin_key},
        timeout=10,
    ).json()
    assert still_open["status"] == "open"

    exposition = httpx.get(f"{api.url}/metrics", timeout=10).text
    assert 'incidents_open{severity="SEV-1"} 0.0' in exposition
    assert 'incidents_open{severity="SEV-3"} 1.0' in exposition
    assert promtool_check_metrics(f"{api.url}/metrics") == ""
