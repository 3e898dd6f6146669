"""The incident tables.

An incident groups the alerts of one Alertmanager group (`group_key`); each alert is
kept once per incident by its fingerprint. Every action on an incident (opened, an
alert firing or resolving, acknowledged, a note, escalated, resolved) is a row of its
timeline. `ack_due_at` is the runbook's response clock for the incident's severity.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.service.core.db import Base, UTCDateTime, new_id, utcnow
from synthdata.service.core.inputs import RequestModel


class Severity(StrEnum):
    """The runbook's severity levels."""

    SEV1 = "SEV-1"
    SEV2 = "SEV-2"
    SEV3 = "SEV-3"
    SEV4 = "SEV-4"


class IncidentStatus(StrEnum):
    """Where an incident is; `resolved` is final."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Incident(Base):
    """One incident: a group of alerts with a severity, a response clock and an owner."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_opened", "status", "opened_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("inc"))
    group_key: Mapped[str] = mapped_column(String(500), index=True)
    title: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=IncidentStatus.OPEN.value)
    service: Mapped[str] = mapped_column(String(100), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str] = mapped_column(String(100), default="")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class IncidentAlert(Base):
    """One alert of an incident, kept once by its Alertmanager fingerprint."""

    __tablename__ = "incident_alerts"
    __table_args__ = (UniqueConstraint("incident_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    alertname: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentEvent(Base):
    """One line of an incident's timeline."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- request and response documents --------------------------------------------------------
class ChecklistItem(BaseModel):
    """One step of the SEV-1 checklist."""

    item: str
    done: bool
    done_at: datetime | None = None
    done_by: str = ""


class IncidentOut(BaseModel):
    """An incident as lists show it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    severity: str
    status: str
    service: str
    group_key: str
    opened_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str


class AlertOut(BaseModel):
    """One alert of an incident."""

    model_config = ConfigDict(from_attributes=True)

    fingerprint: str
    alertname: str
    status: str
    labels: dict[str, Any]
    annotations: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    updated_at: datetime


class EventOut(BaseModel):
    """One line of the timeline."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    kind: str
    message: str
    detail: dict[str, Any]


class IncidentDetail(IncidentOut):
    """An incident with its alerts, checklist and timeline (oldest line first)."""

    alerts: list[AlertOut]
    checklist: list[ChecklistItem]
    timeline: list[EventOut]


class NoteIn(RequestModel):
    """A note for the timeline."""

    # The rule of `_printable`, as the schema states it: no NUL (PostgreSQL cannot store
    # it in text), and one character other than a space, tab or line break.
    message: str = Field(min_length=1, max_length=5000, pattern=r"^[^\x00]*[^\x00 \t\n\r][^\x00]*$")

    @field_validator("message", mode="before")
    @classmethod
    def _printable(cls, value: object) -> object:
        """The pattern's two rules, each with a message that names it."""
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("the note must not contain NUL characters")
            if not value.strip(" \t\n\r"):
                raise ValueError("the note is empty")
        return value


class WebhookResult(BaseModel):
    """What one Alertmanager notification did."""

    incident_id: str | None = Field(
        description=(
            "The group's incident (null: a resolved notification with no open incident, "
            "or a stale redelivered one)."
        )
    )
    status: str | None
    severity: str | None
    changes: int = Field(description="Timeline lines written (0 for a repeated notification).")
