"""Alertmanager webhook payloads (version 4) as Alertmanager writes them, for the tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "no end yet"


def alert(
    name: str,
    severity: str,
    *,
    status: str = "firing",
    instance: str = "api-0",
    summary: str = "",
    service: str = "synthdata-api",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> dict[str, Any]:
    """One alert; its fingerprint is derived from its labels, as Alertmanager's is.

    It started 3 minutes ago unless `starts_at` says when; a resolved one ends now
    unless `ends_at` says when.
    """
    labels = {"alertname": name, "severity": severity, "service": service, "instance": instance}
    fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
    now = datetime.now(UTC)
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": summary or f"{name} summary"},
        "startsAt": (starts_at or now - timedelta(minutes=3)).isoformat(),
        "endsAt": (ends_at or now).isoformat() if status == "resolved" else ZERO_TIME,
        "generatorURL": "http://prometheus.test/graph",
        "fingerprint": fingerprint,
    }


def notification(group_key: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    """One notification of group `group_key`: resolved when every alert is."""
    first = alerts[0]["labels"]
    common = {k: v for k, v in first.items() if all(a["labels"].get(k) == v for a in alerts)}
    summaries = {a["annotations"]["summary"] for a in alerts}
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "resolved" if all(a["status"] == "resolved" for a in alerts) else "firing",
        "receiver": "web.hook",
        "groupLabels": {"alertname": first["alertname"]},
        "commonLabels": common,
        "commonAnnotations": {"summary": summaries.pop()} if len(summaries) == 1 else {},
        "externalURL": "http://alertmanager.test",
        "alerts": list(alerts),
    }


def group_key(name: str) -> str:
    """A group key shaped like Alertmanager's (route path, then the group labels)."""
    return f'{{}}/{{severity="critical"}}:{{alertname="{name}", service="synthdata-api"}}'
