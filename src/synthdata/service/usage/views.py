"""`GET /usage`: rows generated and what they cost."""

from __future__ import annotations

from fastapi import APIRouter, Query

from synthdata.service.core.inputs import IsoDateTime
from synthdata.service.core.problems import PROBLEM_RESPONSES
from synthdata.service.deps import CustomerFilter, PlatformDep, PrincipalDep, list_scope
from synthdata.service.usage.models import UsageOut
from synthdata.service.usage.service import usage_lines

router = APIRouter(prefix="/usage", tags=["usage"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=UsageOut)
async def get_usage(
    principal: PrincipalDep,
    platform: PlatformDep,
    customer_id: CustomerFilter = None,
    since: IsoDateTime | None = Query(
        default=None, description="Inclusive, ISO 8601 with a time zone (2026-01-31T00:00:00Z)."
    ),
    until: IsoDateTime | None = Query(
        default=None, description="Exclusive, ISO 8601 with a time zone (2026-01-31T00:00:00Z)."
    ),
) -> UsageOut:
    """Jobs, rows and cost of succeeded generation jobs (admins: per customer, all of them)."""
    scope = list_scope(principal, customer_id)
    lines = await platform.read(
        lambda session: usage_lines(session, customer_id=scope, since=since, until=until)
    )
    return UsageOut(since=since, until=until, lines=lines)
