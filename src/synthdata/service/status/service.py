"""Put the status page together: component health, incidents, and the overall verdict.

Incidents are read straight from the `incidents` table with a query of our own, naming
only the columns the public may see (the incident API has its own, richer view).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import String, column, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from synthdata.service.core.db import UTCDateTime, utcnow
from synthdata.service.core.platform import Platform
from synthdata.service.incidents.models import Severity
from synthdata.service.status.components import (
    breaker_component,
    read_activity,
    readiness_components,
    unknown_components,
    workers_component,
)
from synthdata.service.status.impact import open_incident_impacts
from synthdata.service.status.models import (
    BANNERS,
    Component,
    ComponentState,
    OverallState,
    PublicIncident,
    ServiceStatus,
)

log = logging.getLogger("synthdata.service")

RESOLVED_WINDOW = timedelta(days=7)
"""Resolved incidents stay on the page this long."""

_MAX_LISTED = 50  # per list: a page that must load fast during an incident stays short

_incidents = table(
    "incidents",
    column("id", String),
    column("severity", String),
    column("title", String),
    column("status", String),
    column("opened_at", UTCDateTime),
    column("acknowledged_at", UTCDateTime),
    column("resolved_at", UTCDateTime),
)


def read_incidents(
    session: Session, now: datetime
) -> tuple[list[PublicIncident], list[PublicIncident], list[Severity]]:
    """Unresolved incidents (most severe, then newest first), those resolved lately, and
    the current impact of every unresolved one (`status.impact`)."""
    open_ids = session.scalars(
        select(_incidents.c.id).where(_incidents.c.status != "resolved")
    ).all()
    impacts = open_incident_impacts(session, list(open_ids))
    public = select(
        _incidents.c.severity,
        _incidents.c.title,
        _incidents.c.status,
        _incidents.c.opened_at,
        _incidents.c.acknowledged_at,
        _incidents.c.resolved_at,
    )
    unresolved = (
        public.where(_incidents.c.status != "resolved")
        # "SEV-1" sorts before "SEV-2": the text order is the severity order.
        .order_by(_incidents.c.severity, _incidents.c.opened_at.desc())
        .limit(_MAX_LISTED)
    )
    resolved = (
        public.where(
            _incidents.c.status == "resolved",
            _incidents.c.resolved_at >= now - RESOLVED_WINDOW,
        )
        .order_by(_incidents.c.resolved_at.desc())
        .limit(_MAX_LISTED)
    )
    return (
        [PublicIncident.model_validate(row._mapping) for row in session.execute(unresolved)],
        [PublicIncident.model_validate(row._mapping) for row in session.execute(resolved)],
        impacts,
    )


def overall_state(components: list[Component], impacts: list[Severity]) -> OverallState:
    """Major outage: a part is down or an open incident's impact is SEV-1 now. Degraded:
    a part is degraded or an incident with user impact (SEV-2, SEV-3) is open. SEV-4
    has no user impact. `impacts` are the open incidents' current impacts."""
    states = {component.state for component in components}
    severities = {str(impact) for impact in impacts}
    if ComponentState.OUTAGE in states or "SEV-1" in severities:
        return OverallState.MAJOR_OUTAGE
    if ComponentState.DEGRADED in states or severities & {"SEV-2", "SEV-3"}:
        return OverallState.DEGRADED
    return OverallState.OPERATIONAL


def build_status(platform: Platform, now: datetime | None = None) -> ServiceStatus:
    """Check every part now and read the incidents; never raises for a failing part."""
    now = now or utcnow()
    checks = platform.readiness()
    components = readiness_components(checks)
    impacts: list[Severity] = []
    if checks.get("database") == "ok":
        job_components, open_incidents, resolved, impacts = _database_facts(platform, now)
    else:
        job_components = unknown_components("Cannot be checked while the database is unreachable")
        open_incidents = resolved = None
    components += job_components
    state = overall_state(components, impacts)
    return ServiceStatus(
        status=state,
        summary=BANNERS[state],
        generated_at=now,
        components=components,
        open_incidents=open_incidents or [],
        recently_resolved=resolved or [],
        incidents_available=open_incidents is not None,
    )


def _database_facts(
    platform: Platform, now: datetime
) -> tuple[
    list[Component], list[PublicIncident] | None, list[PublicIncident] | None, list[Severity]
]:
    """Workers, job intake, incidents (None: could not be read) and their impacts."""
    try:
        with platform.read_sessions() as session:
            workers = workers_component(read_activity(session, now), now)
            intake = breaker_component(session, platform.settings)
            open_incidents, resolved, impacts = read_incidents(session, now)
        return [workers, intake], open_incidents, resolved, impacts
    except SQLAlchemyError:
        # The database went away between the readiness check and these reads.
        log.warning("status page: reading jobs or incidents failed", exc_info=True)
        return unknown_components("Cannot be checked right now"), None, None, []
