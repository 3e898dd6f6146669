"""Incidents over HTTP: Alertmanager's webhook (bearer token), PagerDuty's webhook
(signed) and the admin API, whose acknowledge and resolve also reach PagerDuty."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import PROBLEM_RESPONSES, Problem
from synthdata.service.core.settings import Settings
from synthdata.service.deps import (
    AdminDep,
    Cursor,
    Limit,
    PlatformDep,
    SessionDep,
    SettingsDep,
    SourceDep,
    refuse_credential,
    source_address,
)
from synthdata.service.incidents import pagerduty, service
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook
from synthdata.service.incidents.intake import ingest
from synthdata.service.incidents.models import (
    Incident,
    IncidentDetail,
    IncidentOut,
    IncidentStatus,
    NoteIn,
    Severity,
    WebhookResult,
)
from synthdata.service.incidents.pagerduty_webhook import (
    SIGNATURE_HEADER,
    PagerDutyWebhook,
    PagerDutyWebhookResult,
    apply,
    signature_valid,
)
from synthdata.service.incidents.spool import ESCALATION_HEADER, SpoolEscalation

log = logging.getLogger("synthdata.incidents")

webhook_router = APIRouter(prefix="/alerts", tags=["incidents"], responses=PROBLEM_RESPONSES)
router = APIRouter(prefix="/incidents", tags=["incidents"], responses=PROBLEM_RESPONSES)

# Not the API-key scheme: Alertmanager sends the shared webhook token.
_webhook_bearer = HTTPBearer(auto_error=False, scheme_name="AlertWebhookToken")


async def check_webhook_token(
    platform: PlatformDep,
    source: SourceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_webhook_bearer)],
) -> None:
    """503 while no token is configured; 401 unless `Authorization: Bearer <token>` matches.

    The source's rate limit and lockout apply first, and a wrong token counts towards
    the lockout like a wrong API key (429 once the source has sent too many).
    """
    expected = platform.settings.alert_webhook_token
    if not expected:
        raise Problem(
            503,
            "the alert webhook is not configured (set SYNTHDATA_ALERT_WEBHOOK_TOKEN)",
            kind="not-configured",
            # A deliberate refusal, as the circuit breaker's: Alertmanager's retries of
            # an unconfigured webhook must not fire the API's own 5xx alerts.
            shed="not_configured",
        )
    presented = credentials.credentials if credentials else ""
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        await refuse_credential(platform, source, "unknown" if presented else "missing")
        raise Problem(
            401,
            "a valid alert webhook token is required (Authorization: Bearer)",
            kind="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )


@webhook_router.post(
    "/webhook",
    response_model=WebhookResult,
    dependencies=[Depends(check_webhook_token)],
)
def alertmanager_webhook(
    body: AlertmanagerWebhook,
    session: SessionDep,
    spool_escalation: Annotated[
        str,
        Header(
            alias=ESCALATION_HEADER,
            max_length=2000,
            description="Set by `synthdata incident-spool`: it escalated this group already.",
        ),
    ] = "",
) -> WebhookResult:
    """Alertmanager's webhook receiver: opens, updates and resolves incidents."""
    escalation = _spool_escalation(spool_escalation)
    result = ingest(session, body, spool_escalation=escalation)
    session.commit()
    incident = result.incident
    return WebhookResult(
        incident_id=incident.id if incident else None,
        status=incident.status if incident else None,
        severity=incident.severity if incident else None,
        changes=result.changes,
    )


def _spool_escalation(header: str) -> SpoolEscalation | None:
    """The spool's escalation (only the webhook token holder can send it), or None.

    One that cannot be read is left out, not refused: the notification matters more.
    """
    if not header:
        return None
    try:
        return SpoolEscalation.model_validate_json(header)
    except ValidationError as exc:
        log.warning("ignored an unreadable %s header: %s", ESCALATION_HEADER, exc)
        return None


async def check_pagerduty_signature(
    request: Request,
    platform: PlatformDep,
    source: SourceDep,
    signature: Annotated[str, Header(alias=SIGNATURE_HEADER, max_length=2000)] = "",
) -> None:
    """503 while no secret is configured; 401 unless a `v1=` signature of the raw body
    matches (a wrong one counts towards the source's lockout, as a wrong token does)."""
    secret = platform.settings.pagerduty_webhook_secret
    if not secret:
        raise Problem(
            503,
            "the PagerDuty webhook is not configured (set SYNTHDATA_PAGERDUTY_WEBHOOK_SECRET)",
            kind="not-configured",
        )
    if not signature_valid(secret, await request.body(), signature):
        await refuse_credential(platform, source, "unknown" if signature else "missing")
        raise Problem(
            401,
            f"a valid {SIGNATURE_HEADER} (v1=HMAC-SHA256 of the body) is required",
            kind="unauthenticated",
        )


@webhook_router.post(
    "/pagerduty",
    response_model=PagerDutyWebhookResult,
    dependencies=[Depends(check_pagerduty_signature)],
)
def pagerduty_webhook(
    body: PagerDutyWebhook, session: SessionDep, request: Request
) -> PagerDutyWebhookResult:
    """PagerDuty's v3 webhook: an acknowledge or resolve there does the same here."""
    result = apply(session, body, source=source_address(request))
    session.commit()
    return result


IncidentId = Annotated[str, Path(max_length=40)]
StepNumber = Annotated[
    int, Path(ge=1, le=100, description="Checklist step, 1-based as the runbook numbers it.")
]


@router.get("", response_model=Page[IncidentOut])
def list_incidents(
    _: AdminDep,
    session: SessionDep,
    status: IncidentStatus | None = None,
    severity: Severity | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[IncidentOut]:
    """Incidents, newest first; filter by `status` and `severity`."""
    query = service.listing_query(status, severity)
    return paginate(
        session, query, Incident.id, limit=limit, cursor=cursor, render=IncidentOut.model_validate
    )


@router.get("/{incident_id}", response_model=IncidentDetail)
def get_incident(incident_id: IncidentId, _: AdminDep, session: SessionDep) -> IncidentDetail:
    """One incident with its alerts, checklist and timeline."""
    return service.detail(session, service.get_incident(session, incident_id))


@router.post("/{incident_id}/ack", response_model=IncidentDetail)
def acknowledge(
    incident_id: IncidentId,
    admin: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> IncidentDetail:
    """Acknowledge (stops escalation) here and in PagerDuty. Repeating it changes
    nothing; 409 once resolved."""
    incident = service.get_incident(session, incident_id)
    changed = service.acknowledge(
        session, incident, actor=admin.actor, source=source_address(request)
    )
    _commit_and_sync(session, settings, incident, "acknowledge" if changed else None)
    return service.detail(session, incident)


@router.post("/{incident_id}/resolve", response_model=IncidentDetail)
def resolve(
    incident_id: IncidentId,
    admin: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> IncidentDetail:
    """Resolve by hand, and its PagerDuty alert. Repeating it changes nothing."""
    incident = service.get_incident(session, incident_id)
    changed = service.resolve(session, incident, actor=admin.actor, source=source_address(request))
    _commit_and_sync(session, settings, incident, "resolve" if changed else None)
    return service.detail(session, incident)


def _commit_and_sync(
    session: Session, settings: Settings, incident: Incident, action: pagerduty.Action | None
) -> None:
    """Commit the change, then tell PagerDuty (outside the transaction) and commit that line."""
    ref = pagerduty.page_ref(incident)  # before the commit expires the incident
    session.commit()
    if action is not None and pagerduty.sync(session, settings, ref, action):
        session.commit()


@router.post("/{incident_id}/notes", response_model=IncidentDetail, status_code=201)
def add_note(
    incident_id: IncidentId, body: NoteIn, admin: AdminDep, session: SessionDep, request: Request
) -> IncidentDetail:
    """Add a note to the timeline."""
    incident = service.get_incident(session, incident_id)
    service.add_note(
        session, incident, body.message, actor=admin.actor, source=source_address(request)
    )
    session.commit()
    return service.detail(session, incident)


@router.post("/{incident_id}/checklist/{index}", response_model=IncidentDetail)
def tick_checklist(
    incident_id: IncidentId,
    index: StepNumber,
    admin: AdminDep,
    session: SessionDep,
    request: Request,
) -> IncidentDetail:
    """Tick a step of the SEV-1 checklist (404 if the incident has no such step)."""
    incident = service.get_incident(session, incident_id)
    service.tick(session, incident, index, actor=admin.actor, source=source_address(request))
    session.commit()
    return service.detail(session, incident)
