"""How bad an open incident is right now, for the banner: from its firing alerts.

An incident keeps the worst severity it ever had (the pager's record), but the public
banner says what users meet now. Its impact is the worst of its firing alerts under
the incident policy, with one exception: error-budget burn alerts measure errors over
windows of hours and keep firing long after the service recovered (the 6h/30m pair
up to 30 minutes), so on the page they mean "degraded", never "major outage". A
complete outage is what APIDown, APIAvailabilityLow or DatabaseConnectionFailure say,
and they react within minutes. An incident with no firing alert (opened by hand, or
its alerts resolved just now) is judged by its recorded severity.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import JSON, String, column, select, table
from sqlalchemy.orm import Session

from synthdata.service.incidents.models import Severity
from synthdata.service.incidents.policy import alert_severity, worst

BUDGET_BURN_ALERTS = frozenset({"APIErrorBudgetBurn"})

_incidents = table("incidents", column("id", String), column("severity", String))
_alerts = table(
    "incident_alerts",
    column("incident_id", String),
    column("status", String),
    column("labels", JSON),
)


def page_severity(labels: dict[str, Any]) -> Severity:
    """One firing alert's severity as the status page weighs it."""
    severity = alert_severity(labels)
    if labels.get("alertname") in BUDGET_BURN_ALERTS and severity == Severity.SEV1:
        return Severity.SEV2
    return severity


def open_incident_impacts(session: Session, open_ids: list[str]) -> list[Severity]:
    """The current impact of each open incident in `open_ids`."""
    if not open_ids:
        return []
    recorded = {
        incident_id: severity
        for incident_id, severity in session.execute(
            select(_incidents.c.id, _incidents.c.severity).where(_incidents.c.id.in_(open_ids))
        )
    }
    firing: dict[str, list[Severity]] = defaultdict(list)
    rows = session.execute(
        select(_alerts.c.incident_id, _alerts.c.labels).where(
            _alerts.c.incident_id.in_(open_ids), _alerts.c.status == "firing"
        )
    )
    for incident_id, labels in rows:
        firing[incident_id].append(page_severity(labels or {}))
    return [
        worst(firing[incident_id]) if firing[incident_id] else Severity(severity)
        for incident_id, severity in recorded.items()
    ]
