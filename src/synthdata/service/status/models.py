"""What the status page says, as the JSON document `GET /status.json` returns.

Everything here is public: component names, a short human reason, and the severity,
title and times of incidents. Never a connection string, host name, key or customer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ComponentState(StrEnum):
    """How one part of the service is doing, best first."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"


class OverallState(StrEnum):
    """The banner at the top of the page."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    MAJOR_OUTAGE = "major_outage"


BANNERS = {
    OverallState.OPERATIONAL: "All systems operational",
    OverallState.DEGRADED: "Degraded performance",
    OverallState.MAJOR_OUTAGE: "Major outage",
}


class Component(BaseModel):
    """One part of the service and why it is in its state."""

    name: str = Field(examples=["Database"])
    state: ComponentState
    reason: str = Field(examples=["Responding normally"])


class PublicIncident(BaseModel):
    """An incident as the public sees it (no alerts, owners, notes or internal keys)."""

    severity: str = Field(examples=["SEV-2"])
    title: str
    status: str = Field(examples=["acknowledged"])
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


class ServiceStatus(BaseModel):
    """The whole status page."""

    status: OverallState
    summary: str = Field(examples=["All systems operational"])
    generated_at: datetime
    components: list[Component]
    open_incidents: list[PublicIncident] = Field(
        description="Unresolved incidents, most severe first, then newest first."
    )
    recently_resolved: list[PublicIncident] = Field(
        description="Incidents resolved in the last 7 days, newest first."
    )
    incidents_available: bool = Field(
        description="False when the incident list could not be read (database unreachable)."
    )
