"""`synthdata incident ...` on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from tests.service.alertmanager_payloads import alert, notification
from typer.testing import CliRunner

from synthdata.cli.main import app
from synthdata.service.admin.models import AuditEntry
from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.incidents.alertmanager import AlertmanagerWebhook
from synthdata.service.incidents.intake import ingest

# The OS user the CLI runs as in these tests: getpass.getuser() reads LOGNAME first.
OS_USER = "oncall-olga"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Any:
    monkeypatch.setenv("SYNTHDATA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", str(settings.data_dir))
    for name in ("PAGERDUTY_ROUTING_KEY", "SLACK_WEBHOOK_URL", "PAGERDUTY_EVENTS_URL"):
        monkeypatch.delenv(f"SYNTHDATA_{name}", raising=False)
    monkeypatch.setenv("LOGNAME", OS_USER)

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["incident", *args])

    return run


def _open(settings: Settings, name: str, severity: str, minutes_ago: float = 0) -> str:
    engine = make_engine(settings.database_url)
    payload = AlertmanagerWebhook.model_validate(
        notification(f"{{}}:{{alertname={name!r}}}", alert(name, severity))
    )
    try:
        with session_scope(make_session_factory(engine)) as session:
            result = ingest(session, payload, now=utcnow() - timedelta(minutes=minutes_ago))
            assert result.incident is not None
            return result.incident.id
    finally:
        engine.dispose()


def _show(cli: Any, incident_id: str) -> dict[str, Any]:
    result = cli("show", incident_id, "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_list_and_show(cli: Any, settings: Settings) -> None:
    sev1 = _open(settings, "APIDown", "critical")
    sev3 = _open(settings, "HighResponseTime", "warning")

    listed = cli("list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["severity"], r["status"]) for r in rows] == [
        (sev3, "SEV-3", "open"),
        (sev1, "SEV-1", "open"),
    ]
    only = json.loads(cli("list", "--severity", "SEV-1", "--json").stdout)
    assert [r["id"] for r in only] == [sev1]
    assert json.loads(cli("list", "--status", "resolved", "--json").stdout) == []
    assert cli("list", "--severity", "SEV-9").exit_code == 2

    table = cli("list")
    assert table.exit_code == 0
    assert sev1 in table.stdout and sev3 in table.stdout and "SEV-3" in table.stdout

    shown = cli("show", sev1)
    assert shown.exit_code == 0, shown.output
    for expected in (
        "APIDown: APIDown summary",  # the title
        "Alerts",
        "firing",
        "SEV-1 checklist",
        "Start incident bridge call",
        "Timeline",
        "opened",
        "alert_firing",
    ):
        assert expected in shown.stdout, expected
    detail = _show(cli, sev1)
    assert detail["alerts"][0]["alertname"] == "APIDown"
    assert len(detail["checklist"]) == 7
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "alert_firing"]


def test_list_fits_80_columns(
    cli: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _open(settings, "DatabaseConnectionFailure", "critical", minutes_ago=5)
    acked = _open(settings, "HighResponseTime", "warning")
    assert cli("ack", acked).exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    table = cli("list")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, table.stdout
    # One line per incident, the id whole, its severity, status and title (cut to fit).
    rows = {line.split()[0]: line for line in lines if line.startswith("inc_")}
    assert set(rows) == {opened, acked}, table.stdout
    assert rows[opened].split()[1:3] == ["SEV-1", "open"]
    assert rows[acked].split()[1:3] == ["SEV-3", "acked"]
    assert "DatabaseConnec" in rows[opened] and "HighResponseT" in rows[acked]

    monkeypatch.setenv("COLUMNS", "160")  # a wide terminal also shows the clock and who acked
    wide = cli("list").stdout
    assert "ack due" in wide and "DatabaseConnectionFailure: DatabaseConnectionFailure" in wide
    assert [line.split()[7] for line in wide.splitlines() if line.startswith(acked)] == [OS_USER]


def _audit(settings: Settings, incident_id: str) -> list[tuple[str, str, str]]:
    engine = make_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target == incident_id))
        actions = sorted((a.action, a.actor, a.source) for a in audit)
    engine.dispose()
    return actions


def test_ack_note_tick_resolve_record_the_operator(cli: Any, settings: Settings) -> None:
    incident_id = _open(settings, "DatabaseConnectionFailure", "critical")
    acked = cli("ack", incident_id)  # no --by: the OS user
    assert acked.exit_code == 0 and f"as {OS_USER}" in acked.stderr, acked.output
    assert cli("ack", incident_id, "--by", "bob").exit_code == 0  # nothing to do, still fine
    noted = cli("note", incident_id, "restarted the primary", "--by", " Bob Smith ")
    assert noted.exit_code == 0, noted.output
    assert cli("tick", incident_id, "2", "--by", "carol").exit_code == 0
    detail = _show(cli, incident_id)
    assert detail["status"] == "acknowledged" and detail["acknowledged_by"] == OS_USER
    assert [s["done"] for s in detail["checklist"]][:3] == [True, True, False]
    assert [s["done_by"] for s in detail["checklist"]][:2] == [OS_USER, "carol"]

    bad_step = cli("tick", incident_id, "8")
    assert bad_step.exit_code == 2 and "no checklist step 8" in bad_step.stderr
    assert cli("note", incident_id, "  ").exit_code == 2
    for nobody in ("", "   ", "x" * 101, "tab\there"):
        refused = cli("resolve", incident_id, "--by", nobody)
        assert refused.exit_code == 2 and "--by" in refused.output, (nobody, refused.output)

    assert cli("resolve", incident_id, "--by", "dave@example.com").exit_code == 0
    late = cli("ack", incident_id)
    assert late.exit_code == 2 and "already resolved" in late.stderr
    detail = _show(cli, incident_id)
    assert detail["status"] == "resolved" and detail["resolved_by"] == "dave@example.com"
    lines = [(e["kind"], e["actor"], e["message"]) for e in detail["timeline"]]
    assert lines[2:] == [
        ("acknowledged", OS_USER, ""),
        ("note", "Bob Smith", "restarted the primary"),
        ("checklist_ticked", "carol", "2. Assess impact and scope"),
        ("resolved", "dave@example.com", ""),
    ]
    source = f"cli@{socket.gethostname()}"
    assert _audit(settings, incident_id) == [
        ("incident.acknowledge", OS_USER, source),
        ("incident.checklist_tick", "carol", source),
        ("incident.note", "Bob Smith", source),
        ("incident.resolve", "dave@example.com", source),
    ]


def test_unknown_incident_is_a_one_line_error(cli: Any) -> None:
    for args in (("show", "inc_nope"), ("ack", "inc_nope"), ("note", "inc_nope", "x")):
        result = cli(*args)
        assert result.exit_code == 2
        assert result.stderr.strip() == "error: incident 'inc_nope' not found"


@pytest.fixture
def slack() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local stand-in for Slack's incoming webhook, recording the JSON bodies."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_escalate_runs_one_pass(
    cli: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    slack: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = slack
    monkeypatch.setenv("SYNTHDATA_SLACK_WEBHOOK_URL", url)
    overdue = _open(settings, "HighResponseTime", "warning", minutes_ago=300)
    unpaged = _open(settings, "APIDown", "critical", minutes_ago=30)  # no PagerDuty key
    _open(settings, "HighCPU", "warning", minutes_ago=5)  # not due yet

    result = cli("escalate", "--json")
    assert result.exit_code == 0, result.output
    outcomes = {o["incident_id"]: (o["target"], o["outcome"]) for o in json.loads(result.stdout)}
    assert outcomes == {overdue: ("slack", "sent"), unpaged: ("pagerduty", "skipped")}
    (message,) = received
    assert message["attachments"][0]["fields"][2]["value"] == overdue
    assert json.loads(cli("escalate", "--json").stdout) == []
    assert _show(cli, unpaged)["timeline"][-1]["message"] == (
        "escalation_skipped: not configured (pagerduty)"
    )
