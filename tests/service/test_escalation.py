"""Escalation of unacknowledged incidents to PagerDuty (SEV-1/2) and Slack (SEV-3/4).

PagerDuty's Events API and Slack's incoming webhook are replaced by a local HTTP
receiver that records each JSON body; everything else (the database on SQLite and
PostgreSQL, the claim, the app's escalation thread) is the real thing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from benchmarks.service_processes import free_port
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.fixtures.pagerduty import Receiver, receiver
from tests.service.alertmanager_payloads import alert, notification

from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.incidents import service
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook
from synthdata.service.incidents.escalation import Escalator, run_escalations
from synthdata.service.incidents.intake import ingest
from synthdata.service.incidents.models import Incident, IncidentEvent
from synthdata.service.incidents.pagerduty import dedup_key

__all__ = ["receiver"]  # the fixture of tests/fixtures/pagerduty.py

ROUTING_KEY = "pd-routing-key-for-tests"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def targets(settings_for: Callable[..., Settings], receiver: Receiver) -> Settings:
    return settings_for(
        pagerduty_events_url=f"{receiver.url}/pagerduty",
        pagerduty_routing_key=ROUTING_KEY,
        slack_webhook_url=f"{receiver.url}/slack",
    )


def _open(
    sessions: sessionmaker[Session],
    name: str,
    severity: str,
    minutes_ago: float = 120,
    route: str = "{}",
) -> str:
    """An incident opened `minutes_ago` (so its clock has run out) from one alert; `route`
    is the route part of the group key (Alertmanager's matchers of the routes taken)."""
    payload = AlertmanagerWebhook.model_validate(
        notification(f"{route}:{{alertname={name!r}}}", alert(name, severity))
    )
    with session_scope(sessions) as session:
        result = ingest(session, payload, now=utcnow() - timedelta(minutes=minutes_ago))
        assert result.incident is not None
        return result.incident.id


def _page_key(sessions: sessionmaker[Session], incident_id: str) -> str:
    """The PagerDuty dedup_key of the incident's page: Alertmanager's, from its group key."""
    return dedup_key(_incident(sessions, incident_id).group_key)


def _timeline(sessions: sessionmaker[Session], incident_id: str) -> list[tuple[str, str]]:
    with session_scope(sessions) as session:
        events = session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id)
        )
        return [(e.kind, e.message) for e in events]


def _incident(sessions: sessionmaker[Session], incident_id: str) -> Incident:
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident


def _escalations(target: str, outcome: str) -> float:
    labels = {"target": target, "outcome": outcome}
    return REGISTRY.get_sample_value("incident_escalations_total", labels) or 0.0


def test_overdue_sev1_pages_pagerduty_once(
    sessions: sessionmaker[Session], targets: Settings, receiver: Receiver
) -> None:
    incident_id = _open(sessions, "DatabaseConnectionFailure", "critical", minutes_ago=20)
    sent_before = _escalations("pagerduty", "sent")
    outcomes = run_escalations(sessions, targets)
    assert [(o.incident_id, o.target, o.outcome) for o in outcomes] == [
        (incident_id, "pagerduty", "sent")
    ]
    (request,) = receiver.requests
    assert request["path"] == "/pagerduty"
    assert request["content_type"] == "application/json"
    event = request["body"]
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == _page_key(sessions, incident_id)  # as Alertmanager keys it
    payload = event["payload"]
    assert payload["severity"] == "critical"
    assert payload["summary"].startswith("[SEV-1] DatabaseConnectionFailure: ")
    assert "5 min overdue" in payload["summary"]  # 20 min old, due after 15
    assert payload["source"] == "synthdata-api"
    details = payload["custom_details"]
    assert details["incident_id"] == incident_id and details["severity"] == "SEV-1"
    assert details["link"] == f"/api/v1/incidents/{incident_id}"
    assert 290 <= details["overdue_seconds"] <= 400
    assert _escalations("pagerduty", "sent") == sent_before + 1
    assert _incident(sessions, incident_id).escalated_at is not None
    assert _timeline(sessions, incident_id)[-1] == ("escalated", "sent to pagerduty")

    # Escalation happens once.
    assert run_escalations(sessions, targets) == []
    assert len(receiver.requests) == 1


def test_a_security_page_escalates_on_the_security_teams_service(
    sessions: sessionmaker[Session], targets: Settings, receiver: Receiver
) -> None:
    """Alertmanager paged the security service (its own routing key): the escalation of
    that incident must update that page, not open one on the platform's service."""
    security = targets.model_copy(update={"pagerduty_security_routing_key": "security-key"})
    route = '{}/{team="security"}/{severity="critical"}'
    security_id = _open(sessions, "BruteForceAttack", "critical", route=route)
    platform_id = _open(sessions, "APIDown", "critical")
    run_escalations(sessions, security)
    keys = {r["body"]["dedup_key"]: r["body"]["routing_key"] for r in receiver.requests}
    assert keys == {
        _page_key(sessions, security_id): "security-key",
        _page_key(sessions, platform_id): ROUTING_KEY,
    }


def test_sev2_also_pages_and_sev3_sev4_post_to_slack(
    sessions: sessionmaker[Session], targets: Settings, receiver: Receiver
) -> None:
    sev2 = _open(sessions, "HighErrorRate", "critical")
    sev3 = _open(sessions, "HighResponseTime", "warning", minutes_ago=300)
    sev4 = _open(sessions, "InfoNotice", "info", minutes_ago=60 * 24 * 4)  # past a weekend
    outcomes = {o.incident_id: (o.target, o.outcome) for o in run_escalations(sessions, targets)}
    assert outcomes == {
        sev2: ("pagerduty", "sent"),
        sev3: ("slack", "sent"),
        sev4: ("slack", "sent"),
    }
    (page,) = receiver.bodies("/pagerduty")
    assert page["dedup_key"] == _page_key(sessions, sev2)
    assert page["payload"]["severity"] == "critical"
    assert page["payload"]["summary"].startswith("[SEV-2] HighErrorRate")
    messages = {m["attachments"][0]["fields"][2]["value"]: m for m in receiver.bodies("/slack")}
    assert set(messages) == {sev3, sev4}
    slack = messages[sev3]
    assert slack["text"].startswith("SEV-3 incident not acknowledged (60 min overdue)")
    attachment = slack["attachments"][0]
    assert attachment["title"] == "HighResponseTime: HighResponseTime summary"
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Severity"] == "SEV-3" and fields["Overdue"] == "60 min overdue"
    assert fields["Details"] == f"/api/v1/incidents/{sev3}"
    assert messages[sev4]["attachments"][0]["fields"][0]["value"] == "SEV-4"


def test_not_due_acknowledged_or_resolved_incidents_do_not_escalate(
    sessions: sessionmaker[Session], targets: Settings, receiver: Receiver
) -> None:
    fresh = _open(sessions, "APIDown", "critical", minutes_ago=1)
    acked = _open(sessions, "DatabaseConnectionFailure", "critical")
    closed = _open(sessions, "HighErrorRate", "critical")
    with session_scope(sessions) as session:
        service.acknowledge(session, service.get_incident(session, acked), actor="tester")
        service.resolve(session, service.get_incident(session, closed), actor="tester")
    assert run_escalations(sessions, targets) == []
    assert receiver.requests == []
    # ... until the fresh one's 15 minutes are up.
    later = utcnow() + timedelta(minutes=15)
    assert [o.incident_id for o in run_escalations(sessions, targets, now=later)] == [fresh]


def test_unconfigured_target_is_skipped_once_and_recorded(
    sessions: sessionmaker[Session], settings_for: Callable[..., Settings], receiver: Receiver
) -> None:
    settings = settings_for(
        pagerduty_events_url=f"{receiver.url}/pagerduty",
        pagerduty_routing_key="",
        slack_webhook_url="",
    )
    page = _open(sessions, "APIDown", "critical")
    post = _open(sessions, "HighResponseTime", "warning", minutes_ago=300)
    skipped_before = _escalations("pagerduty", "skipped")
    outcomes = {o.incident_id: o.outcome for o in run_escalations(sessions, settings)}
    assert outcomes == {page: "skipped", post: "skipped"}
    assert receiver.requests == []
    assert _escalations("pagerduty", "skipped") == skipped_before + 1
    assert _timeline(sessions, page)[-1] == (
        "escalation_skipped",
        "escalation_skipped: not configured (pagerduty)",
    )
    assert _timeline(sessions, post)[-1][1] == "escalation_skipped: not configured (slack)"
    # Not repeated on every pass.
    assert run_escalations(sessions, settings) == []
    assert [k for k, _ in _timeline(sessions, page)].count("escalation_skipped") == 1


def test_failed_delivery_is_recorded_and_retried(
    sessions: sessionmaker[Session], targets: Settings, receiver: Receiver
) -> None:
    incident_id = _open(sessions, "APIDown", "critical")
    receiver.status = 500
    failed_before = _escalations("pagerduty", "failed")
    (failed,) = run_escalations(sessions, targets)
    assert failed.outcome == "failed" and failed.detail.startswith("HTTP 500")
    assert _incident(sessions, incident_id).escalated_at is None  # released for a retry
    kind, message = _timeline(sessions, incident_id)[-1]
    assert kind == "escalation_failed" and message.startswith("pagerduty: HTTP 500")
    assert _escalations("pagerduty", "failed") == failed_before + 1

    receiver.status = 202
    (sent,) = run_escalations(sessions, targets)
    assert sent.outcome == "sent"
    bodies = receiver.bodies("/pagerduty")
    assert [b["dedup_key"] for b in bodies] == [_page_key(sessions, incident_id)] * 2
    assert run_escalations(sessions, targets) == []


def test_unreachable_target_is_a_failed_delivery(
    sessions: sessionmaker[Session], settings_for: Callable[..., Settings]
) -> None:
    closed_port = free_port()
    settings = settings_for(slack_webhook_url=f"http://127.0.0.1:{closed_port}/hook")
    incident_id = _open(sessions, "HighResponseTime", "warning", minutes_ago=300)
    (outcome,) = run_escalations(sessions, settings)
    assert (outcome.target, outcome.outcome) == ("slack", "failed")
    assert "ConnectError" in outcome.detail
    assert _timeline(sessions, incident_id)[-1][0] == "escalation_failed"


def test_concurrent_passes_page_each_incident_once(
    database_url: str, targets: Settings, receiver: Receiver, sessions: sessionmaker[Session]
) -> None:
    incident_ids = {_open(sessions, f"Outage{n}", "critical") for n in range(6)}
    # Each pass with its own engine, as two API replicas would have.
    engines = [make_engine(database_url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def replica(factory: sessionmaker[Session]) -> None:
        try:
            barrier.wait()
            results.append([o.incident_id for o in run_escalations(factory, targets)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(make_session_factory(e),)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    sent = [incident_id for result in results for incident_id in result]
    assert sorted(sent) == sorted(incident_ids)  # each exactly once, whoever sent it
    dedup_keys = [body["dedup_key"] for body in receiver.bodies("/pagerduty")]
    assert sorted(dedup_keys) == sorted(_page_key(sessions, i) for i in incident_ids)


def test_the_api_process_escalates_periodically(
    sessions: sessionmaker[Session], targets: Settings, receiver: Receiver
) -> None:
    settings = targets.model_copy(update={"escalation_check_seconds": 0.2})
    incident_id = _open(sessions, "APIDown", "critical")
    with TestClient(create_app(settings, workers=0)):
        (page,) = receiver.wait("/pagerduty")
    assert page["dedup_key"] == _page_key(sessions, incident_id)
    assert _incident(sessions, incident_id).escalated_at is not None


def test_escalator_stops_promptly_and_survives_a_broken_database(
    targets: Settings, receiver: Receiver, tmp_path: Any
) -> None:
    # A database without the schema: every pass fails, the loop goes on.
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    escalator = Escalator(broken, targets.model_copy(update={"escalation_check_seconds": 0.05}))
    escalator.start()
    time.sleep(0.3)
    thread = escalator._thread
    assert thread is not None and thread.is_alive()
    escalator.stop()
    assert not thread.is_alive()
    assert receiver.requests == []
