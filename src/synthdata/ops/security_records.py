"""The audit log and the API keys, read for the security commands (read-only).

The commands never migrate or write: they open the configured database, read, and
close. A database that cannot be read is reported as `Unreachable`, its URL shown
without the password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from synthdata.observability.logging import scrub
from synthdata.ops.live_api import Unreachable
from synthdata.service.admin.models import AuditEntry
from synthdata.service.core.db import make_engine
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import ApiKey

T = TypeVar("T")


@dataclass(frozen=True)
class AuditRecord:
    """One privileged action."""

    at: datetime
    actor: str
    action: str
    target: str
    source: str


@dataclass(frozen=True)
class KeyRecord:
    """One API key, without its secret or hash."""

    id: str
    customer_id: str | None
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _read(settings: Settings, action: Callable[[Session], T]) -> T:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return action(session)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise Unreachable(f"database at {scrub(settings.database_url)}: {reason}") from None
    finally:
        engine.dispose()


def audit_entries(settings: Settings, start: datetime, end: datetime) -> list[AuditRecord]:
    """Audit log entries with `start <= at < end`, oldest first."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.at >= start, AuditEntry.at < end)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return _read(
        settings,
        lambda session: [
            AuditRecord(e.at, e.actor, e.action, e.target, e.source) for e in session.scalars(query)
        ],
    )


def api_keys(settings: Settings) -> list[KeyRecord]:
    """Every API key (revoked ones too)."""
    return _read(
        settings,
        lambda session: [
            KeyRecord(
                k.id, k.customer_id, k.name, k.role, k.created_at, k.revoked_at, k.last_used_at
            )
            for k in session.scalars(select(ApiKey).order_by(ApiKey.created_at))
        ],
    )
