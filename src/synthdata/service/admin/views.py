"""Admin operations: the circuit breaker and the audit log."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from synthdata.service.admin import service
from synthdata.service.admin.models import SERVICES, AuditOut, BreakerChange, BreakerState
from synthdata.service.core.problems import PROBLEM_RESPONSES
from synthdata.service.deps import AdminDep, SessionDep, SettingsDep, source_address

router = APIRouter(prefix="/admin", tags=["admin"], responses=PROBLEM_RESPONSES)

# The schema lists the services that have a breaker, so it describes what is accepted.
ServiceName = Annotated[
    str, Path(pattern=f"^({'|'.join(map(re.escape, SERVICES))})$", examples=list(SERVICES))
]


@router.get("/circuit-breakers/{service_name}", response_model=BreakerState)
def get_circuit_breaker(
    service_name: ServiceName, _: AdminDep, session: SessionDep, settings: SettingsDep
) -> BreakerState:
    """Whether the service currently refuses new jobs."""
    return service.get_breaker(session, service_name, settings.circuit_breaker_retry_after)


@router.put("/circuit-breakers/{service_name}", response_model=BreakerState)
def set_circuit_breaker(
    service_name: ServiceName,
    body: BreakerChange,
    admin: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> BreakerState:
    """Turn the breaker on (new jobs get 503 + Retry-After; reads still work) or off."""
    state = service.set_breaker(
        session,
        service_name,
        enabled=body.enabled,
        reason=body.reason,
        retry_after=body.retry_after or settings.circuit_breaker_retry_after,
        actor=admin.actor,
        source=source_address(request),
    )
    session.commit()
    return state


@router.get("/audit", response_model=list[AuditOut])
def list_audit(
    _: AdminDep,
    session: SessionDep,
    limit: int = Query(default=50, ge=1, le=200),
    before: int | None = Query(
        default=None, ge=1, le=2**31 - 1, description="Entries older than this id."
    ),
    action: str | None = Query(default=None, max_length=100),
) -> list[AuditOut]:
    """Privileged actions, newest first."""
    entries = service.list_audit(session, limit=limit, before=before, action=action)
    return [AuditOut.model_validate(e) for e in entries]
