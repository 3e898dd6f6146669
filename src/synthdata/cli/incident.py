"""`synthdata incident list|show|ack|resolve|note|tick|escalate`.

Works on the database directly (like `synthdata admin`), so it serves on the API's
host even when the API does not answer. Actions are recorded on the timeline and in
the audit log as done by the operator: `--by NAME`, else the OS user (see
`cli.operator`). Tables by default, `--json` for scripts.
The service modules (which pull in the web framework) are imported when a command
runs, so that `synthdata --help` and the engine commands stay quick to start.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from synthdata.cli.console import console, error, info
from synthdata.cli.operator import ByOpt, cli_source, operator
from synthdata.cli.service import run_in_session, settings_from_env
from synthdata.service.core.pagination import paginate
from synthdata.service.incidents.models import (
    Incident,
    IncidentDetail,
    IncidentOut,
    IncidentStatus,
    Severity,
)

T = TypeVar("T")

app = typer.Typer(
    help="Incidents opened from Alertmanager: list, show, ack, resolve, note, tick, escalate.",
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(help="The incident's id (inc_...).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]


def _run(action: Callable[[Session], T]) -> T:
    """`run_in_session`, with the service's problems (404, 409) as one-line errors."""
    from synthdata.service.core.problems import Problem

    try:
        return run_in_session(action, announce=False)
    except Problem as exc:
        error(exc.detail)
        raise typer.Exit(2) from None


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else ""


@app.command("list")
def list_incidents(
    status: Annotated[
        IncidentStatus | None, typer.Option(help="Only incidents in this status.")
    ] = None,
    severity: Annotated[Severity | None, typer.Option(help="Only this severity.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Incidents, newest first."""
    from synthdata.service.incidents import service

    def action(session: Session) -> list[IncidentOut]:
        query = service.listing_query(status, severity)
        page = paginate(
            session,
            query,
            Incident.id,
            limit=limit,
            cursor=None,
            render=IncidentOut.model_validate,
        )
        return page.items

    rows = _run(action)
    if as_json:
        _print_json([row.model_dump(mode="json") for row in rows])
        return
    # The terminal's width now (COLUMNS first), not the one the shared console saw at
    # start (rich caps a print's width at that one, so this table gets its own console).
    width = shutil.get_terminal_size(fallback=(console.width, 24)).columns
    Console(width=width).print(incident_table(rows, wide=width >= WIDE_LIST))


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


@app.command("show")
def show(incident_id: IdArg, as_json: JsonOpt = False) -> None:
    """One incident: its alerts, checklist and timeline."""
    from synthdata.service.incidents import service

    found = _run(lambda s: service.detail(s, service.get_incident(s, incident_id)))
    if as_json:
        _print_json(found.model_dump(mode="json"))
        return
    render_detail(found)


def render_detail(found: IncidentDetail) -> None:
    """Print an incident as a summary, then alerts, checklist and timeline tables."""
    summary = Table(title=Text(f"{found.id}: {found.title}"), show_header=False)
    summary.add_column("field")
    summary.add_column("value")
    for field, value in (
        ("severity", found.severity),
        ("status", found.status),
        ("service", found.service),
        ("opened", _when(found.opened_at)),
        ("ack due", _when(found.ack_due_at)),
        ("acknowledged", f"{_when(found.acknowledged_at)} {found.acknowledged_by}".strip()),
        ("escalated", _when(found.escalated_at)),
        ("resolved", f"{_when(found.resolved_at)} {found.resolved_by}".strip()),
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
            _when(alert.starts_at),
            Text(str(alert.annotations.get("summary", ""))),
        )
    console.print(alerts)

    if found.checklist:
        checklist = Table(title="SEV-1 checklist")
        for heading in ("#", "step", "done", "by"):
            checklist.add_column(heading)
        for number, item in enumerate(found.checklist, start=1):
            done = _when(item.done_at) if item.done else ""
            checklist.add_row(str(number), item.item, done or "no", item.done_by)
        console.print(checklist)

    timeline = Table(title="Timeline")
    for heading in ("at", "actor", "event", "message"):
        timeline.add_column(heading)
    for event in found.timeline:
        timeline.add_row(_when(event.at), event.actor, event.kind, Text(event.message))
    console.print(timeline)


def _act(incident_id: str, change: Callable[[Session, Incident], object], done: str) -> None:
    """Apply `change`; it returns False when there was nothing to do (already done)."""
    from synthdata.service.incidents import service

    def action(session: Session) -> object:
        return change(session, service.get_incident(session, incident_id))

    changed = _run(action)
    info(done if changed is not False else f"{incident_id}: nothing to do, already done")


@app.command("ack")
def ack(incident_id: IdArg, by: ByOpt = None) -> None:
    """Acknowledge an incident (stops its escalation)."""
    from synthdata.service.incidents import service

    actor, source = operator(by), cli_source()
    _act(
        incident_id,
        lambda s, i: service.acknowledge(s, i, actor=actor, source=source),
        f"acknowledged {incident_id} as {actor}",
    )


@app.command("resolve")
def resolve(incident_id: IdArg, by: ByOpt = None) -> None:
    """Resolve an incident by hand."""
    from synthdata.service.incidents import service

    actor, source = operator(by), cli_source()
    _act(
        incident_id,
        lambda s, i: service.resolve(s, i, actor=actor, source=source),
        f"resolved {incident_id} as {actor}",
    )


@app.command("note")
def note(
    incident_id: IdArg,
    message: Annotated[str, typer.Argument(help="The note (quote it).")],
    by: ByOpt = None,
) -> None:
    """Add a note to an incident's timeline."""
    from synthdata.service.incidents import service

    if not message.strip():
        error("the note is empty")
        raise typer.Exit(2)
    actor, source = operator(by), cli_source()
    _act(
        incident_id,
        lambda s, i: service.add_note(s, i, message, actor=actor, source=source),
        f"noted on {incident_id} as {actor}",
    )


@app.command("tick")
def tick(
    incident_id: IdArg,
    step: Annotated[int, typer.Argument(min=1, help="Checklist step, 1-based as in `show`.")],
    by: ByOpt = None,
) -> None:
    """Tick a step of a SEV-1 incident's checklist."""
    from synthdata.service.incidents import service

    actor, source = operator(by), cli_source()
    _act(
        incident_id,
        lambda s, i: service.tick(s, i, step, actor=actor, source=source),
        f"ticked step {step} of {incident_id} as {actor}",
    )


@app.command("escalate")
def escalate(as_json: JsonOpt = False) -> None:
    """Escalate every overdue, unacknowledged incident now (as the API does periodically)."""
    from synthdata.service.core.db import make_engine, make_session_factory
    from synthdata.service.core.migrate import upgrade_head
    from synthdata.service.incidents.escalation import run_escalations

    settings = settings_from_env()
    upgrade_head(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        outcomes = run_escalations(make_session_factory(engine), settings)
    finally:
        engine.dispose()
    if as_json:
        _print_json([o.__dict__ for o in outcomes])
        return
    if not outcomes:
        info("no overdue incident to escalate")
        return
    table = Table(title="Escalations")
    table.add_column("incident", no_wrap=True)
    for heading in ("target", "outcome", "detail"):
        table.add_column(heading)
    for o in outcomes:
        table.add_row(o.incident_id, o.target, o.outcome, Text(o.detail))
    console.print(table)
