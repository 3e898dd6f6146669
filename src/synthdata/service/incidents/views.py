"""Incidents over HTTP: Alertmanager's webhook (bearer token) and the admin API."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import PROBLEM_RESPONSES, Problem
from synthdata.service.deps import (
    AdminDep,
    Cursor,
    Limit,
    PlatformDep,
    SessionDep,
    SourceDep,
    refuse_credential,
    source_address,
)
from synthdata.service.incidents import service
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
def alertmanager_webhook(body: AlertmanagerWebhook, session: SessionDep) -> WebhookResult:
    """Alertmanager's webhook receiver: opens, updates and resolves incidents."""
    result = ingest(session, body)
    session.commit()
    incident = result.incident
    return WebhookResult(
        incident_id=incident.id if incident else None,
        status=incident.status if incident else None,
        severity=incident.severity if incident else None,
        changes=result.changes,
    )


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
    incident_id: IncidentId, admin: AdminDep, session: SessionDep, request: Request
) -> IncidentDetail:
    """Acknowledge (stops escalation). Repeating it changes nothing; 409 once resolved."""
    incident = service.get_incident(session, incident_id)
    service.acknowledge(session, incident, actor=admin.actor, source=source_address(request))
    session.commit()
    return service.detail(session, incident)


@router.post("/{incident_id}/resolve", response_model=IncidentDetail)
def resolve(
    incident_id: IncidentId, admin: AdminDep, session: SessionDep, request: Request
) -> IncidentDetail:
    """Resolve by hand. Repeating it changes nothing."""
    incident = service.get_incident(session, incident_id)
    service.resolve(session, incident, actor=admin.actor, source=source_address(request))
    session.commit()
    return service.detail(session, incident)


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
