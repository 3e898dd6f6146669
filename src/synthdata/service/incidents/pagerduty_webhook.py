"""PagerDuty's side of the page: its v3 webhook acknowledges and resolves our incident.

An on-call who acknowledges or resolves the page in PagerDuty's app does the same to
the incident here (actor `pagerduty:<who>`), so the response clock stops and the
escalation does not page them again. PagerDuty signs every delivery:
`X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`, several signatures
separated by commas while a secret is being rotated; one must match.

The PagerDuty incident names our alert by its `incident_key`, the dedup_key of the
page (see `pagerduty`), which is derived from the incident's alert group. Events
about other incidents, or of other types, are accepted and change nothing (PagerDuty
retries anything but a 2xx). Our own acknowledge comes back the same way and finds
the incident already acknowledged: nothing is written and nothing is sent back.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from synthdata.service.core.problems import Problem
from synthdata.service.incidents import service
from synthdata.service.incidents.models import Incident, IncidentStatus
from synthdata.service.incidents.pagerduty import dedup_key

SIGNATURE_HEADER = "X-PagerDuty-Signature"
# PagerDuty event type -> what it does to our incident.
ACTIONS = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve"}


class _Agent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = ""
    summary: str = ""


class PagerDutyEvent(BaseModel):
    """The one event of a v3 webhook delivery (PagerDuty's field names)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default="", max_length=200)
    event_type: str = Field(max_length=100)
    resource_type: str = Field(default="", max_length=100)
    occurred_at: str = Field(default="", max_length=100)
    agent: _Agent | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class PagerDutyWebhook(BaseModel):
    """A v3 webhook delivery."""

    model_config = ConfigDict(extra="ignore")

    event: PagerDutyEvent


class PagerDutyWebhookResult(BaseModel):
    """What one PagerDuty webhook delivery did."""

    incident_id: str | None = Field(description="Our incident it was about (null: none open).")
    action: str | None = Field(description="acknowledge or resolve; null: not ours to act on.")
    changed: bool = Field(description="False when the incident already was in that state.")


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """Whether one of the header's `v1=` signatures is the body's HMAC-SHA256 with `secret`."""
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(
        hmac.compare_digest(expected.encode(), candidate.strip().encode())
        for candidate in header.split(",")
        if candidate.strip()
    )


def find_incident(session: Session, incident_key: str) -> Incident | None:
    """The unresolved incident whose page has this dedup_key (None if there is none)."""
    if not incident_key:
        return None
    # Keys are computed, not stored: unresolved incidents are few.
    candidates = session.scalars(
        select(Incident)
        .where(Incident.status != IncidentStatus.RESOLVED.value)
        .order_by(Incident.opened_at.desc())
    )
    return next((i for i in candidates if dedup_key(i.group_key) == incident_key), None)


def apply(session: Session, webhook: PagerDutyWebhook, *, source: str) -> PagerDutyWebhookResult:
    """Acknowledge or resolve the incident the event is about; the caller commits."""
    event = webhook.event
    action = ACTIONS.get(event.event_type)
    incident_key = str(event.data.get("incident_key") or "")
    incident = find_incident(session, incident_key) if action else None
    if action is None or incident is None:
        return PagerDutyWebhookResult(incident_id=None, action=None, changed=False)
    who = (event.agent.summary or event.agent.id) if event.agent else ""
    actor = f"pagerduty:{who or 'unknown'}"
    if action == "acknowledge":
        try:
            changed = service.acknowledge(session, incident, actor=actor, source=source)
        except Problem:  # resolved here meanwhile: PagerDuty's ack changes nothing
            changed = False
    else:
        changed = service.resolve(session, incident, actor=actor, source=source)
    return PagerDutyWebhookResult(incident_id=incident.id, action=action, changed=changed)
