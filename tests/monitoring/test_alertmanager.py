"""Alertmanager routing, inhibition and notifications, checked with amtool and a real
Alertmanager process.

The configuration reads its secrets from /etc/alertmanager/secrets/; the tests run
a copy whose secret paths point at temporary files. For the process tests the
PagerDuty, Slack and incident webhook endpoints are replaced by one local HTTP
receiver that records what it was sent, and the tests assert on those payloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.alertmanager import (
    INCIDENT_WEBHOOK,
    SECRETS,
    SECRETS_DIR,
    Receiver,
    alert_payload,
    alertmanager_config,
    copy_config,
    http_json,
    severity_inhibition,
)
from tests.fixtures.monitoring import ALERTMANAGER_DIR, Tools


# -- static checks ---------------------------------------------------------------------
def test_amtool_check_config(tools: Tools, tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    result = tools.run([tools.amtool, "check-config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "1 templates" in result.stdout


def test_secrets_only_come_from_files() -> None:
    text = (ALERTMANAGER_DIR / "alertmanager.yml").read_text()
    for inline in ("service_key:", "routing_key:", "api_url:", "credentials:", "password:"):
        assert inline not in text, f"{inline} puts a secret in the configuration"
    paths: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    paths.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(alertmanager_config())
    assert paths, "no *_file secrets found"
    assert all(path.startswith(SECRETS_DIR) for path in paths), paths
    assert {Path(path).name for path in paths} == set(SECRETS)


def test_route_tree_matches_the_runbook() -> None:
    route = alertmanager_config()["route"]
    assert route["receiver"] == "web.hook"
    assert route["group_by"] == ["alertname", "cluster", "service"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "10s",
        "10s",
        "1h",
    )
    for child in route["routes"]:
        assert "match" not in child and "match_re" not in child, "use matchers:"
    receivers = {r["name"]: r for r in alertmanager_config()["receivers"]}
    pagerduty = receivers["pagerduty-critical"]["pagerduty_configs"][0]
    assert "routing_key_file" in pagerduty
    slack = receivers["slack-warnings"]["slack_configs"][0]
    assert slack["channel"] == "#alerts" and slack["send_resolved"] is True
    for receiver in receivers.values():
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"] == INCIDENT_WEBHOOK


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical"], "pagerduty-critical"),
        (["severity=warning"], "slack-warnings"),
        (["severity=info"], "web.hook"),
        ([], "web.hook"),
    ],
    ids=["critical", "warning", "info", "no-severity"],
)
def test_amtool_routes(tools: Tools, tmp_path: Path, labels: list[str], receiver: str) -> None:
    config = copy_config(tmp_path)
    result = tools.run(
        [
            tools.amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={receiver}",
            "alertname=HighErrorRate",
            "service=synthdata-api",
            "cluster=local",
            *labels,
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_inhibition_rule_shape() -> None:
    rule = severity_inhibition()
    assert 'severity=~"warning|info"' in rule["target_matchers"]
    assert {"alertname", "service"} <= set(rule["equal"])


def _states(url: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    alerts = http_json("GET", f"{url}/api/v2/alerts")
    return {
        (a["labels"]["alertname"], a["labels"]["severity"], a["labels"]["service"]): a["status"]
        for a in alerts
    }


def test_critical_inhibits_the_warning_of_the_same_alert_and_service(alertmanager: str) -> None:
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [
            alert_payload(
                "CertificateExpiringSoon", "critical", "synthdata-api", certificate="db.pem"
            ),
            alert_payload(
                "CertificateExpiringSoon", "warning", "synthdata-api", certificate="db.pem"
            ),
            # Another service, and another alert of the same service: not inhibited.
            alert_payload(
                "CertificateExpiringSoon", "warning", "synthdata-worker", certificate="w.pem"
            ),
            alert_payload("HighDiskUsage", "warning", "synthdata-api", device="/dev/sda1"),
        ],
    )
    # Alertmanager's inhibitor sees new alerts asynchronously: read until it has.
    deadline = time.monotonic() + 15
    states = _states(alertmanager)
    inhibited = states[("CertificateExpiringSoon", "warning", "synthdata-api")]
    while inhibited["state"] != "suppressed" and time.monotonic() < deadline:
        time.sleep(0.2)
        states = _states(alertmanager)
        inhibited = states[("CertificateExpiringSoon", "warning", "synthdata-api")]
    assert inhibited["state"] == "suppressed"
    assert inhibited["inhibitedBy"]
    for key in [
        ("CertificateExpiringSoon", "critical", "synthdata-api"),
        ("CertificateExpiringSoon", "warning", "synthdata-worker"),
        ("HighDiskUsage", "warning", "synthdata-api"),
    ]:
        assert states[key]["state"] == "active", key
        assert not states[key]["inhibitedBy"], key


@pytest.mark.slow
def test_notifications_reach_pagerduty_slack_and_the_incident_webhook(
    alertmanager: str, receiver: Receiver
) -> None:
    """One alert per severity; waits for the runbook's 10 s group_wait."""
    two_pods = [
        alert_payload("HighMemoryUtilization", "warning", "synthdata-worker", pod=p) for p in "ab"
    ]
    for alert in two_pods:
        alert["annotations"]["description"] = f"memory of pod {alert['labels']['pod']}"
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [
            alert_payload(
                "DatabaseConnectionFailure", "critical", "synthdata-api", instance="db:9187"
            ),
            alert_payload("GenerationQueueBacklog", "warning", "synthdata-worker"),
            alert_payload("InfoNotice", "info", "synthdata-api"),
            *two_pods,
        ],
    )

    def titled(title: str) -> Callable[[dict[str, Any]], bool]:
        return lambda body: body["attachments"][0]["title"] == title

    (page,) = receiver.wait_for(
        "/pagerduty", lambda body: body["payload"]["summary"].startswith("DatabaseConnection")
    )
    body = page["body"]
    assert body["routing_key"] == SECRETS["pagerduty-routing-key"]
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["summary"] == (
        "DatabaseConnectionFailure - DatabaseConnectionFailure summary"
    )
    assert body["links"][0]["href"].endswith("#databaseconnectionfailure")

    (slack,) = receiver.wait_for("/slack", titled("Alert: GenerationQueueBacklog"))
    assert slack["body"]["channel"] == "#alerts"
    assert slack["body"]["attachments"][0]["text"] == "GenerationQueueBacklog warning description"

    # No common description in a group of two pods: each alert's is listed.
    (memory,) = receiver.wait_for("/slack", titled("Alert: HighMemoryUtilization"))
    assert memory["body"]["attachments"][0]["text"] == "- memory of pod a\n- memory of pod b"

    wanted = {"DatabaseConnectionFailure", "GenerationQueueBacklog", "InfoNotice"}
    hooks = [
        receiver.wait_for("/webhook", lambda body, n=name: body["groupLabels"]["alertname"] == n)[0]
        for name in sorted(wanted)
    ]
    names = {hook["body"]["groupLabels"]["alertname"]: hook for hook in hooks}
    assert set(names) == wanted
    for hook in names.values():
        token = SECRETS["incident-webhook-token"]
        assert hook["headers"]["Authorization"] == f"Bearer {token}"
        assert hook["body"]["version"] == "4"
