"""How `synthdata incident list` and `show` print incidents (tables with rich)."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.table import Table
from rich.text import Text

from synthdata.cli.console import console
from synthdata.service.incidents.models import IncidentDetail, IncidentOut, IncidentStatus


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else ""


# From this many columns, `incident list` also shows the response clock and who acted.
WIDE_LIST = 120


def incident_table(rows: list[IncidentOut], *, wide: bool) -> Table:
    """One line per incident; the title is cut to fit (`show` prints it whole).

    At 80 columns the id (copied from here, so never folded or cut), severity,
    status and opening time leave about 16 characters for the title; from
    `WIDE_LIST` columns the response clock and who acted are shown too.
    """
    table = Table(
        title=f"{len(rows)} incident(s), times in UTC",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),  # with the box's blank divider: two spaces between columns
    )
    for heading in ("id", "sev", "status", "opened"):
        table.add_column(heading, no_wrap=True)
    if wide:
        table.add_column("ack due", no_wrap=True)
        table.add_column("by", no_wrap=True)
    # The only column that may shrink: rich narrows wrappable columns first.
    table.add_column("title", overflow="ellipsis", min_width=8)
    for row in rows:
        status = row.status if wide else _SHORT_STATUS.get(row.status, row.status)
        cells: list[str | Text] = [row.id, row.severity, status, _short_when(row.opened_at)]
        if wide:
            cells += [_short_when(row.ack_due_at), row.acknowledged_by or row.resolved_by]
        table.add_row(*cells, Text(row.title, no_wrap=True, overflow="ellipsis"))
    return table


_SHORT_STATUS = {IncidentStatus.ACKNOWLEDGED.value: "acked"}


def _short_when(value: datetime | None) -> str:
    return value.strftime("%m-%d %H:%M") if value else ""


def render_detail(found: IncidentDetail) -> None:
    """Print an incident as a summary, then alerts, checklist and timeline tables."""
    summary = Table(title=Text(f"{found.id}: {found.title}"), show_header=False)
    summary.add_column("field")
    summary.add_column("value")
    for field, value in (
        ("severity", found.severity),
        ("status", found.status),
        ("service", found.service),
        ("opened", when(found.opened_at)),
        ("ack due", when(found.ack_due_at)),
        ("acknowledged", f"{when(found.acknowledged_at)} {found.acknowledged_by}".strip()),
        ("escalated", when(found.escalated_at)),
        ("resolved", f"{when(found.resolved_at)} {found.resolved_by}".strip()),
    ):
        summary.add_row(field, Text(value))
    console.print(summary)

    alerts = Table(title="Alerts")
    for heading in ("alert", "status", "severity label", "since", "summary"):
        alerts.add_column(heading)
    for alert in found.alerts:
        alerts.add_row(
            alert.alertname,
            alert.status,
            str(alert.labels.get("severity", "")),
            when(alert.starts_at),
            Text(str(alert.annotations.get("summary", ""))),
        )
    console.print(alerts)

    if found.checklist:
        checklist = Table(title="SEV-1 checklist")
        for heading in ("#", "step", "done", "by"):
            checklist.add_column(heading)
        for number, item in enumerate(found.checklist, start=1):
            done = when(item.done_at) if item.done else ""
            checklist.add_row(str(number), item.item, done or "no", item.done_by)
        console.print(checklist)

    timeline = Table(title="Timeline")
    for heading in ("at", "actor", "event", "message"):
        timeline.add_column(heading)
    for event in found.timeline:
        timeline.add_row(when(event.at), event.actor, event.kind, Text(event.message))
    console.print(timeline)
