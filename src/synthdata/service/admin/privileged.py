"""Which audit-log actions are privileged, and how many of each the audit log holds.

The audit log is the one record every process writes: the API, and the CLI, which
runs in a process of its own that Prometheus never scrapes (`synthdata admin
create-customer`, the circuit-breaker and Kubernetes commands of `synthdata ops`).
So `privileged_operations_total` is not counted where an action happens but read
from the audit log when the API is scraped: an action from any process reaches
the PrivilegedOperationsSpike alert at the next scrape, and every replica reports
the same total (the alert takes the largest increase over the replicas).

On-call work on incidents (`incident.*`: acknowledge, notes, checklist, resolve) is
audited but never privileged, so working an incident cannot raise the alert.

The counter is the number of rows, so it only grows while audit rows are kept (no
code deletes them). A retention job that deleted rows would make it fall, which
Prometheus reads as a counter reset (and `increase()` as a burst): such a job must
keep a per-action tally of what it removed and add it here.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synthdata.service.admin.models import AuditEntry

NOT_PRIVILEGED_PREFIX = "incident."

# The privileged actions written to the audit log (see the callers of admin/service.py
# `audit`); each is reported at 0 before the first.
PRIVILEGED_OPERATIONS = (
    "customer.create",
    "api_key.create",
    "api_key.revoke",
    "circuit_breaker.enable",
    "circuit_breaker.disable",
    "model_cache.configure",
    "k8s.scale",
    "k8s.restart",
    "k8s.update_resources",
    "k8s.redirect_traffic",
)


def is_privileged(action: str) -> bool:
    """Whether an audit-log action counts as a privileged operation."""
    return not action.startswith(NOT_PRIVILEGED_PREFIX)


def privileged_counts(session: Session) -> dict[str, float]:
    """Privileged audit-log entries by action, over the whole log."""
    query = (
        select(AuditEntry.action, func.count())
        .where(AuditEntry.action.not_like(f"{NOT_PRIVILEGED_PREFIX}%"))
        .group_by(AuditEntry.action)
    )
    return {action: float(count) for action, count in session.execute(query)}
