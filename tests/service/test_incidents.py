"""Incidents: the SEV policy, Alertmanager's webhook and the admin API (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from tests.fixtures.service import Caller
from tests.service.alertmanager_payloads import alert, group_key, notification

from synthdata.observability import metrics
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from synthdata.service.incidents import policy
from synthdata.service.incidents.models import Severity

TOKEN = "webhook-token-for-tests"
WEBHOOK = "/api/v1/alerts/webhook"
RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"


# -- the policy (pure) --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"alertname": "APIAvailabilityLow", "severity": "critical"}, Severity.SEV1),
        ({"alertname": "APIDown", "severity": "critical"}, Severity.SEV1),
        ({"alertname": "DatabaseConnectionFailure", "severity": "critical"}, Severity.SEV1),
        ({"alertname": "APIErrorBudgetBurn", "severity": "critical"}, Severity.SEV1),
        ({"alertname": "APIErrorBudgetBurn", "severity": "warning"}, Severity.SEV3),
        ({"alertname": "HighErrorRate", "severity": "critical"}, Severity.SEV2),
        ({"alertname": "RedisConnectionFailure", "severity": "CRITICAL"}, Severity.SEV2),
        ({"alertname": "HighResponseTime", "severity": "warning"}, Severity.SEV3),
        ({"alertname": "InfoNotice", "severity": "info"}, Severity.SEV4),
        ({"alertname": "NoSeverity"}, Severity.SEV4),
    ],
)
def test_alert_severity(labels: dict[str, str], expected: Severity) -> None:
    assert policy.alert_severity(labels) == expected


def test_every_sev1_alert_is_a_critical_rule_of_the_shipped_rules() -> None:
    severities: dict[str, set[str]] = {}
    for path in RULES.glob("*.yml"):
        if path.stem.endswith("_tests"):
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    severities.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    for name in policy.SEV1_ALERTS:
        assert "critical" in severities.get(name, set()), f"{name} is not a critical rule"


def test_worst_and_is_worse() -> None:
    assert policy.worst(["SEV-3", Severity.SEV1, "SEV-4"]) == Severity.SEV1
    assert policy.worst([]) == Severity.SEV4
    assert policy.is_worse("SEV-2", "SEV-3") and not policy.is_worse("SEV-3", "SEV-3")


@pytest.mark.parametrize(
    ("severity", "opened", "due"),
    [
        ("SEV-1", "2026-03-04T10:00:00", "2026-03-04T10:15:00"),
        ("SEV-2", "2026-03-04T23:30:00", "2026-03-05T00:30:00"),
        ("SEV-3", "2026-03-04T22:00:00", "2026-03-05T02:00:00"),
        ("SEV-4", "2026-03-02T03:00:00", "2026-03-03T09:00:00"),  # Monday -> Tuesday
        ("SEV-4", "2026-03-05T18:00:00", "2026-03-06T09:00:00"),  # Thursday -> Friday
        ("SEV-4", "2026-03-06T08:00:00", "2026-03-09T09:00:00"),  # Friday -> Monday
        ("SEV-4", "2026-03-06T23:59:00", "2026-03-09T09:00:00"),  # Friday night -> Monday
        ("SEV-4", "2026-03-07T12:00:00", "2026-03-09T09:00:00"),  # Saturday -> Monday
        ("SEV-4", "2026-03-08T23:00:00", "2026-03-09T09:00:00"),  # Sunday -> Monday
    ],
)
def test_response_clock(severity: str, opened: str, due: str) -> None:
    opened_at = datetime.fromisoformat(opened).replace(tzinfo=UTC)
    assert policy.ack_due_at(severity, opened_at) == datetime.fromisoformat(due).replace(tzinfo=UTC)


def test_response_clock_reads_other_time_zones_as_utc_instants() -> None:
    # Friday 23:30 in UTC-05:00 is Saturday 04:30 UTC: the next weekday is Monday.
    opened = datetime.fromisoformat("2026-03-06T23:30:00-05:00")
    assert policy.ack_due_at("SEV-4", opened) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_only_sev1_gets_the_runbook_checklist() -> None:
    checklist = policy.new_checklist("SEV-1")
    assert checklist[0]["item"] == "Acknowledge alert within 15 minutes"
    assert len(checklist) == 7 and checklist[-1]["item"] == "Document actions taken"
    assert all(step == {**step, "done": False, "done_at": None} for step in checklist)
    assert policy.new_checklist("SEV-2") == []


# -- the webhook ----------------------------------------------------------------------------
@pytest.fixture
def app_for(settings_for: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        values = {"alert_webhook_token": TOKEN, "escalation_check_seconds": 3600, **overrides}
        client = TestClient(create_app(settings_for(**values), workers=0))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(app_for: Callable[..., TestClient]) -> TestClient:
    return app_for()


def _hook(api: TestClient, body: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
    response = api.post(WEBHOOK, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _get(api: TestClient, admin: Caller, incident_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/incidents/{incident_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _kinds(incident: dict[str, Any]) -> list[str]:
    return [line["kind"] for line in incident["timeline"]]


def test_webhook_refused_while_no_token_is_configured(
    app_for: Callable[..., TestClient],
) -> None:
    api = app_for(alert_webhook_token="")
    body = notification(group_key("APIDown"), alert("APIDown", "critical"))
    response = api.post(WEBHOOK, json=body, headers={"Authorization": "Bearer anything"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:synthdata:problem:not-configured"
    assert "not configured" in response.json()["detail"]


def test_webhook_needs_its_token_not_an_api_key(api: TestClient, admin: Caller) -> None:
    body = notification(group_key("APIDown"), alert("APIDown", "critical"))
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {admin.secret}"},
        admin.headers,
    ):
        response = api.post(WEBHOOK, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["type"] == "urn:synthdata:problem:unauthenticated"
    listing = api.get("/api/v1/incidents", headers=admin.headers).json()
    assert listing["items"] == []


@pytest.mark.parametrize(
    "change",
    [
        {"version": "3"},
        {"groupKey": ""},
        {"alerts": []},
        {"status": "pending"},
        {"alerts": [{"status": "firing", "labels": {"alertname": "X"}}]},  # no fingerprint
        {"alerts": "not a list"},
    ],
    ids=["version", "group-key", "no-alerts", "status", "fingerprint", "alerts-type"],
)
def test_malformed_payload_is_a_422_problem(api: TestClient, change: dict[str, Any]) -> None:
    body = {**notification(group_key("APIDown"), alert("APIDown", "critical")), **change}
    response = api.post(WEBHOOK, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:synthdata:problem:validation-error"


def test_a_group_is_one_incident_and_repeats_change_nothing(api: TestClient, admin: Caller) -> None:
    key = group_key("APIAvailabilityLow")
    down_a = alert("APIAvailabilityLow", "critical", instance="api-0", summary="below 99%")
    first = _hook(api, notification(key, down_a))
    assert first["severity"] == "SEV-1" and first["status"] == "open"
    assert first["changes"] == 2  # opened + alert firing
    incident = _get(api, admin, first["incident_id"])
    assert incident["title"] == "APIAvailabilityLow: below 99%"
    assert incident["service"] == "synthdata-api"
    opened = datetime.fromisoformat(incident["opened_at"])
    assert datetime.fromisoformat(incident["ack_due_at"]) - opened == timedelta(minutes=15)
    assert len(incident["checklist"]) == 7
    assert not any(step["done"] for step in incident["checklist"])
    assert _kinds(incident) == ["opened", "alert_firing"]

    # Alertmanager re-sends every repeat_interval: nothing new.
    for _ in range(3):
        again = _hook(api, notification(key, down_a))
        assert again == {**first, "changes": 0}
    assert _kinds(_get(api, admin, first["incident_id"])) == ["opened", "alert_firing"]

    # A second alert joins the group; then the first resolves while the second fires.
    down_b = alert("APIAvailabilityLow", "critical", instance="api-1", summary="below 99%")
    assert _hook(api, notification(key, down_a, down_b))["changes"] == 1
    resolved_a = {**down_a, "status": "resolved"}
    partly = _hook(api, notification(key, resolved_a, down_b))
    assert partly["changes"] == 1 and partly["status"] == "open"
    assert _hook(api, notification(key, resolved_a, down_b))["changes"] == 0

    # The whole group resolves: so does the incident, by alertmanager.
    resolved_b = {**down_b, "status": "resolved"}
    done = _hook(api, notification(key, resolved_a, resolved_b))
    assert done["status"] == "resolved" and done["changes"] == 2
    incident = _get(api, admin, first["incident_id"])
    assert incident["resolved_by"] == "alertmanager" and incident["resolved_at"]
    assert _kinds(incident) == [
        "opened",
        "alert_firing",
        "alert_firing",
        "alert_resolved",
        "alert_resolved",
        "resolved",
    ]
    assert sorted(a["status"] for a in incident["alerts"]) == ["resolved", "resolved"]
    assert len(incident["alerts"]) == 2

    # The resolved notification repeated: no new incident.
    assert _hook(api, notification(key, resolved_a, resolved_b)) == {
        "incident_id": None,
        "status": None,
        "severity": None,
        "changes": 0,
    }
    # The group firing again later is a new incident (a new episode has a new start).
    refired = _hook(api, notification(key, {**down_a, "startsAt": datetime.now(UTC).isoformat()}))
    assert refired["incident_id"] != first["incident_id"] and refired["status"] == "open"
    listing = api.get("/api/v1/incidents", headers=admin.headers).json()
    assert [i["id"] for i in listing["items"]] == [refired["incident_id"], first["incident_id"]]


def test_severity_rises_with_a_worse_alert_and_never_falls(api: TestClient, admin: Caller) -> None:
    key = '{}:{service="synthdata-api"}'
    slow = alert("HighResponseTime", "warning")
    opened = _hook(api, notification(key, slow))
    assert opened["severity"] == "SEV-3"
    incident = _get(api, admin, opened["incident_id"])
    due_sev3 = datetime.fromisoformat(incident["ack_due_at"])
    assert due_sev3 - datetime.fromisoformat(incident["opened_at"]) == timedelta(hours=4)
    assert incident["checklist"] == []

    errors = alert("HighErrorRate", "critical")
    assert _hook(api, notification(key, slow, errors))["severity"] == "SEV-2"
    incident = _get(api, admin, opened["incident_id"])
    assert datetime.fromisoformat(incident["ack_due_at"]) < due_sev3  # the tighter clock
    changed = [line for line in incident["timeline"] if line["kind"] == "severity_changed"]
    assert [line["detail"] for line in changed] == [{"from": "SEV-3", "to": "SEV-2"}]

    database = alert("DatabaseConnectionFailure", "critical")
    assert _hook(api, notification(key, slow, errors, database))["severity"] == "SEV-1"
    incident = _get(api, admin, opened["incident_id"])
    assert len(incident["checklist"]) == 7  # attached when it became a SEV-1

    # The outage alerts resolve while the warning still fires: it stays a SEV-1, open.
    calmer = notification(
        key, slow, {**errors, "status": "resolved"}, {**database, "status": "resolved"}
    )
    after = _hook(api, calmer)
    assert after["severity"] == "SEV-1" and after["status"] == "open"
    # A warning alert of another group is its own SEV-3 incident.
    other = _hook(api, notification('{}:{alertname="HighCPU"}', alert("HighCPU", "warning")))
    assert other["incident_id"] != opened["incident_id"] and other["severity"] == "SEV-3"


def test_info_alert_is_sev4_due_next_business_day(api: TestClient, admin: Caller) -> None:
    result = _hook(api, notification('{}:{alertname="InfoNotice"}', alert("InfoNotice", "info")))
    incident = _get(api, admin, result["incident_id"])
    assert incident["severity"] == "SEV-4"
    opened = datetime.fromisoformat(incident["opened_at"])
    assert datetime.fromisoformat(incident["ack_due_at"]) == policy.ack_due_at("SEV-4", opened)


# -- the admin API ----------------------------------------------------------------------------
def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_ack_note_tick_resolve_with_timeline_audit_and_metrics(
    api: TestClient, admin: Caller
) -> None:
    created = _hook(api, notification(group_key("APIDown"), alert("APIDown", "critical")))
    incident_id = created["incident_id"]
    url = f"/api/v1/incidents/{incident_id}"
    acks_before = _sample("incident_time_to_ack_seconds_count", {"severity": "SEV-1"})
    notes_before = _sample("privileged_operations_total", {"operation": "incident.note"})

    acked = api.post(f"{url}/ack", headers=admin.headers)
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == f"key:{admin.key_id}" and body["acknowledged_at"]
    assert (
        body["checklist"][0]["done"] and body["checklist"][0]["done_by"] == body["acknowledged_by"]
    )
    assert _sample("incident_time_to_ack_seconds_count", {"severity": "SEV-1"}) == acks_before + 1
    # Acknowledging again changes nothing (and is not counted again).
    assert api.post(f"{url}/ack", headers=admin.headers).json() == body
    assert _sample("incident_time_to_ack_seconds_count", {"severity": "SEV-1"}) == acks_before + 1

    noted = api.post(f"{url}/notes", json={"message": "failing over"}, headers=admin.headers)
    assert noted.status_code == 201, noted.text
    note = noted.json()["timeline"][-1]
    assert (note["kind"], note["message"], note["actor"]) == (
        "note",
        "failing over",
        f"key:{admin.key_id}",
    )
    # Audited, but on-call work is not a privileged operation (no PrivilegedOperationsSpike).
    assert _sample("privileged_operations_total", {"operation": "incident.note"}) == notes_before
    assert api.post(f"{url}/notes", json={"message": ""}, headers=admin.headers).status_code == 422
    assert api.post(f"{url}/notes", json={"text": "x"}, headers=admin.headers).status_code == 422

    ticked = api.post(f"{url}/checklist/3", headers=admin.headers)
    assert ticked.status_code == 200, ticked.text
    step = ticked.json()["checklist"][2]
    assert step["item"] == "Start incident bridge call" and step["done"] and step["done_at"]
    assert ticked.json()["timeline"][-1]["message"] == "3. Start incident bridge call"
    assert api.post(f"{url}/checklist/3", headers=admin.headers).json() == ticked.json()
    missing = api.post(f"{url}/checklist/8", headers=admin.headers)
    assert missing.status_code == 404 and "1..7" in missing.json()["detail"]
    assert api.post(f"{url}/checklist/0", headers=admin.headers).status_code == 422

    resolved = api.post(f"{url}/resolve", headers=admin.headers)
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_by"] == f"key:{admin.key_id}"
    assert api.post(f"{url}/resolve", headers=admin.headers).json() == resolved.json()
    late_ack = api.post(f"{url}/ack", headers=admin.headers)
    assert late_ack.status_code == 409 and late_ack.json()["type"].endswith(":conflict")
    # Notes are still taken after resolution (the write-up).
    late_note = api.post(f"{url}/notes", json={"message": "cause: disk"}, headers=admin.headers)
    assert late_note.status_code == 201

    final = _get(api, admin, incident_id)
    assert _kinds(final) == [
        "opened",
        "alert_firing",
        "acknowledged",
        "note",
        "checklist_ticked",
        "resolved",
        "note",
    ]
    audit = api.get("/api/v1/admin/audit", headers=admin.headers).json()
    mine = [(e["action"], e["target"], e["actor"]) for e in audit if e["target"] == incident_id]
    assert sorted(mine) == sorted(
        [
            ("incident.acknowledge", incident_id, f"key:{admin.key_id}"),
            ("incident.note", incident_id, f"key:{admin.key_id}"),
            ("incident.checklist_tick", incident_id, f"key:{admin.key_id}"),
            ("incident.resolve", incident_id, f"key:{admin.key_id}"),
            ("incident.note", incident_id, f"key:{admin.key_id}"),
        ]
    )


def test_checklist_of_a_non_sev1_incident_has_no_steps(api: TestClient, admin: Caller) -> None:
    created = _hook(api, notification('{}:{a="b"}', alert("HighErrorRate", "critical")))
    response = api.post(
        f"/api/v1/incidents/{created['incident_id']}/checklist/1", headers=admin.headers
    )
    assert response.status_code == 404 and "only SEV-1" in response.json()["detail"]


def test_incidents_are_for_admins_only(api: TestClient, admin: Caller, alice: Caller) -> None:
    created = _hook(api, notification(group_key("APIDown"), alert("APIDown", "critical")))
    url = f"/api/v1/incidents/{created['incident_id']}"
    for method, path in (
        ("GET", "/api/v1/incidents"),
        ("GET", url),
        ("POST", f"{url}/ack"),
        ("POST", f"{url}/resolve"),
        ("POST", f"{url}/checklist/1"),
    ):
        assert api.request(method, path, headers=alice.headers).status_code == 403
        assert api.request(method, path).status_code == 401
    assert api.post(f"{url}/notes", json={"message": "x"}, headers=alice.headers).status_code == 403
    assert api.get("/api/v1/incidents/inc_missing", headers=admin.headers).status_code == 404
    assert _get(api, admin, created["incident_id"])["status"] == "open"


def test_list_filters_and_pages(api: TestClient, admin: Caller) -> None:
    ids = {}
    for name, severity in (
        ("APIDown", "critical"),
        ("HighErrorRate", "critical"),
        ("HighResponseTime", "warning"),
        ("InfoNotice", "info"),
    ):
        ids[name] = _hook(api, notification(f"{{}}:{name}", alert(name, severity)))["incident_id"]
    api.post(f"/api/v1/incidents/{ids['HighErrorRate']}/ack", headers=admin.headers)

    def listed(**params: Any) -> list[str]:
        response = api.get("/api/v1/incidents", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed() == [
        ids[n] for n in ("InfoNotice", "HighResponseTime", "HighErrorRate", "APIDown")
    ]
    assert listed(status="acknowledged") == [ids["HighErrorRate"]]
    assert listed(status="open", severity="SEV-1") == [ids["APIDown"]]
    assert listed(severity="SEV-3") == [ids["HighResponseTime"]]
    assert (
        api.get(
            "/api/v1/incidents", params={"severity": "SEV-9"}, headers=admin.headers
        ).status_code
        == 422
    )
    page = api.get("/api/v1/incidents", params={"limit": 3}, headers=admin.headers).json()
    assert len(page["items"]) == 3 and page["next_cursor"] == page["items"][-1]["id"]
    rest = listed(limit=3, cursor=page["next_cursor"])
    assert rest == [ids["APIDown"]]


def test_open_incidents_gauge_is_read_at_scrape_time(
    settings_for: Callable[..., Settings], admin: Caller
) -> None:
    settings = settings_for(
        alert_webhook_token=TOKEN,
        escalation_check_seconds=3600,
        metrics_token=TOKEN,  # the test client is no loopback peer
        metrics_cache_seconds=0,  # each scrape renders again
    )
    scrape = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with TestClient(create_app(settings, workers=0, hooks=[observe.install])) as api:
            before = api.get("/metrics", headers=scrape).text
            for severity in ("SEV-1", "SEV-2", "SEV-3", "SEV-4"):
                assert f'incidents_open{{severity="{severity}"}} 0.0' in before
            _hook(api, notification("{}:a", alert("APIDown", "critical")))
            _hook(api, notification("{}:b", alert("HighCPU", "warning")))
            resolved = _hook(api, notification("{}:c", alert("HighDisk", "warning")))
            api.post(f"/api/v1/incidents/{resolved['incident_id']}/resolve", headers=admin.headers)
            exposition = api.get("/metrics", headers=scrape)
            text = exposition.text
            assert 'incidents_open{severity="SEV-1"} 1.0' in text
            assert 'incidents_open{severity="SEV-3"} 1.0' in text
            assert 'incidents_open{severity="SEV-2"} 0.0' in text
            assert "# TYPE incident_time_to_ack_seconds histogram" in text
            assert 'incident_escalations_total{outcome="skipped",target="slack"}' in text
            promtool = shutil.which("promtool")
            assert promtool, "promtool comes with the Debian package prometheus"
            checked = subprocess.run(
                [promtool, "check", "metrics"],
                input=exposition.content,
                capture_output=True,
                check=False,
            )
            assert checked.returncode == 0 and not checked.stdout.strip(), checked
    finally:
        metrics.scrape_time.incidents_open = None


# -- fuzzing the incident operations -------------------------------------------------------------
@pytest.mark.slow
def test_incident_operations_never_answer_5xx(
    settings_for: Callable[..., Settings], admin: Caller
) -> None:
    """Schemathesis requests, valid and invalid, with both credentials (the webhook's token
    and an admin key): every answer is below 500 and every error a problem document."""
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    # The PagerDuty webhook is configured too (unconfigured, it answers 503 by design).
    settings = settings_for(alert_webhook_token=TOKEN, pagerduty_webhook_secret="pd-secret")
    app = create_app(settings, workers=0)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith(("/api/v1/incidents", "/api/v1/alerts"))
    ]
    assert len(operations) == 8
    headers = {"X-API-Key": admin.secret, "Authorization": f"Bearer {TOKEN}"}
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=25,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                statuses.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
                where = f"{case.method} {case.formatted_path} -> {response.status_code}"
                assert response.status_code < 500, f"{where}: {response.text[:300]}"
                if response.status_code >= 400:
                    kind = response.json().get("type", "")
                    assert kind.startswith("urn:synthdata:problem:"), where

            try:
                run()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label
    # Generated notifications really were taken in, and bad ones refused.
    assert {200, 422} <= statuses["POST /api/v1/alerts/webhook"], statuses
