"""The runbook's incident policy as pure functions: severity, response clock, checklist.

Severity of one alert (runbook "Incident Classification"):

| alert                                                            | severity |
| ---------------------------------------------------------------- | -------- |
| `severity=critical` and an outage alert (`SEV1_ALERTS`: the API   | SEV-1    |
| is down or unavailable, the database is down, the availability   |          |
| error budget burns fast)                                          |          |
| any other `severity=critical`                                     | SEV-2    |
| `severity=warning`                                                | SEV-3    |
| `severity=info`, no severity, anything else                       | SEV-4    |

An incident takes the worst severity of the alerts that fired while it was open; it
is never lowered automatically (a SEV-1 stays a SEV-1 on the record once its outage
alert resolves). The response clock ("Response Times") starts when the incident opens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from synthdata.service.incidents.models import Severity

# The alerts of monitoring/prometheus/rules/*.yml that mean a complete outage when
# critical (tests/service/test_incidents.py checks each exists there as critical).
# APIErrorBudgetBurn is critical only for its fast burn (the slow burn is a warning).
SEV1_ALERTS = frozenset(
    {"APIDown", "APIAvailabilityLow", "DatabaseConnectionFailure", "APIErrorBudgetBurn"}
)

# Alerts that one root cause fires together, by cause: one incident (and one page)
# per cause and service. Alertmanager groups the same list into one notification
# (monitoring/alertmanager/alertmanager.yml); the intake attaches a family alert that
# still arrives in another group (another route, or an older configuration) to the
# cause's open incident. An alert may also name its cause itself (`cause_group` label).
CAUSE_GROUPS = {
    "api-errors": frozenset({"APIAvailabilityLow", "HighErrorRate", "APIErrorBudgetBurn"}),
}
CAUSE_LABEL = "cause_group"

RESPONSE_TIMES = {
    Severity.SEV1: timedelta(minutes=15),
    Severity.SEV2: timedelta(hours=1),
    Severity.SEV3: timedelta(hours=4),
}
BUSINESS_TZ = UTC
BUSINESS_DAY_START = time(9, 0)  # SEV-4: 09:00 UTC of the next weekday

# Lower rank is worse.
_RANK = {Severity.SEV1: 1, Severity.SEV2: 2, Severity.SEV3: 3, Severity.SEV4: 4}

# The runbook's "SEV-1 Incident Response" checklist, in its order.
SEV1_CHECKLIST = (
    "Acknowledge alert within 15 minutes",
    "Assess impact and scope",
    "Start incident bridge call",
    "Notify stakeholders",
    "Begin mitigation efforts",
    "Update status page",
    "Document actions taken",
)


def alert_severity(labels: Mapping[str, str]) -> Severity:
    """The severity of one alert, from its `alertname` and `severity` labels."""
    level = labels.get("severity", "").strip().lower()
    if level == "critical":
        return Severity.SEV1 if labels.get("alertname", "") in SEV1_ALERTS else Severity.SEV2
    if level == "warning":
        return Severity.SEV3
    return Severity.SEV4


def cause_of(labels: Mapping[str, str]) -> str:
    """The root cause an alert belongs to, per service ("api-errors/synthdata-api"); ""
    for an alert that stands alone."""
    cause = labels.get(CAUSE_LABEL, "")
    if not cause:
        name = labels.get("alertname", "")
        cause = next((group for group, names in CAUSE_GROUPS.items() if name in names), "")
    return f"{cause}/{labels.get('service', '')}" if cause else ""


def worst(severities: Iterable[Severity | str]) -> Severity:
    """The most severe of `severities` (SEV-4 when there are none)."""
    found = [Severity(s) for s in severities]
    return min(found, key=_RANK.__getitem__) if found else Severity.SEV4


def is_worse(candidate: Severity | str, than: Severity | str) -> bool:
    """Whether `candidate` is strictly more severe than `than`."""
    return _RANK[Severity(candidate)] < _RANK[Severity(than)]


def ack_due_at(severity: Severity | str, opened_at: datetime) -> datetime:
    """When an incident opened at `opened_at` (aware) must be acknowledged.

    SEV-1 15 min, SEV-2 1 h, SEV-3 4 h; SEV-4 the next business day, which is 09:00
    UTC of the first weekday after the opening day (Friday, Saturday, Sunday: Monday).
    """
    severity = Severity(severity)
    if severity in RESPONSE_TIMES:
        return opened_at + RESPONSE_TIMES[severity]
    day = opened_at.astimezone(BUSINESS_TZ).date() + timedelta(days=1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    return datetime.combine(day, BUSINESS_DAY_START, tzinfo=BUSINESS_TZ)


def escalation_target(severity: Severity | str) -> str:
    """Where an unacknowledged incident escalates: SEV-1/2 page, SEV-3/4 post to Slack."""
    return "pagerduty" if Severity(severity) in (Severity.SEV1, Severity.SEV2) else "slack"


def new_checklist(severity: Severity | str) -> list[dict[str, Any]]:
    """The checklist attached to a new incident: the SEV-1 one, or none."""
    if Severity(severity) != Severity.SEV1:
        return []
    return [
        {"item": item, "done": False, "done_at": None, "done_by": ""} for item in SEV1_CHECKLIST
    ]
