"""A healthy default install is quiet: `make run` and `synthdata monitoring up`, run as a
new user runs them, in either order, page nobody and open no incident.

Real processes: `synthdata serve` started with the command `make run` runs (the last
line of tools/run.sh), configured as a new user's is, only by SYNTHDATA_HOME and
SYNTHDATA_PORT (so SQLite and no Redis); `synthdata monitoring up` as a command, which
starts the real Prometheus and Alertmanager. PagerDuty and Slack are a local HTTP
receiver that records every request (the service's own escalation is pointed at it
too).

Time is compressed in a test-only copy of monitoring/ (passed with --monitoring-dir):
every `for:` and range selector of the rules divided by 30 (benchmarks/alert_latency's
`compress_rules`: DatabaseConnectionFailure's `for: 1m` is 2 s, the longest,
ObjectStoreOrphansHigh's `for: 1h`, 120 s), 1 s scrape and evaluation intervals,
Alertmanager's group_wait and group_interval 1 s. The quiet period is longer than
every compressed `for:` plus the notification delays, so before the fix the exporter
jobs of the embedded default page within seconds here (95 s with the shipped
intervals). `--no-exporters`: the node exporter listens on the fixed port 9100 (other
test runs may hold it) and its host alerts depend on the machine; the PostgreSQL and
Redis exporters are not what this test is about, their jobs are.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from benchmarks.alert_latency import TimedReceiver, compress_rules, start_receiver
from benchmarks.service_processes import SYNTHDATA, free_port

from tests.fixtures.monitoring import MONITORING, REPO, Tools, tools  # noqa: F401
from tests.fixtures.processes import Proc, wait_http

TIME_SCALE = 30
INTERVAL = "1s"  # scrape and evaluation
GROUP_TIMER = "1s"  # Alertmanager's group_wait and group_interval
QUIET_SECONDS = 130.0  # > the longest compressed `for:` (120 s) + evaluation + group_wait
ROUTING_KEY = "quiet-install-routing-key"
WEBHOOK = "/api/v1/alerts/webhook"
EXPORTER_JOBS = {"postgres-exporter", "redis-exporter"}


def make_run_arguments() -> list[str]:
    """The arguments of `synthdata` in tools/run.sh, which `make run` runs."""
    assert "bash tools/run.sh" in (REPO / "Makefile").read_text()
    found = re.search(
        r'^exec "\$VENV/bin/synthdata"(.*)$', (REPO / "tools/run.sh").read_text(), re.M
    )
    assert found, "tools/run.sh no longer ends with exec synthdata ...: update this test"
    return found.group(1).split()


def compressed_monitoring(target: Path, receiver_url: str) -> Path:
    """monitoring/ copied to `target` with the test's time compression and PagerDuty URL."""
    shutil.copytree(MONITORING, target, ignore=shutil.ignore_patterns("grafana", "k8s"))
    prometheus_yml = target / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(prometheus_yml.read_text())
    for name in config["rule_files"]:
        path = target / "prometheus" / name
        path.write_text(compress_rules(path.read_text(), TIME_SCALE))
    config["global"].update(
        scrape_interval=INTERVAL, scrape_timeout=INTERVAL, evaluation_interval=INTERVAL
    )
    prometheus_yml.write_text(yaml.safe_dump(config, sort_keys=False))
    alertmanager_yml = target / "alertmanager" / "alertmanager.yml"
    routing = yaml.safe_load(alertmanager_yml.read_text())
    routing["global"]["pagerduty_url"] = f"{receiver_url}/pagerduty"
    routing["route"].update(group_wait=GROUP_TIMER, group_interval=GROUP_TIMER)
    alertmanager_yml.write_text(yaml.safe_dump(routing, sort_keys=False))
    return target


def longest_for(monitoring: Path) -> float:
    """The longest `for:` of the compressed rules, in seconds (they are all "<n>s")."""
    config = yaml.safe_load((monitoring / "prometheus" / "prometheus.yml").read_text())
    durations = [
        float(rule["for"].removesuffix("s"))
        for name in config["rule_files"]
        for group in yaml.safe_load((monitoring / "prometheus" / name).read_text())["groups"]
        for rule in group["rules"]
        if "for" in rule
    ]
    return max(durations)


def user_env(home: Path, port: int, receiver_url: str) -> dict[str, str]:
    """A new user's shell: nothing of ours configured but the home and the port."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNTHDATA_", "OTEL_")) and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        SYNTHDATA_HOME=str(home),
        SYNTHDATA_PORT=str(port),
        # PagerDuty and Slack, for Alertmanager (monitoring up) and for the service's
        # own escalation: the local receiver.
        SYNTHDATA_PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        SYNTHDATA_SLACK_WEBHOOK_URL=f"{receiver_url}/slack",
        SYNTHDATA_PAGERDUTY_EVENTS_URL=f"{receiver_url}/pagerduty-escalation",
    )
    return env


class QuietInstall:
    """The service, the monitoring stack and the receiver of one test."""

    def __init__(self, tmp: Path, receiver: TimedReceiver) -> None:
        self.tmp = tmp
        self.receiver = receiver
        self.monitoring = compressed_monitoring(tmp / "monitoring", receiver.url)
        self.port = free_port()
        self.env = user_env(tmp / "home", self.port, receiver.url)
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.state = tmp / "state"
        self.prometheus_url = f"http://127.0.0.1:{free_port()}"
        self.alertmanager_url = f"http://127.0.0.1:{free_port()}"
        self.spool_port = free_port()
        self.serve_proc: Proc | None = None

    def make_run(self) -> Proc:
        """`synthdata serve` as `make run` starts it; ready once /readyz answers."""
        log = self.tmp / "serve.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                [*SYNTHDATA, *make_run_arguments()],
                env=self.env,
                cwd=self.tmp,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.serve_proc = Proc("serve", popen, log, self.api_url)
        wait_http(self.serve_proc, "/readyz", timeout=120)
        return self.serve_proc

    def monitoring_up(self) -> subprocess.CompletedProcess[str]:
        args = ["monitoring", "up", "--state-dir", str(self.state), "--no-exporters"]
        args += ["--monitoring-dir", str(self.monitoring)]
        args += ["--prometheus-port", self.prometheus_url.rsplit(":", 1)[1]]
        args += ["--alertmanager-port", self.alertmanager_url.rsplit(":", 1)[1]]
        args += ["--incident-spool-port", str(self.spool_port)]
        done = subprocess.run(
            [*SYNTHDATA, *args],
            env=self.env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def close(self) -> None:
        subprocess.run(
            [*SYNTHDATA, "monitoring", "down", "--state-dir", str(self.state)],
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if self.serve_proc is not None:
            self.serve_proc.stop()

    def query(self, expr: str) -> list[dict[str, Any]]:
        reply = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = reply.json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def spooled_groups(self) -> list[tuple[str, bool]]:
        """(group key, delivered to the API) of every notification the spool stored."""
        path = self.state / "incident-spool" / "spool.sqlite3"
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT group_key, delivered_at FROM notifications ORDER BY id")
            return [(key, delivered is not None) for key, delivered in rows]

    def status_page(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.api_url}/status.json", timeout=10)
        assert reply.status_code == 200, reply.text
        document: dict[str, Any] = reply.json()
        return document


@pytest.fixture
def install(tmp_path: Path, tools: Tools) -> Iterator[QuietInstall]:  # noqa: F811
    receiver, server = start_receiver()
    quiet = QuietInstall(tmp_path, receiver)
    try:
        yield quiet
    finally:
        quiet.close()
        server.shutdown()
        server.server_close()


def notifications(receiver: TimedReceiver) -> list[str]:
    """What reached PagerDuty, Slack or the escalation stand-in: "path: summary"."""
    found = []
    for request in list(receiver.requests):
        body = request["body"]
        summary = (body.get("payload") or {}).get("summary") or body.get("text") or body
        found.append(f"{request['path']}: {str(summary)[:120]}")
    return found


def _wait_api_scraped(install: QuietInstall, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [r for r in install.query('up{job="synthdata-api"} == 1')]:
            return
        time.sleep(0.5)
    pytest.fail(f"Prometheus never scraped the API: {install.query('up')}")


def _resolved_notification() -> dict[str, Any]:
    """What Alertmanager posts when a group with no open incident resolves."""
    now = datetime.now(UTC)
    labels = {"alertname": "QuietInstallCheck", "severity": "info", "service": "synthdata-api"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="QuietInstallCheck"}',
        "truncatedAlerts": 0,
        "status": "resolved",
        "receiver": "web.hook",
        "groupLabels": {"alertname": "QuietInstallCheck"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": "resolved",
                "labels": labels,
                "annotations": {},
                "startsAt": (now - timedelta(minutes=2)).isoformat(),
                "endsAt": now.isoformat(),
                "generatorURL": "",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }


@pytest.mark.slow
@pytest.mark.parametrize("order", ["make-run-first", "monitoring-up-first"])
def test_a_healthy_default_install_pages_nobody(install: QuietInstall, order: str) -> None:
    assert longest_for(install.monitoring) + 5 < QUIET_SECONDS
    if order == "make-run-first":
        install.make_run()
        up = install.monitoring_up()
    else:
        up = install.monitoring_up()
        install.make_run()
    _wait_api_scraped(install)
    time.sleep(QUIET_SECONDS)

    # The shipped rules were evaluated all along (less those on exporters not run).
    groups = httpx.get(f"{install.prometheus_url}/api/v1/rules", timeout=10).json()
    loaded = {r["name"] for g in groups["data"]["groups"] for r in g["rules"]}
    assert {"APIDown", "APIAvailabilityLow", "HighErrorRate", "APIErrorBudgetBurn"} <= loaded
    assert "synthdata-api" in {r["metric"]["job"] for r in install.query("up")}

    # Everything a quiet stack must show, gathered first so that a failure shows all.
    page = install.status_page()
    errors = install.query('sum(http_requests_total{job="synthdata-api", status=~"5.."})')
    token = (install.state / "secrets" / "incident-webhook-token").read_text().strip()
    webhook = httpx.post(
        install.api_url + WEBHOOK,
        json=_resolved_notification(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    observed = {
        # Nothing paged, posted to Slack or escalated; nothing fires or waits to fire.
        "notifications": notifications(install.receiver),
        "alerts firing or pending": sorted(
            r["metric"]["alertname"] for r in install.query("ALERTS")
        ),
        "alerts in Alertmanager": [
            a["labels"]["alertname"]
            for a in httpx.get(f"{install.alertmanager_url}/api/v2/alerts", timeout=10).json()
        ],
        # A PostgreSQL or Redis deployment's exporter jobs are not scraped here.
        "exporter jobs": sorted({r["metric"]["job"] for r in install.query("up")} & EXPORTER_JOBS),
        "incidents": [i["title"] for i in page["open_incidents"] + page["recently_resolved"]],
        "status page": page["summary"],
        "5xx answered": float(errors[0]["value"][1]) if errors else 0.0,
        # The webhook accepts the token `up` gave Alertmanager.
        "webhook answer with up's token": webhook.status_code,
    }
    assert observed == {
        "notifications": [],
        "alerts firing or pending": [],
        "alerts in Alertmanager": [],
        "exporter jobs": [],
        "incidents": [],
        "status page": "All systems operational",
        "5xx answered": 0.0,
        "webhook answer with up's token": 200,
    }, up.stderr
    assert webhook.json()["incident_id"] is None

    # `up` started the incident spool, and nothing went through it yet.
    components = {line.split()[0] for line in up.stdout.splitlines() if line.strip()}
    assert "incident-spool" in components, up.stdout
    assert install.spooled_groups() == []

    # And Alertmanager itself gets through, by the incident spool: an info alert reaches
    # the incident intake (and nothing else) and opens its SEV-4 incident.
    started = datetime.now(UTC) - timedelta(seconds=5)
    alert = {
        "labels": {
            "alertname": "QuietInstallCheck",
            "severity": "info",
            "service": "synthdata-api",
        },
        "annotations": {"summary": "delivery check"},
        "startsAt": started.isoformat(),
    }
    posted = httpx.post(f"{install.alertmanager_url}/api/v2/alerts", json=[alert], timeout=10)
    assert posted.status_code == 200, posted.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not install.status_page()["open_incidents"]:
        time.sleep(0.5)
    opened = install.status_page()["open_incidents"]
    assert [i["severity"] for i in opened] == ["SEV-4"], opened
    assert notifications(install.receiver) == []
    spooled = install.spooled_groups()
    assert spooled and all("QuietInstallCheck" in key for key, _ in spooled), spooled
    assert spooled[0][1], "the spool stored the notification but never delivered it"
