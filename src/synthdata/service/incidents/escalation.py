"""Escalating incidents nobody acknowledged in time (runbook "Response Times").

An open incident whose `ack_due_at` has passed escalates once: SEV-1/SEV-2 page
through the PagerDuty Events API v2, SEV-3/SEV-4 post to a Slack incoming webhook.
The page uses Alertmanager's dedup_key for the incident's alert group (see
`pagerduty`): when Alertmanager already paged, it updates that PagerDuty alert
(whose escalation policy re-notifies) instead of opening a second one.

Every API replica runs a pass every `escalation_check_seconds`, and
`synthdata incident escalate` runs one on demand, so an escalation is claimed with
one conditional UPDATE (`escalated_at` still empty, still unacknowledged) before
anything is sent: of several concurrent passes exactly one wins. A delivery that
fails is written on the timeline and the claim is released, so the next pass
retries. A target that is not configured is written on the timeline once
("escalation_skipped") and not retried.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthdata.observability.metrics import incident_escalations_total
from synthdata.service.core.db import session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.incidents.models import Incident, IncidentStatus
from synthdata.service.incidents.pagerduty import dedup_key, deliver, routing_key_for
from synthdata.service.incidents.policy import escalation_target
from synthdata.service.incidents.service import record

log = logging.getLogger("synthdata.incidents")

ACTOR = "escalation"
SOURCE = "synthdata-api"


@dataclass(frozen=True)
class Outcome:
    """What one escalation did: its target and `sent`, `failed` or `skipped`."""

    incident_id: str
    target: str
    outcome: str
    detail: str = ""


def incident_link(incident_id: str) -> str:
    """Where an operator reads the incident (API path; `synthdata incident show` too)."""
    return f"/api/v1/incidents/{incident_id}"


def due_incidents(session: Session, now: datetime) -> list[str]:
    """Ids of unacknowledged, unresolved, not yet escalated incidents past their clock."""
    return list(
        session.scalars(
            select(Incident.id)
            .where(
                Incident.status == IncidentStatus.OPEN.value,
                Incident.acknowledged_at.is_(None),
                Incident.escalated_at.is_(None),
                Incident.ack_due_at <= now,
            )
            .order_by(Incident.ack_due_at)
        )
    )


def claim(session: Session, incident_id: str, now: datetime) -> bool:
    """Take the escalation of one incident; False if another pass has it or it was acked."""
    result = session.execute(
        update(Incident)
        .where(
            Incident.id == incident_id,
            Incident.escalated_at.is_(None),
            Incident.acknowledged_at.is_(None),
            Incident.status == IncidentStatus.OPEN.value,
        )
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def pagerduty_event(incident: Incident, routing_key: str, now: datetime) -> dict[str, Any]:
    """The Events API v2 trigger, keyed as Alertmanager keys the group's page: a
    re-send, or a page Alertmanager already opened, stays one PagerDuty alert."""
    summary = (
        f"[{incident.severity}] {incident.title} (not acknowledged, {_overdue(incident, now)})"
    )
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(incident.group_key),
        "payload": {
            "summary": summary[:1024],  # the Events API's limit
            "severity": "critical",
            "source": incident.service or SOURCE,
            "component": incident.service or SOURCE,
            "group": "synthdata",
            "class": "incident",
            "custom_details": _details(incident, now),
        },
        "client": "Inferloop Synthetic Data",
    }


def slack_message(incident: Incident, now: datetime) -> dict[str, Any]:
    """A Slack incoming-webhook message: title, severity, how long it has been overdue."""
    overdue = _overdue(incident, now)
    return {
        "text": f"{incident.severity} incident not acknowledged ({overdue}): {incident.title}",
        "attachments": [
            {
                "title": incident.title,
                "color": "warning",
                "fields": [
                    {"title": "Severity", "value": incident.severity, "short": True},
                    {"title": "Overdue", "value": overdue, "short": True},
                    {"title": "Incident", "value": incident.id, "short": True},
                    {"title": "Service", "value": incident.service or SOURCE, "short": True},
                    {"title": "Details", "value": incident_link(incident.id), "short": False},
                ],
            }
        ],
    }


def _details(incident: Incident, now: datetime) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "severity": incident.severity,
        "opened_at": incident.opened_at.isoformat(),
        "ack_due_at": incident.ack_due_at.isoformat(),
        "overdue_seconds": int((now - incident.ack_due_at).total_seconds()),
        "link": incident_link(incident.id),
        "cli": f"synthdata incident show {incident.id}",
    }


def _overdue(incident: Incident, now: datetime) -> str:
    minutes = max(0, int((now - incident.ack_due_at).total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} min overdue"
    return f"{minutes // 60} h {minutes % 60} min overdue"


def _request(settings: Settings, incident: Incident, now: datetime) -> tuple[str, dict[str, Any]]:
    """(url, body) for the incident's target; url "" when the target is not configured."""
    if escalation_target(incident.severity) == "pagerduty":
        routing_key = routing_key_for(settings, incident.group_key)
        if not routing_key or not settings.pagerduty_events_url:
            return "", {}
        body = pagerduty_event(incident, routing_key, now)
        return settings.pagerduty_events_url, body
    if not settings.slack_webhook_url:
        return "", {}
    return settings.slack_webhook_url, slack_message(incident, now)


def escalate_one(
    sessions: sessionmaker[Session], settings: Settings, incident_id: str, now: datetime
) -> Outcome | None:
    """Claim, send and record the escalation of one incident (None: not ours to send)."""
    with session_scope(sessions) as session:
        if not claim(session, incident_id, now):
            return None
        incident = session.get(Incident, incident_id)
        assert incident is not None  # the claim just updated it
        target = escalation_target(incident.severity)
        url, body = _request(settings, incident, now)
    # Sent outside any transaction: a slow receiver must not hold a database lock.
    if not url:
        outcome = Outcome(incident_id, target, "skipped", f"{target} not configured")
    else:
        failure = deliver(url, body)
        outcome = Outcome(incident_id, target, "failed" if failure else "sent", failure)
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        if outcome.outcome == "sent":
            record(session, incident, actor=ACTOR, kind="escalated", message=f"sent to {target}")
        elif outcome.outcome == "skipped":
            message = f"escalation_skipped: not configured ({target})"
            record(session, incident, actor=ACTOR, kind="escalation_skipped", message=message)
        else:
            record(
                session,
                incident,
                actor=ACTOR,
                kind="escalation_failed",
                message=f"{target}: {outcome.detail}; retried on the next pass",
            )
            session.execute(  # release the claim (only ours) for the next pass
                update(Incident)
                .where(Incident.id == incident_id, Incident.escalated_at == now)
                .values(escalated_at=None)
                .execution_options(synchronize_session=False)
            )
    incident_escalations_total.labels(target, outcome.outcome).inc()
    log.info(
        "incident %s escalation to %s: %s %s", incident_id, target, outcome.outcome, outcome.detail
    )
    return outcome


def run_escalations(
    sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> list[Outcome]:
    """One pass: escalate every overdue incident this pass manages to claim."""
    now = now or utcnow()
    with session_scope(sessions) as session:
        due = due_incidents(session, now)
    outcomes = []
    for incident_id in due:
        outcome = escalate_one(sessions, settings, incident_id, now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


class Escalator:
    """A daemon thread running `run_escalations` every `escalation_check_seconds`."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="incident-escalation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30.0)  # a pass in flight ends within its timeouts
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.escalation_check_seconds):
            try:
                run_escalations(self._sessions, self._settings)
            except Exception:  # a database hiccup must not end the loop
                log.exception("incident escalation pass failed")
