"""Telling an out-of-date, redelivered alert from news.

Alertmanager retries a notification that failed or timed out, so an old payload can
arrive after a newer one: the group fired, resolved, and then the first firing
notification comes again. Taken as news it would set the alert firing again, or open
a phantom incident for a fault that is over. Every alert carries its own times, so
the intake compares them with what it recorded for the same alert (fingerprint) in
the same alert group:

- a firing alert whose `startsAt` is not after a recorded resolution (`endsAt`) of
  that alert, or is before the start of the episode recorded as firing, belongs to
  an episode that already ended: a real re-fire starts after it (Prometheus gives a
  new episode a new start, and Alertmanager merges only episodes that overlap);
- a resolved alert whose `endsAt` is before the start of the firing episode recorded
  for it ends an older episode, not the one firing now.

An alert without the time to compare is taken as news, as it always was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from synthdata.service.incidents.alertmanager import WebhookAlert
from synthdata.service.incidents.models import Incident, IncidentAlert

log = logging.getLogger("synthdata.incidents")


@dataclass
class _Recorded:
    """What the group's incidents recorded of one alert: its last resolution and start."""

    resolved_at: datetime | None = None
    firing_since: datetime | None = None


def current_alerts(
    session: Session, group_key: str, alerts: list[WebhookAlert]
) -> list[WebhookAlert]:
    """The alerts of a notification that are news; stale ones are logged and left out."""
    recorded = _recorded(session, group_key, {a.fingerprint for a in alerts})
    current = []
    for alert in alerts:
        reason = _stale_reason(alert, recorded.get(alert.fingerprint))
        if reason:
            log.info(
                "ignored a stale %s alert %s (%s) of group %s: %s",
                alert.status,
                alert.alertname,
                alert.fingerprint,
                group_key,
                reason,
            )
        else:
            current.append(alert)
    return current


def _recorded(session: Session, group_key: str, fingerprints: set[str]) -> dict[str, _Recorded]:
    # Through the group's incidents: both lookups use an index (group_key, then
    # incident_id + fingerprint), and a group's history is short.
    rows = session.execute(
        select(
            IncidentAlert.fingerprint,
            IncidentAlert.status,
            IncidentAlert.starts_at,
            IncidentAlert.ends_at,
            IncidentAlert.updated_at,
        )
        .join(Incident, Incident.id == IncidentAlert.incident_id)
        .where(Incident.group_key == group_key, IncidentAlert.fingerprint.in_(fingerprints))
    )
    recorded: dict[str, _Recorded] = {}
    for fingerprint, status, starts_at, ends_at, updated_at in rows:
        known = recorded.setdefault(fingerprint, _Recorded())
        if status == "resolved":
            # Rows written before ends_at was always set carry the time it was received.
            end = ends_at or updated_at
            known.resolved_at = max(filter(None, (known.resolved_at, end)))
        elif starts_at is not None:
            known.firing_since = max(filter(None, (known.firing_since, starts_at)))
    return recorded


def _stale_reason(alert: WebhookAlert, known: _Recorded | None) -> str:
    if known is None:
        return ""
    if alert.status == "firing" and alert.startsAt:
        if known.resolved_at and alert.startsAt <= known.resolved_at:
            return (
                f"started {alert.startsAt.isoformat()}, "
                f"not after its resolution at {known.resolved_at.isoformat()}"
            )
        # A re-fire in the same incident replaces the resolved row; its start then
        # stands for the resolution before it.
        if known.firing_since and alert.startsAt < known.firing_since:
            return (
                f"started {alert.startsAt.isoformat()}, "
                f"before the episode firing since {known.firing_since.isoformat()}"
            )
    elif (
        alert.status == "resolved"
        and alert.endsAt
        and known.firing_since
        and alert.endsAt < known.firing_since
    ):
        return (
            f"ended {alert.endsAt.isoformat()}, "
            f"before the episode firing since {known.firing_since.isoformat()}"
        )
    return ""
