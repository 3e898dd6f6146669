"""`GET /usage`: rows generated and what they cost."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from synthdata.service.core.problems import PROBLEM_RESPONSES, Problem
from synthdata.service.deps import CustomerFilter, PlatformDep, PrincipalDep, list_scope
from synthdata.service.usage.models import UsageOut
from synthdata.service.usage.service import usage_lines

router = APIRouter(prefix="/usage", tags=["usage"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=UsageOut)
async def get_usage(
    principal: PrincipalDep,
    platform: PlatformDep,
    customer_id: CustomerFilter = None,
    since: datetime | None = Query(default=None, description="Inclusive, ISO 8601."),
    until: datetime | None = Query(default=None, description="Exclusive, ISO 8601."),
) -> UsageOut:
    """Jobs, rows and cost of succeeded generation jobs (admins: per customer, all of them)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Problem(422, f"{name} needs a time zone (e.g. 'Z')", kind="validation-error")
    scope = list_scope(principal, customer_id)
    lines = await platform.read(
        lambda session: usage_lines(session, customer_id=scope, since=since, until=until)
    )
    return UsageOut(since=since, until=until, lines=lines)
