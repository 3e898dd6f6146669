"""One 5xx episode pages once and opens one incident (issue 14, items 5 and 12), end to end.

A real `synthdata serve` (embedded SQLite), a real Alertmanager running the shipped
routing (its incident webhook pointed at that server), and one local HTTP receiver
standing in for PagerDuty (Events API and nothing else) whose recorded bodies the
test checks. The API's three error-family alerts fire at once: PagerDuty gets one
trigger, the service one incident holding the three alerts. Then the page and the
incident stay in step: our acknowledge reaches PagerDuty for the very alert
Alertmanager opened, and PagerDuty's signed resolve resolves the incident.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from benchmarks.service_processes import SYNTHDATA, base_env, serve
from tests.fixtures.alertmanager import (
    INCIDENT_WEBHOOK,
    Receiver,
    alert_payload,
    copy_config,
    free_port,
    http_json,
    receiver,  # noqa: F401  (the fixture)
    receiver_secrets,
)
from tests.fixtures.monitoring import Tools, tools  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

TOKEN = "incident-token-for-tests"  # the secrets file Alertmanager reads (SECRETS)
ROUTING_KEY = "pd-routing-key-for-tests"  # the same PagerDuty service as Alertmanager's
WEBHOOK_SECRET = "pd-webhook-secret-for-tests"
FAMILY = ("APIAvailabilityLow", "HighErrorRate", "APIErrorBudgetBurn")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> dict[str, str]:  # noqa: F811
    home = tmp_path_factory.mktemp("grouping-home")
    return base_env(
        home,
        SYNTHDATA_ENVIRONMENT="test",
        SYNTHDATA_LOG_LEVEL="WARNING",
        SYNTHDATA_ALERT_WEBHOOK_TOKEN=TOKEN,
        SYNTHDATA_PAGERDUTY_EVENTS_URL=f"{receiver.url}/pagerduty",
        SYNTHDATA_PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        SYNTHDATA_PAGERDUTY_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )


@pytest.fixture(scope="module")
def server(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve("serve", env, tmp_path_factory.mktemp("grouping-logs")) as proc:
        yield proc.url


@pytest.fixture(scope="module")
def alertmanager(
    tools: Tools,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The shipped configuration; incident webhook -> the server, PagerDuty -> the receiver."""
    tmp = tmp_path_factory.mktemp("grouping-alertmanager")
    config_path = copy_config(tmp, receiver_secrets(receiver.url))
    text = config_path.read_text().replace(INCIDENT_WEBHOOK, f"{server}/api/v1/alerts/webhook")
    config = yaml.safe_load(text)
    config["global"]["pagerduty_url"] = f"{receiver.url}/pagerduty"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log_path = tmp / "alertmanager.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                tools.alertmanager,
                f"--config.file={config_path}",
                f"--storage.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("alertmanager did not start:\n" + log_path.read_text())
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _incidents(env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [*SYNTHDATA, "incident", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def _show(env: dict[str, str], incident_id: str) -> dict[str, Any]:
    done = subprocess.run(
        [*SYNTHDATA, "incident", "show", incident_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _wait(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not reached in {timeout} s")


def test_one_5xx_episode_pages_once_and_opens_one_incident_kept_in_step_with_pagerduty(
    alertmanager: str,
    server: str,
    env: dict[str, str],
    receiver: Receiver,  # noqa: F811
) -> None:
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [alert_payload(name, "critical", "synthdata-api", team="platform") for name in FAMILY],
    )
    (page,) = receiver.wait_for("/pagerduty", lambda body: body["event_action"] == "trigger")
    body = page["body"]
    assert body["routing_key"] == ROUTING_KEY
    assert body["payload"]["summary"] == (
        "synthdata-api: APIAvailabilityLow, APIErrorBudgetBurn, HighErrorRate"
    )
    assert body["links"][0]["href"].endswith("#apiavailabilitylow")

    # One incident with the three alerts (as soon as it holds them all) ...
    incidents = _wait(lambda: [i for i in _incidents(env) if i["service"] == "synthdata-api"])
    (incident,) = incidents
    detail = _wait(
        lambda: (d := _show(env, incident["id"])) and len(d["alerts"]) == len(FAMILY) and d
    )
    assert sorted(a["alertname"] for a in detail["alerts"]) == sorted(FAMILY)
    assert all(a["status"] == "firing" for a in detail["alerts"])
    assert detail["severity"] == "SEV-1"
    # ... whose group is the page's: Alertmanager's dedup_key hashes the group key.
    assert body["dedup_key"] == hashlib.sha256(detail["group_key"].encode()).hexdigest()

    # Past another group_interval (10 s) nothing else was paged or opened.
    time.sleep(12)
    triggers = [r for r in receiver.requests if r["path"] == "/pagerduty"]
    assert len(triggers) == 1, [r["body"]["payload"]["summary"] for r in triggers]
    assert len([i for i in _incidents(env) if i["service"] == "synthdata-api"]) == 1

    # Our acknowledge (the CLI) acknowledges Alertmanager's PagerDuty alert.
    done = subprocess.run(
        [*SYNTHDATA, "incident", "ack", incident["id"], "--by", "olga"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (ack,) = receiver.wait_for("/pagerduty", lambda b: b["event_action"] == "acknowledge")
    assert ack["body"] == {
        "routing_key": ROUTING_KEY,
        "event_action": "acknowledge",
        "dedup_key": body["dedup_key"],
    }

    # PagerDuty's signed v3 webhook resolves the incident.
    event = {
        "event": {
            "id": "01DEN1HNLBC1VITK192ETJ1MPJ",
            "event_type": "incident.resolved",
            "resource_type": "incident",
            "agent": {"id": "PLH1HKV", "summary": "Paula Pager", "type": "user_reference"},
            "data": {"id": "PGR0VU2", "type": "incident", "incident_key": body["dedup_key"]},
        }
    }
    raw = json.dumps(event).encode()
    signature = "v1=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    unsigned = httpx.post(
        f"{server}/api/v1/alerts/pagerduty",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert unsigned.status_code == 401
    assert _show(env, incident["id"])["status"] == "acknowledged"
    signed = httpx.post(
        f"{server}/api/v1/alerts/pagerduty",
        content=raw,
        headers={"Content-Type": "application/json", "X-PagerDuty-Signature": signature},
    )
    assert signed.status_code == 200, signed.text
    assert signed.json() == {"incident_id": incident["id"], "action": "resolve", "changed": True}
    final = _show(env, incident["id"])
    assert (final["status"], final["resolved_by"]) == ("resolved", "pagerduty:Paula Pager")
    assert final["acknowledged_by"] == "olga"
