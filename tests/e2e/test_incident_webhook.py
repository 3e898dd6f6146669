"""Incidents end to end: a real Alertmanager notifies a real `synthdata serve`.

Alertmanager runs the SHIPPED routing (monitoring/alertmanager/alertmanager.yml), whose
receivers send the incident webhook token from a credentials file; only its webhook
URL points at the test's API and PagerDuty/Slack at a local recorder. Alerts are
posted to Alertmanager's own API (`/api/v2/alerts`), as Prometheus would; group_wait
and group_interval are 1 s in the test's copy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from benchmarks.alert_latency import TimedReceiver, start_receiver
from benchmarks.service_processes import cli, free_port

from tests.e2e.conftest import Proc, promtool_check_metrics, service_env, wait_http
from tests.monitoring.conftest import Tools, tools  # noqa: F401  (the fixture)
from tests.monitoring.test_alertmanager import (
    INCIDENT_WEBHOOK,
    SECRETS,
    _copy_config,
    receiver_secrets,
)

pytestmark = pytest.mark.slow

TOKEN = SECRETS["incident-webhook-token"]


@pytest.fixture
def stand_ins() -> Iterator[TimedReceiver]:
    """PagerDuty and Slack, replaced by a local recorder."""
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def _start_alertmanager(
    home: Path,
    api_url: str,
    receiver: TimedReceiver,
    processes: Callable[..., Proc],
    binaries: Tools,
) -> Proc:
    secrets = receiver_secrets(receiver.url)
    config_path = _copy_config(home, secrets)
    text = config_path.read_text()
    assert INCIDENT_WEBHOOK in text
    config = yaml.safe_load(text.replace(INCIDENT_WEBHOOK, f"{api_url}/api/v1/alerts/webhook"))
    config["global"]["pagerduty_url"] = f"{receiver.url}/pagerduty"
    config["route"].update(group_wait="1s", group_interval="1s")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    proc = processes(
        "alertmanager",
        [
            binaries.alertmanager,
            f"--config.file={config_path}",
            f"--storage.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        dict(os.environ),
        url=f"http://127.0.0.1:{port}",
    )
    wait_http(proc, "/-/ready", timeout=60)
    return proc


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
    alertmanager = _start_alertmanager(
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
