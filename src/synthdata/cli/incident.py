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
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from synthdata.cli.console import console, error, info
from synthdata.cli.incident_render import WIDE_LIST, incident_table, render_detail
from synthdata.cli.operator import ByOpt, cli_source, operator
from synthdata.cli.service import run_in_session, settings_from_env
from synthdata.service.core.pagination import paginate
from synthdata.service.incidents.models import (
    Incident,
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


@app.command("show")
def show(incident_id: IdArg, as_json: JsonOpt = False) -> None:
    """One incident: its alerts, checklist and timeline."""
    from synthdata.service.incidents import service

    found = _run(lambda s: service.detail(s, service.get_incident(s, incident_id)))
    if as_json:
        _print_json(found.model_dump(mode="json"))
        return
    render_detail(found)


def _act(incident_id: str, change: Callable[[Session, Incident], T], done: str) -> T:
    """Apply `change`; it returns False when there was nothing to do (already done)."""
    from synthdata.service.incidents import service

    def action(session: Session) -> T:
        return change(session, service.get_incident(session, incident_id))

    changed = _run(action)
    info(done if changed is not False else f"{incident_id}: nothing to do, already done")
    return changed


def _sync_pagerduty(
    incident_id: str,
    change: Callable[[Session, Incident], bool],
    done: str,
    action: Literal["acknowledge", "resolve"],
) -> None:
    """`_act`, then the same acknowledge or resolve of the incident's PagerDuty alert.

    Sent after the change was committed (a slow PagerDuty holds no database lock);
    a failure is written on the timeline and shown, and leaves the change in place.
    """
    from synthdata.service.incidents import pagerduty

    def change_and_ref(session: Session, incident: Incident) -> pagerduty.PageRef | bool:
        return pagerduty.page_ref(incident) if change(session, incident) else False

    ref = _act(incident_id, change_and_ref, done)
    if ref is False:
        return  # nothing changed here: PagerDuty was told the first time
    assert isinstance(ref, pagerduty.PageRef)
    settings = settings_from_env()
    outcome = _run(lambda s: pagerduty.sync(s, settings, ref, action))
    if outcome == "sent":
        info(f"PagerDuty: {action} sent")
    elif outcome:
        error(f"PagerDuty: {action} {outcome} (written on the timeline)")


@app.command("ack")
def ack(incident_id: IdArg, by: ByOpt = None) -> None:
    """Acknowledge an incident (stops its escalation) and its PagerDuty alert."""
    from synthdata.service.incidents import service

    actor, source = operator(by), cli_source()
    _sync_pagerduty(
        incident_id,
        lambda s, i: service.acknowledge(s, i, actor=actor, source=source),
        f"acknowledged {incident_id} as {actor}",
        "acknowledge",
    )


@app.command("resolve")
def resolve(incident_id: IdArg, by: ByOpt = None) -> None:
    """Resolve an incident by hand, and its PagerDuty alert."""
    from synthdata.service.incidents import service

    actor, source = operator(by), cli_source()
    _sync_pagerduty(
        incident_id,
        lambda s, i: service.resolve(s, i, actor=actor, source=source),
        f"resolved {incident_id} as {actor}",
        "resolve",
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
