"""One root cause, one incident: an alert group joins the open incident of its cause.

Alertmanager puts the alerts one cause fires together (the API's error family of a
service: `policy.CAUSE_GROUPS`) in one group, so they normally arrive in one
notification and open one incident. A family alert can still come in another group:
routed by another severity (the error budget's slow-burn warning), or from an
Alertmanager running an older configuration. Such a group is attached to the open
incident of its cause instead of opening an incident (and a page) of its own; its
later notifications, the resolution included, find that incident again through the
alerts it holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from synthdata.service.incidents import policy
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook, WebhookAlert
from synthdata.service.incidents.models import Incident, IncidentAlert, IncidentStatus
from synthdata.service.incidents.service import record

ACTOR = "alertmanager"


def incident_of_cause(
    session: Session, payload: AlertmanagerWebhook, alerts: list[WebhookAlert], now: datetime
) -> Incident | None:
    """The open incident another group's `alerts` belong to (None: open one of their own).

    First the incident already holding one of these alerts (an attached group's later
    notification); else, when every firing alert has the same cause, the open
    incident with an alert of that cause, on whose timeline the attachment is written.
    """
    fingerprints = {a.fingerprint for a in alerts}
    holding = session.scalars(
        select(Incident)
        .join(IncidentAlert, IncidentAlert.incident_id == Incident.id)
        .where(
            Incident.status != IncidentStatus.RESOLVED.value,
            IncidentAlert.fingerprint.in_(fingerprints),
        )
        .order_by(Incident.opened_at)
        .limit(1)
    ).first()
    if holding is not None:
        return holding
    causes = {policy.cause_of(a.labels) for a in alerts if a.status == "firing"}
    if len(causes) != 1 or "" in causes:
        return None
    (cause,) = causes
    # Over the alerts of unresolved incidents only: a handful, even during an outage.
    rows = session.execute(
        select(Incident, IncidentAlert.labels)
        .join(IncidentAlert, IncidentAlert.incident_id == Incident.id)
        .where(Incident.status != IncidentStatus.RESOLVED.value)
        .order_by(Incident.opened_at, IncidentAlert.id)
    )
    incident = next((inc for inc, labels in rows if policy.cause_of(labels) == cause), None)
    if incident is not None:
        record(
            session,
            incident,
            actor=ACTOR,
            kind="group_attached",
            message=f"alert group {payload.groupKey} attached: same cause ({cause})",
            detail={"group_key": payload.groupKey, "cause": cause, "receiver": payload.receiver},
            at=now,
        )
    return incident
