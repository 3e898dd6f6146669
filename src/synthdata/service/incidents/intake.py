"""Alertmanager notifications into incidents.

One incident per Alertmanager group (`groupKey`) while it is unresolved; each alert
is kept once per incident by its fingerprint. Alertmanager repeats a notification
every `repeat_interval`, so only changes of state reach the timeline: an alert that
starts (or starts again) firing, an alert that resolves, a worse severity. When the
notification says the whole group is resolved and no alert of the incident still
fires, the incident is resolved by "alertmanager".

Times come from the alerts, not from the delivery: an incident opens at the earliest
`startsAt` of its firing alerts (a notification can arrive minutes late, after an
outage of this API or its database, and the response clock must not start late),
and an alert older than what is recorded of it (a redelivered notification) is left
out (see `staleness`).

A notification forwarded by the incident spool (see `spool`) may say that the spool
already escalated the group while this API could not record it: the incident then
takes that escalation (`escalated_at`, a timeline line at the time it was sent), and
the API's escalator does not page again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from synthdata.service.core.db import utcnow
from synthdata.service.incidents import policy
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook, WebhookAlert
from synthdata.service.incidents.grouping import incident_of_cause
from synthdata.service.incidents.models import (
    Incident,
    IncidentAlert,
    IncidentStatus,
    Severity,
)
from synthdata.service.incidents.service import record
from synthdata.service.incidents.spool import SpoolEscalation
from synthdata.service.incidents.staleness import current_alerts

ACTOR = "alertmanager"
SPOOL_ACTOR = "incident-spool"


@dataclass
class IntakeResult:
    """The group's incident after the notification, and how many timeline lines it wrote."""

    incident: Incident | None
    changes: int


def ingest(
    session: Session,
    payload: AlertmanagerWebhook,
    now: datetime | None = None,
    spool_escalation: SpoolEscalation | None = None,
) -> IntakeResult:
    """Apply one notification (and the spool's escalation of its group); the caller commits."""
    now = now or utcnow()
    _lock(session, f"group:{payload.groupKey}")
    # Two groups of one cause (policy.CAUSE_GROUPS) reaching two replicas at once must
    # not both find no open incident of their cause: the cause is locked too, after the
    # group, always in this order (no deadlock).
    for cause in sorted({policy.cause_of(a.labels) for a in payload.alerts} - {""}):
        _lock(session, f"cause:{cause}")
    incident = session.scalars(
        select(Incident)
        .where(
            Incident.group_key == payload.groupKey,
            Incident.status != IncidentStatus.RESOLVED.value,
        )
        .order_by(Incident.opened_at.desc())
        .limit(1)
    ).first()
    alerts = current_alerts(session, payload.groupKey, payload.alerts)
    firing = [a for a in alerts if a.status == "firing"]
    if incident is None and alerts:  # one root cause, one incident (see `grouping`)
        incident = incident_of_cause(session, payload, alerts, now)
    if incident is None:
        if not firing:
            return IntakeResult(None, 0)  # the end of something we never opened, or stale
        incident = _open(session, payload, firing, now)
        changes = 1
    else:
        changes = 0
    changes += _apply_alerts(session, incident, alerts, now)
    changes += _raise_severity(session, incident, now)
    changes += _take_spool_escalation(session, incident, spool_escalation, now)
    changes += _resolve_if_quiet(session, incident, payload, now)
    session.flush()
    return IntakeResult(incident, changes)


def _lock(session: Session, name: str) -> None:
    """Serialise notifications about `name` across API replicas, until the commit.

    SQLite already runs one writer at a time (BEGIN IMMEDIATE); on PostgreSQL two
    replicas receiving the same group's first notification (Alertmanager retries
    one that timed out) must not both open an incident.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(name.encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def incident_title(payload: AlertmanagerWebhook) -> str:
    """The title of the incident a notification opens: its alert name and summary."""
    name = payload.commonLabels.get("alertname") or payload.alerts[0].alertname or "alert"
    summary = payload.commonAnnotations.get("summary", "")
    return (f"{name}: {summary}" if summary else name)[:500]


def _open(
    session: Session, payload: AlertmanagerWebhook, firing: list[WebhookAlert], now: datetime
) -> Incident:
    severity = policy.worst(policy.alert_severity(a.labels) for a in firing)
    opened_at = _opened_at(session, payload.groupKey, firing, now)
    incident = Incident(
        group_key=payload.groupKey,
        title=incident_title(payload),
        severity=severity.value,
        status=IncidentStatus.OPEN.value,
        service=payload.commonLabels.get("service", "")[:100],
        opened_at=opened_at,
        ack_due_at=policy.ack_due_at(severity, opened_at),
        acknowledged_by="",
        resolved_by="",
        checklist=policy.new_checklist(severity),
    )
    session.add(incident)
    session.flush()
    record(
        session,
        incident,
        actor=ACTOR,
        kind="opened",
        message=f"{severity.value} opened from alert group {payload.groupKey}",
        detail={
            "receiver": payload.receiver,
            "external_url": payload.externalURL,
            "notified_at": now.isoformat(),
        },
        at=opened_at,
    )
    return incident


def _opened_at(
    session: Session, group_key: str, firing: list[WebhookAlert], now: datetime
) -> datetime:
    """When the fault began: the earliest start of the firing alerts.

    Never in the future (a skewed clock), and never before the group's previous
    incident was resolved: resolved by hand while its alert still fired, the next
    notification opens a new incident, whose clock starts then, not hours back.
    """
    opened = min([now, *(a.startsAt for a in firing if a.startsAt is not None)])
    # Only resolutions by hand: one by Alertmanager ended its alerts, and their later
    # notifications are checked against those ends instead (see `staleness`).
    last_resolved = session.scalar(
        select(func.max(Incident.resolved_at)).where(
            Incident.group_key == group_key, Incident.resolved_by != ACTOR
        )
    )
    if last_resolved is not None and opened < last_resolved:
        opened = min(last_resolved, now)
    return opened


def _apply_alerts(
    session: Session, incident: Incident, alerts: list[WebhookAlert], now: datetime
) -> int:
    """Upsert each alert by fingerprint; a timeline line for each change of status."""
    stored = {
        a.fingerprint: a
        for a in session.scalars(
            select(IncidentAlert).where(IncidentAlert.incident_id == incident.id)
        )
    }
    changes = 0
    for alert in alerts:
        row = stored.get(alert.fingerprint)
        changed = row is None or row.status != alert.status
        if row is None:
            row = IncidentAlert(incident_id=incident.id, fingerprint=alert.fingerprint)
            session.add(row)
            stored[alert.fingerprint] = row
        row.alertname = alert.alertname[:200]
        row.status = alert.status
        row.labels, row.annotations = dict(alert.labels), dict(alert.annotations)
        ends_at = alert.endsAt
        if ends_at is None and alert.status == "resolved":
            # No end sent: the resolution is when it was first received (what
            # `staleness` compares a later firing notification with).
            ends_at = now if changed else row.ends_at
        row.starts_at, row.ends_at, row.updated_at = alert.startsAt, ends_at, now
        if changed:
            severity = policy.alert_severity(alert.labels)
            summary = alert.annotations.get("summary", "")
            record(
                session,
                incident,
                actor=ACTOR,
                kind=f"alert_{alert.status}",
                message=f"{alert.alertname} {alert.status}" + (f": {summary}" if summary else ""),
                detail={"fingerprint": alert.fingerprint, "severity": severity.value},
                at=now,
            )
            changes += 1
    session.flush()
    return changes


def _raise_severity(session: Session, incident: Incident, now: datetime) -> int:
    """Make the incident as severe as its worst firing alert (never lower it)."""
    firing = [
        (policy.alert_severity(labels), starts_at)
        for labels, starts_at in session.execute(
            select(IncidentAlert.labels, IncidentAlert.starts_at).where(
                IncidentAlert.incident_id == incident.id, IncidentAlert.status == "firing"
            )
        )
    ]
    worst = policy.worst(severity for severity, _ in firing)
    if not policy.is_worse(worst, incident.severity):
        return 0
    before = Severity(incident.severity)
    incident.severity = worst.value
    # The tighter clock of the worse severity, counted from when its first alert
    # started (not from when we heard of it; not before the incident opened), unless
    # already sooner.
    starts = [at for severity, at in firing if severity == worst and at is not None]
    since = min(max(min(starts, default=now), incident.opened_at), now)
    incident.ack_due_at = min(incident.ack_due_at, policy.ack_due_at(worst, since))
    if not incident.checklist:
        incident.checklist = policy.new_checklist(worst)
    if policy.escalation_target(worst) != policy.escalation_target(before):
        incident.escalated_at = None  # a Slack post does not stand in for a page
    record(
        session,
        incident,
        actor=ACTOR,
        kind="severity_changed",
        message=f"{before.value} -> {worst.value}",
        detail={"from": before.value, "to": worst.value},
        at=now,
    )
    return 1


def _take_spool_escalation(
    session: Session, incident: Incident, escalation: SpoolEscalation | None, now: datetime
) -> int:
    """Record the spool's escalation once, unless the incident escalated or was acked.

    Only an escalation of this incident's episode counts: one that began before the
    incident opened belongs to an episode that ended (or was resolved by hand).
    """
    if escalation is None or incident.escalated_at is not None:
        return 0
    if incident.acknowledged_at is not None or escalation.episode_start < incident.opened_at:
        return 0
    incident.escalated_at = escalation.at
    if escalation.outcome == "sent":
        kind, message = "escalated", f"sent to {escalation.target} by the incident spool"
    else:
        kind = "escalation_skipped"
        message = f"escalation_skipped: not configured ({escalation.target})"
    record(
        session,
        incident,
        actor=SPOOL_ACTOR,
        kind=kind,
        message=message + " (the API could not record the alert in time)",
        detail={"dedup_key": escalation.dedup_key, "recorded_at": now.isoformat()},
        at=escalation.at,
    )
    return 1


def _resolve_if_quiet(
    session: Session, incident: Incident, payload: AlertmanagerWebhook, now: datetime
) -> int:
    if payload.status != "resolved":
        return 0
    still_firing = session.scalars(
        select(IncidentAlert.id)
        .where(IncidentAlert.incident_id == incident.id, IncidentAlert.status == "firing")
        .limit(1)
    ).first()
    if still_firing is not None:
        return 0
    incident.status = IncidentStatus.RESOLVED.value
    incident.resolved_at, incident.resolved_by = now, ACTOR
    record(
        session,
        incident,
        actor=ACTOR,
        kind="resolved",
        message="every alert of the group resolved",
        at=now,
    )
    return 1
