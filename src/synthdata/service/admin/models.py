"""Platform flags (the circuit breaker) and the audit log of admin actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.service.core.db import Base, UTCDateTime, utcnow
from synthdata.service.core.inputs import INTEGRAL, RequestModel

SERVICES = ("synthdata-api",)
"""Services that have a circuit breaker."""


class Flag(Base):
    """A platform-wide switch kept in the database, so every replica sees it."""

    __tablename__ = "flags"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class AuditEntry(Base):
    """One privileged action: who did what to which object, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BreakerState(BaseModel):
    """The circuit breaker of one service."""

    service: str
    enabled: bool
    reason: str = ""
    retry_after: int
    updated_at: datetime | None = None
    updated_by: str = ""


class BreakerChange(RequestModel):
    """Turn a circuit breaker on or off."""

    enabled: bool
    reason: str = Field(default="", max_length=500)
    retry_after: Annotated[int, Field(ge=1, le=86_400), INTEGRAL] | None = None


class AuditOut(BaseModel):
    """An audit log entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    source: str
    detail: dict[str, Any]
