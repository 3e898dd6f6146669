"""The incident record survives the outages it records (issue 14, item 11).

Real processes: `synthdata serve` on PostgreSQL (through a TCP proxy the test
controls), `synthdata incident-spool`, and Alertmanager running the shipped routing
with its incident webhook pointed at the spool. PagerDuty and Slack are a local
recorder: Alertmanager's own pages arrive at `/pagerduty`, the escalations of
unacknowledged incidents (by the API or the spool) at `/escalation`.

Each outage lasts `SYNTHDATA_TEST_OUTAGE_SECONDS` (20 s in the suite; the issue's
acceptance run is 120 s). Alerts are posted to Alertmanager's API with a `startsAt`
chosen so that the SEV-1 deadline (15 minutes after it) passes during the outage:

1. The API is SIGKILLed; APIDown fires, its deadline passes, it resolves; then the
   API is started again. Alertmanager alone would have delivered only the
   resolution (of an incident never opened).
2. The database is down (connections refused, then stalled); DatabaseConnectionFailure
   fires and its deadline passes; then the database comes back.

Afterwards each incident exists, opened at the alert's `startsAt`, escalated once
(by the spool, while the API could not), and not paged a second time by the API.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.alert_latency import TimedReceiver
from benchmarks.service_processes import SYNTHDATA, cli, free_port

from tests.fixtures.incident_webhook import TOKEN, stand_ins, start_alertmanager  # noqa: F401
from tests.fixtures.monitoring import Tools, tools  # noqa: F401  (the fixture)
from tests.fixtures.processes import Proc, service_env, wait_http
from tests.security.tcp_proxy import TcpProxy, proxy_to

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("migrated_database", ["postgres"], indirect=True),
]

OUTAGE_SECONDS = float(os.environ.get("SYNTHDATA_TEST_OUTAGE_SECONDS", "20"))
SEV1_CLOCK = timedelta(minutes=15)


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    assert "127.0.0.1:5432" in database_url, database_url
    with proxy_to("127.0.0.1", 5432) as started:
        yield started


class Stack:
    """The API (restartable on its port), the spool and Alertmanager."""

    def __init__(
        self,
        home: Path,
        env: dict[str, str],
        processes: Callable[..., Proc],
        receiver: TimedReceiver,
        binaries: Tools,
    ) -> None:
        self.env = env
        self.processes = processes
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.api = self.start_api()
        spool_port = free_port()
        self.spool = processes(
            "spool",
            [
                *SYNTHDATA,
                "incident-spool",
                *("--api-url", self.api_url, "--port", str(spool_port)),
                *("--spool-file", str(home / "spool" / "incident-spool.sqlite3")),
            ],
            env,
            url=f"http://127.0.0.1:{spool_port}",
        )
        wait_http(self.spool, "/healthz")
        # The shipped routing, its incident webhook pointed at the spool.
        self.alertmanager = start_alertmanager(
            home / "alertmanager", self.spool.url, receiver, processes, binaries
        )

    def start_api(self) -> Proc:
        args = [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        proc = self.processes("serve", [*args, "--job-threads", "0"], self.env, self.api_url)
        wait_http(proc, "/readyz")
        return proc

    def kill_api(self) -> None:
        os.killpg(os.getpgid(self.api.popen.pid), signal.SIGKILL)
        self.api.popen.wait(10)

    def post_alert(self, labels: dict[str, str], starts_at: datetime, ends_at: datetime) -> None:
        body = [
            {
                "labels": labels,
                "annotations": {"summary": f"{labels['alertname']} summary for the test"},
                "startsAt": starts_at.isoformat(),
                "endsAt": ends_at.isoformat(),
            }
        ]
        answer = httpx.post(f"{self.alertmanager.url}/api/v2/alerts", json=body, timeout=10)
        assert answer.status_code == 200, answer.text

    def spooled(self) -> int:
        body: dict[str, int] = httpx.get(f"{self.spool.url}/healthz", timeout=5).json()
        return body["pending"]


def _starts_at_so_due_during_outage() -> datetime:
    # Whole seconds: compared for equality with what the database gives back.
    due_in = timedelta(seconds=OUTAGE_SECONDS * 0.3)
    return (datetime.now(UTC) - SEV1_CLOCK + due_in).replace(microsecond=0)


def _escalations(receiver: TimedReceiver, alertname: str) -> list[dict[str, Any]]:
    return [
        r
        for r in list(receiver.requests)
        if r["path"] == "/escalation" and f"] {alertname}:" in r["body"]["payload"]["summary"]
    ]


def _wait_escalation(receiver: TimedReceiver, alertname: str, until: float) -> dict[str, Any]:
    """The first escalation of `alertname`, which must come before `until` (monotonic)."""
    while time.monotonic() < until:
        found = _escalations(receiver, alertname)
        if found:
            return found[0]
        time.sleep(0.2)
    pytest.fail(f"no escalation of {alertname} while the outage lasted: {receiver.requests}")


def _wait_incident(
    api_url: str, key: str, match: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    headers = {"X-API-Key": key}
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = httpx.get(f"{api_url}/api/v1/incidents", headers=headers, timeout=10)
        if answer.status_code == 200:
            seen = answer.json()["items"]
            for item in seen:
                detail: dict[str, Any] = httpx.get(
                    f"{api_url}/api/v1/incidents/{item['id']}", headers=headers, timeout=10
                ).json()
                if match(detail):
                    return detail
        time.sleep(0.5)
    pytest.fail(f"no matching incident after {timeout:.0f} s: {seen}")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _check_escalated_once_by_the_spool(
    incident: dict[str, Any], page: dict[str, Any], receiver: TimedReceiver, alertname: str
) -> None:
    assert _time(incident["ack_due_at"]) == _time(incident["opened_at"]) + SEV1_CLOCK
    # Escalated when its clock ran out, not when the API could record it.
    assert incident["escalated_at"] is not None
    assert _time(incident["escalated_at"]) >= _time(incident["ack_due_at"])
    escalated = [line for line in incident["timeline"] if line["kind"] == "escalated"]
    assert [(line["actor"], _time(line["at"])) for line in escalated] == [
        ("incident-spool", _time(incident["escalated_at"]))
    ], incident["timeline"]
    details = page["body"]["payload"]["custom_details"]
    assert details["severity"] == "SEV-1"
    assert _time(details["opened_at"]) == _time(incident["opened_at"])
    assert details["overdue_seconds"] >= 0
    # The API's escalator runs every second here: after a few passes it has paged nothing.
    time.sleep(4)
    assert len(_escalations(receiver, alertname)) == 1, _escalations(receiver, alertname)


def test_incidents_survive_api_and_database_outages(
    tmp_path: Path,
    database_url: str,
    proxy: TcpProxy,
    processes: Callable[..., Proc],
    stand_ins: TimedReceiver,  # noqa: F811
    tools: Tools,  # noqa: F811
) -> None:
    env = service_env(
        tmp_path / "api",
        SYNTHDATA_DATABASE_URL=proxy.url_for(database_url),
        SYNTHDATA_DATABASE_CONNECT_TIMEOUT_SECONDS="2",
        SYNTHDATA_DATABASE_STATEMENT_TIMEOUT_SECONDS="2",
        SYNTHDATA_ALERT_WEBHOOK_TOKEN=TOKEN,
        SYNTHDATA_ESCALATION_CHECK_SECONDS="1",
        SYNTHDATA_PAGERDUTY_ROUTING_KEY="pd-escalation-key-for-tests",
        SYNTHDATA_PAGERDUTY_EVENTS_URL=f"{stand_ins.url}/escalation",
        SYNTHDATA_SLACK_WEBHOOK_URL=f"{stand_ins.url}/slack-escalation",
    )
    admin_key = cli(env, "admin", "create-key", "--role", "admin", "--name", "on-call")
    stack = Stack(tmp_path, env, processes, stand_ins, tools)
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)

    # 1. The API is down: the alert fires, its deadline passes and it resolves.
    stack.kill_api()
    down_until = time.monotonic() + OUTAGE_SECONDS
    api_down = {"alertname": "APIDown", "severity": "critical", "service": "synthdata-api"}
    started = _starts_at_so_due_during_outage()
    stack.post_alert(api_down, started, in_an_hour)
    page = _wait_escalation(stand_ins, "APIDown", until=down_until)
    stack.post_alert(api_down, started, datetime.now(UTC))
    deadline = time.monotonic() + 30
    while stack.spooled() < 2:  # the firing and the resolved notification
        assert time.monotonic() < deadline, "the resolution never reached the spool"
        time.sleep(0.2)
    time.sleep(max(0.0, down_until - time.monotonic()))
    stack.api = stack.start_api()

    incident = _wait_incident(
        stack.api_url,
        admin_key,
        lambda i: i["title"].startswith("APIDown") and i["status"] == "resolved",
    )
    assert _time(incident["opened_at"]) == started
    assert incident["severity"] == "SEV-1" and incident["resolved_by"] == "alertmanager"
    kinds = [line["kind"] for line in incident["timeline"]]
    assert kinds[0] == "opened" and kinds[-1] == "resolved", kinds
    assert {"alert_firing", "alert_resolved", "escalated"} <= set(kinds), kinds
    _check_escalated_once_by_the_spool(incident, page, stand_ins, "APIDown")

    # 2. The database is down (refused, then stalled): the alert fires, its deadline passes.
    proxy.refuse()
    down_until = time.monotonic() + OUTAGE_SECONDS
    database_down = {
        "alertname": "DatabaseConnectionFailure",
        "severity": "critical",
        "service": "synthdata-api",
    }
    started = _starts_at_so_due_during_outage()
    stack.post_alert(database_down, started, in_an_hour)
    page = _wait_escalation(stand_ins, "DatabaseConnectionFailure", until=down_until)
    proxy.stall()
    time.sleep(max(0.0, down_until - time.monotonic()))
    proxy.resume()

    incident = _wait_incident(
        stack.api_url, admin_key, lambda i: i["title"].startswith("DatabaseConnectionFailure")
    )
    assert _time(incident["opened_at"]) == started
    assert incident["severity"] == "SEV-1" and incident["status"] == "open"
    _check_escalated_once_by_the_spool(incident, page, stand_ins, "DatabaseConnectionFailure")
    assert stack.api.popen.poll() is None, stack.api.tail()
