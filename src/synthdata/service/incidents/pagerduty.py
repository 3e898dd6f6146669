"""Keeping PagerDuty's page in step with the incident (Events API v2).

One page per incident, whoever sends it: Alertmanager's PagerDuty receiver pages
first, with the dedup_key it derives from the alert group (the SHA-256 of the group
key, Alertmanager's `notify.Key.Hash`), and the incident keeps that group key. The
escalation of an unacknowledged incident and our acknowledge/resolve use the same
key, so they update, acknowledge and resolve the very alert Alertmanager opened
rather than opening a second one (PagerDuty scopes the key to the integration: both
use the routing key of the PagerDuty service Alertmanager paged: the platform's, or the
security team's for a group its route formed; see `routing_key_for`).

Events are sent outside any transaction (a slow PagerDuty must not hold a database
lock) and the outcome goes on the timeline: `pagerduty_acknowledge` or
`pagerduty_resolve`, "sent" or "failed: ...". Incidents that never page (SEV-3/SEV-4
post to Slack) send nothing, nor does a service without a PagerDuty routing key (the
embedded default): Alertmanager's own resolve still closes its page when the alerts
end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from sqlalchemy.orm import Session

from synthdata.service.core.settings import Settings
from synthdata.service.incidents.models import Incident
from synthdata.service.incidents.policy import escalation_target
from synthdata.service.incidents.service import record

Action = Literal["acknowledge", "resolve"]
ACTOR = "pagerduty-sync"
TIMEOUT = httpx.Timeout(5.0)
# Connection failures are retried by the transport (nothing was delivered); an
# answered request is not, since PagerDuty may have taken it.
_TRANSPORT_RETRIES = 2


def dedup_key(group_key: str) -> str:
    """Alertmanager's PagerDuty dedup_key for an alert group: SHA-256 of its key, hex."""
    return hashlib.sha256(group_key.encode()).hexdigest()


# Alertmanager's group key starts with the matchers of the route that formed the group
# (`{}/{team="security"}/{severity="critical"}:{...}`): the route, hence the receiver.
_SECURITY_ROUTE = 'team="security"'


def routing_key_for(settings: Settings, group_key: str) -> str:
    """The routing key of the PagerDuty service that paged for this alert group.

    PagerDuty scopes a dedup_key to the integration it arrived on: an acknowledge sent
    with the platform's key would not touch a page the security service holds.
    """
    route = group_key.split(":", 1)[0]
    if _SECURITY_ROUTE in route and settings.pagerduty_security_routing_key:
        return settings.pagerduty_security_routing_key
    return settings.pagerduty_routing_key


@dataclass(frozen=True)
class PageRef:
    """What an event needs of an incident, taken before its transaction commits."""

    incident_id: str
    group_key: str
    dedup_key: str
    pages: bool  # SEV-1/SEV-2: paged by Alertmanager or by the escalation


def page_ref(incident: Incident) -> PageRef:
    """The incident's PagerDuty alert."""
    return PageRef(
        incident_id=incident.id,
        group_key=incident.group_key,
        dedup_key=dedup_key(incident.group_key),
        pages=escalation_target(incident.severity) == "pagerduty",
    )


def status_event(ref: PageRef, action: Action, routing_key: str) -> dict[str, Any]:
    """An Events API v2 acknowledge or resolve of the incident's alert."""
    return {"routing_key": routing_key, "event_action": action, "dedup_key": ref.dedup_key}


def deliver(url: str, body: dict[str, Any]) -> str:
    """POST the body; "" on success, otherwise why it failed (never the URL: a Slack
    webhook URL is a credential, and the reason goes on the timeline)."""
    transport = httpx.HTTPTransport(retries=_TRANSPORT_RETRIES)
    try:
        with httpx.Client(transport=transport, timeout=TIMEOUT) as client:
            response = client.post(url, json=body)
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}"
    else:
        if response.is_success:
            return ""
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
    return reason.replace(url, "<target URL>")[:300]


def send_status(settings: Settings, ref: PageRef, action: Action) -> str:
    """Send the event; "sent", "failed: why", or "" (never paged, or no PagerDuty)."""
    routing_key = routing_key_for(settings, ref.group_key)
    if not (ref.pages and routing_key and settings.pagerduty_events_url):
        return ""
    body = status_event(ref, action, routing_key)
    failure = deliver(settings.pagerduty_events_url, body)
    return f"failed: {failure}" if failure else "sent"


def sync(session: Session, settings: Settings, ref: PageRef, action: Action) -> str:
    """Send `action` for the incident, then write the outcome on its timeline.

    Call it with no transaction open (after the change was committed); the caller
    commits the timeline line. Returns the outcome (see `send_status`).
    """
    outcome = send_status(settings, ref, action)
    if outcome:
        incident = session.get(Incident, ref.incident_id)
        if incident is not None:
            record(
                session,
                incident,
                actor=ACTOR,
                kind=f"pagerduty_{action}",
                message=f"{action} of PagerDuty alert {ref.dedup_key[:12]}...: {outcome}",
                detail={"dedup_key": ref.dedup_key, "outcome": outcome.split(":")[0]},
            )
    return outcome
