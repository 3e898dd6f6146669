"""The incident spool: durable, in order, strict like the API, and its escalations taken once.

`synthdata incident-spool` runs as a real process (SIGKILLed and restarted where the
test says so) in front of the real app served by uvicorn, on SQLite and PostgreSQL.
tests/e2e/test_incident_spool.py runs the outages themselves with Alertmanager.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.service_processes import SYNTHDATA, base_env, free_port, stop_group
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.fixtures.service import Caller, serving
from tests.service.alertmanager_payloads import alert, group_key, notification

from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.incidents.escalation import run_escalations
from synthdata.service.incidents.spool import ESCALATION_HEADER, SpoolEscalation

TOKEN = "spool-token-for-tests"
WEBHOOK = "/api/v1/alerts/webhook"


@dataclass
class Spool:
    """A running `synthdata incident-spool`."""

    url: str
    popen: subprocess.Popen[bytes]

    def kill(self) -> None:
        os.killpg(os.getpgid(self.popen.pid), signal.SIGKILL)
        self.popen.wait(10)

    def pending(self) -> int:
        body: dict[str, int] = httpx.get(f"{self.url}/healthz", timeout=5).json()
        return body["pending"]


@pytest.fixture
def app_settings(settings_for: Callable[..., Settings]) -> Settings:
    return settings_for(
        alert_webhook_token=TOKEN,
        escalation_check_seconds=3600,  # passes run by the tests, at the times they choose
        pagerduty_routing_key="",
        slack_webhook_url="",
    )


@pytest.fixture
def start_spool(tmp_path: Path) -> Iterator[Callable[[str], Spool]]:
    """Start `synthdata incident-spool` (one spool file) forwarding to an API URL.
    All are stopped at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    env = base_env(tmp_path / "spool-home", SYNTHDATA_ALERT_WEBHOOK_TOKEN=TOKEN)
    spool_file = tmp_path / "spool" / "incident-spool.sqlite3"

    def start(api_url: str, token_file: Path | None = None) -> Spool:
        """`token_file`: the token is read from that file (no variable), as `monitoring up`
        runs the spool for a service that set none."""
        port = free_port()
        args = [*SYNTHDATA, "incident-spool", "--api-url", api_url, "--port", str(port)]
        log = (tmp_path / f"spool-{len(started)}.log").open("wb")
        spool_env = dict(env)
        if token_file is not None:
            spool_env.pop("SYNTHDATA_ALERT_WEBHOOK_TOKEN")
            spool_env["SYNTHDATA_ALERT_WEBHOOK_TOKEN_FILE"] = str(token_file)
        popen = subprocess.Popen(
            [*args, "--spool-file", str(spool_file)],
            env=spool_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(popen)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert popen.poll() is None, (tmp_path / f"spool-{len(started) - 1}.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return Spool(url, popen)
            except httpx.HTTPError:
                time.sleep(0.2)
        pytest.fail("the spool did not answer /healthz")

    yield start
    for popen in started:
        stop_group(popen, 10)


def _post(url: str, body: Any, token: str = TOKEN, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}{WEBHOOK}",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=10,
    )


def _minutes_ago(minutes: float) -> datetime:
    # Whole seconds: compared for equality with what the database gives back.
    return (utcnow() - timedelta(minutes=minutes)).replace(microsecond=0)


def test_spooled_notifications_survive_a_kill_and_reach_the_api_in_order(
    app_settings: Settings, admin: Caller, start_spool: Callable[[str], Spool]
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # the API is down
    spool = start_spool(nobody)
    key = group_key("APIDown")
    started = _minutes_ago(10)
    firing = alert("APIDown", "critical", starts_at=started)
    resolved = alert("APIDown", "critical", status="resolved", starts_at=started)
    for body in (notification(key, firing), notification(key, resolved)):
        answer = _post(spool.url, body)
        assert answer.status_code == 200, answer.text
    assert spool.pending() == 2

    # The spool dies with both undelivered; a new one finds them and the API is back.
    spool.kill()
    with serving(create_app(app_settings, workers=0)) as api:
        spool = start_spool(api)
        deadline = time.monotonic() + 30
        while spool.pending():
            assert time.monotonic() < deadline, "the spool did not drain"
            time.sleep(0.2)
        listing = httpx.get(f"{api}/api/v1/incidents", headers=admin.headers, timeout=10).json()
        (item,) = listing["items"]
        incident = httpx.get(
            f"{api}/api/v1/incidents/{item['id']}", headers=admin.headers, timeout=10
        ).json()
    # Delivered in order: opened at the alert's start, then resolved (the resolution
    # alone, as Alertmanager would send it after the outage, opens nothing).
    assert datetime.fromisoformat(incident["opened_at"]) == started
    assert incident["status"] == "resolved" and incident["resolved_by"] == "alertmanager"
    assert [line["kind"] for line in incident["timeline"]] == [
        "opened",
        "alert_firing",
        "alert_resolved",
        "resolved",
    ]


def test_the_spool_refuses_what_the_api_would_and_spools_nothing(
    start_spool: Callable[[str], Spool],
) -> None:
    spool = start_spool(f"http://127.0.0.1:{free_port()}").url
    body = notification(group_key("APIDown"), alert("APIDown", "critical"))
    assert _post(spool, body, token="wrong").status_code == 401
    no_token = httpx.post(f"{spool}{WEBHOOK}", json=body, timeout=10)
    assert no_token.status_code == 401
    assert _post(spool, {**body, "version": "3"}).status_code == 400
    assert _post(spool, {**body, "alerts": []}).status_code == 400
    assert httpx.post(f"{spool}/elsewhere", json=body, timeout=10).status_code == 404
    assert httpx.get(f"{spool}/healthz", timeout=5).json()["pending"] == 0


def test_a_token_replaced_in_its_file_is_used_without_a_restart(
    start_spool: Callable[[str, Path | None], Spool], tmp_path: Path
) -> None:
    token_file = tmp_path / "secrets" / "alert-webhook-token"
    token_file.parent.mkdir()
    token_file.write_text("first-token\n")
    spool = start_spool(f"http://127.0.0.1:{free_port()}", token_file).url
    body = notification(group_key("APIDown"), alert("APIDown", "critical"))
    assert _post(spool, body, token="first-token").status_code == 200
    token_file.write_text("second-token\n")  # rotated by hand, as the runbook says
    assert _post(spool, body, token="first-token").status_code == 401
    assert _post(spool, body, token="second-token").status_code == 200


# -- the spool's escalation, as the API takes it -----------------------------------------------
@pytest.fixture
def api(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, workers=0)) as client:
        yield client


@pytest.fixture
def sessions(app_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(app_settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _escalation(at: datetime, episode_start: datetime) -> str:
    escalation = SpoolEscalation(
        at=at, target="pagerduty", outcome="sent", dedup_key="k", episode_start=episode_start
    )
    return escalation.model_dump_json()


def _hook(api: TestClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    answer = api.post(WEBHOOK, json=body, headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_the_spools_escalation_is_recorded_and_not_repeated(
    api: TestClient, admin: Caller, app_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    started = _minutes_ago(20)
    due = started + timedelta(minutes=15)
    sent_at = due + timedelta(seconds=3)
    body = notification(group_key("APIDown"), alert("APIDown", "critical", starts_at=started))
    opened = _hook(api, body, **{ESCALATION_HEADER: _escalation(sent_at, started)})
    incident = api.get(f"/api/v1/incidents/{opened['incident_id']}", headers=admin.headers).json()
    assert datetime.fromisoformat(incident["escalated_at"]) == sent_at
    (line,) = [line for line in incident["timeline"] if line["kind"] == "escalated"]
    assert line["actor"] == "incident-spool" and datetime.fromisoformat(line["at"]) == sent_at
    assert line["detail"]["dedup_key"] == "k"
    # The API's escalator sees it escalated: nothing more to send.
    assert run_escalations(sessions, app_settings, now=utcnow()) == []

    # Told again (a later notification of the group): nothing changes.
    again = _hook(api, body, **{ESCALATION_HEADER: _escalation(sent_at, started)})
    assert again["changes"] == 0


def test_an_escalation_of_an_earlier_episode_or_unreadable_is_left_out(
    api: TestClient, admin: Caller, app_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    started = _minutes_ago(20)
    earlier = started - timedelta(hours=2)
    body = notification(
        group_key("DatabaseConnectionFailure"),
        alert("DatabaseConnectionFailure", "critical", starts_at=started),
    )
    opened = _hook(api, body, **{ESCALATION_HEADER: _escalation(earlier, earlier)})
    other = notification(group_key("APIDown"), alert("APIDown", "critical", starts_at=started))
    _hook(api, other, **{ESCALATION_HEADER: "not json"})
    incident = api.get(f"/api/v1/incidents/{opened['incident_id']}", headers=admin.headers).json()
    assert incident["escalated_at"] is None
    # Both still escalate, from the API, when their clocks ran out (no PagerDuty key here).
    outcomes = run_escalations(sessions, app_settings, now=utcnow())
    assert sorted(o.outcome for o in outcomes) == ["skipped", "skipped"]
