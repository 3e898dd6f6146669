"""The circuit breaker (a flag in the database) and the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synthdata.engine.errors import InputError
from synthdata.service.admin.models import SERVICES, AuditEntry, BreakerState, Flag
from synthdata.service.admin.privileged import is_privileged
from synthdata.service.core.db import utcnow


def _flag_key(service: str) -> str:
    return f"circuit-breaker:{service}"


def check_service(service: str) -> str:
    """Refuse names of services that have no breaker (typos must not silently no-op)."""
    if service not in SERVICES:
        raise InputError(f"unknown service {service!r} (known: {', '.join(SERVICES)})")
    return service


def get_breaker(session: Session, service: str, default_retry_after: int) -> BreakerState:
    """The breaker of `service` as stored (off when never set)."""
    flag = session.get(Flag, _flag_key(check_service(service)))
    if flag is None:
        return BreakerState(service=service, enabled=False, retry_after=default_retry_after)
    value = flag.value
    return BreakerState(
        service=service,
        enabled=bool(value.get("enabled")),
        reason=str(value.get("reason", "")),
        retry_after=int(value.get("retry_after") or default_retry_after),
        updated_at=flag.updated_at,
        updated_by=flag.updated_by,
    )


def set_breaker(
    session: Session,
    service: str,
    *,
    enabled: bool,
    reason: str,
    retry_after: int,
    actor: str,
    source: str = "",
) -> BreakerState:
    """Turn the breaker of `service` on or off, and record who did it."""
    key = _flag_key(check_service(service))
    value = {"enabled": enabled, "reason": reason, "retry_after": retry_after}
    flag = session.get(Flag, key)
    if flag is None:
        flag = Flag(key=key, value=value, updated_by=actor)
        session.add(flag)
    else:
        flag.value, flag.updated_by, flag.updated_at = value, actor, utcnow()
    audit(
        session,
        actor=actor,
        action="circuit_breaker.enable" if enabled else "circuit_breaker.disable",
        target=service,
        source=source,
        detail={"reason": reason, "retry_after": retry_after},
    )
    session.flush()
    return get_breaker(session, service, retry_after)


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    source: str = "",
    detail: dict[str, Any] | None = None,
    privileged: bool | None = None,
) -> AuditEntry:
    """Append one action to the audit log (same transaction as the action).

    Privileged actions (customer and key management, switches, configuration and
    cluster changes) count in `privileged_operations_total`, which the API reads from
    this log when scraped (admin/privileged.py), so a CLI process's actions count too;
    on-call work on incidents (`incident.*`) is audited but not counted. `privileged`,
    when given, must agree with that rule: the action's name decides.
    """
    if privileged is not None and privileged != is_privileged(action):
        raise ValueError(f"audit action {action!r}: privileged is decided by its name")
    entry = AuditEntry(
        actor=actor, action=action, target=target, source=source[:100], detail=detail or {}
    )
    session.add(entry)
    return entry


def list_audit(
    session: Session, *, limit: int, before: int | None, action: str | None
) -> list[AuditEntry]:
    """Newest entries first, `limit` at a time before the cursor id `before`."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))
