"""What operators do to incidents (API and CLI alike): list, show, ack, resolve, note, tick.

Every action writes one timeline line and one audit-log entry in the same
transaction; repeating an action that changes nothing (acknowledging twice,
ticking a ticked item, resolving a resolved incident) writes neither.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from synthdata.observability.metrics import incident_time_to_ack_seconds
from synthdata.service.admin.service import audit
from synthdata.service.core.db import utcnow
from synthdata.service.core.problems import Problem, not_found
from synthdata.service.incidents.models import (
    AlertOut,
    ChecklistItem,
    EventOut,
    Incident,
    IncidentAlert,
    IncidentDetail,
    IncidentEvent,
    IncidentOut,
    IncidentStatus,
    Severity,
)

# Audit-log actions (also the `operation` label of privileged_operations_total).
AUDITED_ACTIONS = (
    "incident.acknowledge",
    "incident.resolve",
    "incident.note",
    "incident.checklist_tick",
)


def record(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    kind: str,
    message: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> IncidentEvent:
    """Append one line to the incident's timeline."""
    event = IncidentEvent(
        incident_id=incident.id,
        at=at or utcnow(),
        actor=actor[:100],
        kind=kind,
        message=message,
        detail=detail or {},
    )
    session.add(event)
    return event


def listing_query(status: IncidentStatus | None, severity: Severity | None) -> Select[Any]:
    """Incidents, optionally of one status and one severity (paginate orders them)."""
    query = select(Incident)
    if status is not None:
        query = query.where(Incident.status == status.value)
    if severity is not None:
        query = query.where(Incident.severity == severity.value)
    return query


def get_incident(session: Session, incident_id: str) -> Incident:
    """The incident, or a 404 problem."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise not_found("incident", incident_id)
    return incident


def detail(session: Session, incident: Incident) -> IncidentDetail:
    """The incident with its alerts, checklist and timeline (oldest first)."""
    alerts = session.scalars(
        select(IncidentAlert)
        .where(IncidentAlert.incident_id == incident.id)
        .order_by(IncidentAlert.id)
    )
    events = session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return IncidentDetail(
        **IncidentOut.model_validate(incident).model_dump(),
        alerts=[AlertOut.model_validate(a) for a in alerts],
        checklist=[ChecklistItem.model_validate(item) for item in incident.checklist or []],
        timeline=[EventOut.model_validate(e) for e in events],
    )


def open_counts(session: Session) -> dict[str, float]:
    """Unresolved incidents per severity (for the `incidents_open` gauge)."""
    rows = session.execute(
        select(Incident.severity, func.count())
        .where(Incident.status != IncidentStatus.RESOLVED.value)
        .group_by(Incident.severity)
    )
    return {str(severity): float(count) for severity, count in rows}


def acknowledge(session: Session, incident: Incident, *, actor: str, source: str = "") -> bool:
    """Acknowledge the incident (stops its escalation); False if it already was.

    On a SEV-1 the checklist's first step ("Acknowledge alert ...") is ticked too.
    """
    if incident.status == IncidentStatus.RESOLVED.value:
        raise Problem(409, f"incident {incident.id!r} is already resolved", kind="conflict")
    if incident.acknowledged_at is not None:
        return False
    now = utcnow()
    incident.status = IncidentStatus.ACKNOWLEDGED.value
    incident.acknowledged_at, incident.acknowledged_by = now, actor[:100]
    waited = (now - incident.opened_at).total_seconds()
    if incident.checklist and not incident.checklist[0]["done"]:
        incident.checklist = _ticked(incident.checklist, 0, actor, now)
    record(session, incident, actor=actor, kind="acknowledged", at=now, detail={"after_s": waited})
    audit(
        session,
        actor=actor,
        action="incident.acknowledge",
        target=incident.id,
        source=source,
        privileged=False,
    )
    incident_time_to_ack_seconds.labels(incident.severity).observe(max(0.0, waited))
    session.flush()
    return True


def resolve(session: Session, incident: Incident, *, actor: str, source: str = "") -> bool:
    """Resolve the incident by hand; False if it already was resolved."""
    if incident.status == IncidentStatus.RESOLVED.value:
        return False
    now = utcnow()
    incident.status = IncidentStatus.RESOLVED.value
    incident.resolved_at, incident.resolved_by = now, actor[:100]
    record(session, incident, actor=actor, kind="resolved", at=now)
    audit(
        session,
        actor=actor,
        action="incident.resolve",
        target=incident.id,
        source=source,
        privileged=False,
    )
    session.flush()
    return True


def add_note(
    session: Session, incident: Incident, message: str, *, actor: str, source: str = ""
) -> IncidentEvent:
    """Add a note to the timeline (allowed after resolution too, for the write-up)."""
    event = record(session, incident, actor=actor, kind="note", message=message)
    audit(
        session,
        actor=actor,
        action="incident.note",
        target=incident.id,
        source=source,
        privileged=False,
    )
    session.flush()
    return event


def tick(
    session: Session, incident: Incident, number: int, *, actor: str, source: str = ""
) -> bool:
    """Mark checklist step `number` (1-based, as the runbook numbers it) done.

    False when it already was; a 404 problem when the incident has no such step.
    """
    checklist = incident.checklist or []
    if not 1 <= number <= len(checklist):
        steps = f"1..{len(checklist)}" if checklist else "none: only SEV-1 incidents have one"
        raise Problem(
            404,
            f"incident {incident.id!r} has no checklist step {number} (steps: {steps})",
            kind="not-found",
        )
    if checklist[number - 1]["done"]:
        return False
    now = utcnow()
    incident.checklist = _ticked(checklist, number - 1, actor, now)
    item = checklist[number - 1]["item"]
    record(
        session,
        incident,
        actor=actor,
        kind="checklist_ticked",
        message=f"{number}. {item}",
        detail={"step": number},
        at=now,
    )
    audit(
        session,
        actor=actor,
        action="incident.checklist_tick",
        target=incident.id,
        source=source,
        detail={"step": number},
        privileged=False,
    )
    session.flush()
    return True


def _ticked(
    checklist: list[dict[str, Any]], index: int, actor: str, at: datetime
) -> list[dict[str, Any]]:
    # A new list: the JSON column only notices a change when it is assigned.
    items = [dict(item) for item in checklist]
    items[index].update(done=True, done_at=at.isoformat(), done_by=actor[:100])
    return items
