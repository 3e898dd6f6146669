"""Alertmanager routing, inhibition and notifications, checked with amtool and a real
Alertmanager process.

The configuration reads its secrets from /etc/alertmanager/secrets/; the tests run
a copy whose secret paths point at temporary files. For the process tests the
PagerDuty, Slack and incident webhook endpoints are replaced by one local HTTP
receiver that records what it was sent, and the tests assert on those payloads.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ALERTMANAGER_DIR, Tools

SECRETS_DIR = "/etc/alertmanager/secrets/"
SECRETS = {
    "pagerduty-routing-key": "pd-routing-key-for-tests",
    "slack-webhook-url": "https://hooks.slack.invalid/services/T000/B000/XXXX",
    "pagerduty-security-routing-key": "pd-security-routing-key-for-tests",
    "slack-security-webhook-url": "https://hooks.slack.invalid/services/T000/B000/SECURITY",
    "incident-webhook-token": "incident-token-for-tests",
}
# The incident spool (`synthdata incident-spool`, port 9095), never the API itself: it
# stores each notification while the API or its database is down.
INCIDENT_WEBHOOK = "http://127.0.0.1:9095/api/v1/alerts/webhook"


def receiver_secrets(receiver_url: str) -> dict[str, str]:
    """SECRETS with both Slack webhooks (main and security) posting to `receiver_url`/slack."""
    slack = f"{receiver_url}/slack"
    return {**SECRETS, "slack-webhook-url": slack, "slack-security-webhook-url": slack}


def _config() -> dict[str, Any]:
    return yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text())


def _copy_config(tmp: Path, secrets: dict[str, str] | None = None) -> Path:
    """The Alertmanager folder copied to `tmp`, secrets read from files under `tmp`."""
    target = tmp / "alertmanager"
    shutil.copytree(ALERTMANAGER_DIR, target)
    secret_dir = tmp / "secrets"
    secret_dir.mkdir()
    for name, value in (secrets or SECRETS).items():
        (secret_dir / name).write_text(value + "\n")
    config = target / "alertmanager.yml"
    config.write_text(config.read_text().replace(SECRETS_DIR, f"{secret_dir}/"))
    return config


# -- static checks ---------------------------------------------------------------------
def test_amtool_check_config(tools: Tools, tmp_path: Path) -> None:
    config = _copy_config(tmp_path)
    result = tools.run([tools.amtool, "check-config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "1 templates" in result.stdout


def test_secrets_only_come_from_files() -> None:
    text = (ALERTMANAGER_DIR / "alertmanager.yml").read_text()
    for inline in ("service_key:", "routing_key:", "api_url:", "credentials:", "password:"):
        assert inline not in text, f"{inline} puts a secret in the configuration"
    paths: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    paths.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(_config())
    assert paths, "no *_file secrets found"
    assert all(path.startswith(SECRETS_DIR) for path in paths), paths
    assert {Path(path).name for path in paths} == set(SECRETS)


def test_route_tree_matches_the_runbook() -> None:
    route = _config()["route"]
    assert route["receiver"] == "web.hook"
    assert route["group_by"] == ["alertname", "cluster", "service"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "10s",
        "10s",
        "1h",
    )
    for child in route["routes"]:
        assert "match" not in child and "match_re" not in child, "use matchers:"
    receivers = {r["name"]: r for r in _config()["receivers"]}
    pagerduty = receivers["pagerduty-critical"]["pagerduty_configs"][0]
    assert "routing_key_file" in pagerduty
    slack = receivers["slack-warnings"]["slack_configs"][0]
    assert slack["channel"] == "#alerts" and slack["send_resolved"] is True
    for receiver in receivers.values():
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"] == INCIDENT_WEBHOOK


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical"], "pagerduty-critical"),
        (["severity=warning"], "slack-warnings"),
        (["severity=info"], "web.hook"),
        ([], "web.hook"),
    ],
    ids=["critical", "warning", "info", "no-severity"],
)
def test_amtool_routes(tools: Tools, tmp_path: Path, labels: list[str], receiver: str) -> None:
    config = _copy_config(tmp_path)
    result = tools.run(
        [
            tools.amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={receiver}",
            "alertname=HighErrorRate",
            "service=synthdata-api",
            "cluster=local",
            *labels,
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def severity_inhibition() -> dict[str, Any]:
    """The inhibit rule by which a critical alert hides the warning of the same alert."""
    (rule,) = [
        rule
        for rule in _config()["inhibit_rules"]
        if rule["source_matchers"] == ['severity="critical"'] and "alertname" in rule["equal"]
    ]
    return dict(rule)


def test_inhibition_rule_shape() -> None:
    rule = severity_inhibition()
    assert 'severity=~"warning|info"' in rule["target_matchers"]
    assert {"alertname", "service"} <= set(rule["equal"])


# -- a real Alertmanager ---------------------------------------------------------------
@dataclass
class Receiver:
    """A local HTTP endpoint standing in for PagerDuty, Slack and the incident webhook."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def wait_for(
        self,
        path: str,
        match: Callable[[dict[str, Any]], bool] = lambda body: True,
        timeout: float = 45.0,
    ) -> list[dict[str, Any]]:
        """The requests to `path` whose JSON body satisfies `match`, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [r for r in list(self.requests) if r["path"] == path and match(r["body"])]
            if got:
                return got
            time.sleep(0.2)
        seen = [(r["path"], r["body"]) for r in self.requests]
        raise AssertionError(f"no matching request to {path} in {timeout}s: {seen}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
            )
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(url=f"http://127.0.0.1:{server.server_address[1]}", requests=requests)
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def alertmanager(
    tools: Tools, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real Alertmanager on a loopback port running the repository's configuration."""
    tmp = tmp_path_factory.mktemp("alertmanager")
    secrets = receiver_secrets(receiver.url)
    config_path = _copy_config(tmp, secrets)
    text = config_path.read_text().replace(INCIDENT_WEBHOOK, f"{receiver.url}/webhook")
    config = yaml.safe_load(text)
    config["global"]["pagerduty_url"] = f"{receiver.url}/pagerduty"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "alertmanager.log").open("w")
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
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "alertmanager did not start:\n" + (tmp / "alertmanager.log").read_text()
                    )
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _alert(name: str, severity: str, service: str, **extra: str) -> dict[str, Any]:
    return {
        "labels": {
            "alertname": name,
            "severity": severity,
            "service": service,
            "cluster": "local",
            **extra,
        },
        "annotations": {
            "summary": f"{name} summary",
            "description": f"{name} {severity} description",
            "runbook_url": f"https://github.com/inferloop/synthdata/blob/main/docs/runbook.md#{name.lower()}",
        },
    }


def _states(url: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    alerts = _http("GET", f"{url}/api/v2/alerts")
    return {
        (a["labels"]["alertname"], a["labels"]["severity"], a["labels"]["service"]): a["status"]
        for a in alerts
    }


def test_critical_inhibits_the_warning_of_the_same_alert_and_service(alertmanager: str) -> None:
    _http(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [
            _alert("CertificateExpiringSoon", "critical", "synthdata-api", certificate="db.pem"),
            _alert("CertificateExpiringSoon", "warning", "synthdata-api", certificate="db.pem"),
            # Another service, and another alert of the same service: not inhibited.
            _alert("CertificateExpiringSoon", "warning", "synthdata-worker", certificate="w.pem"),
            _alert("HighDiskUsage", "warning", "synthdata-api", device="/dev/sda1"),
        ],
    )
    # Alertmanager's inhibitor sees new alerts asynchronously: read until it has.
    deadline = time.monotonic() + 15
    states = _states(alertmanager)
    inhibited = states[("CertificateExpiringSoon", "warning", "synthdata-api")]
    while inhibited["state"] != "suppressed" and time.monotonic() < deadline:
        time.sleep(0.2)
        states = _states(alertmanager)
        inhibited = states[("CertificateExpiringSoon", "warning", "synthdata-api")]
    assert inhibited["state"] == "suppressed"
    assert inhibited["inhibitedBy"]
    for key in [
        ("CertificateExpiringSoon", "critical", "synthdata-api"),
        ("CertificateExpiringSoon", "warning", "synthdata-worker"),
        ("HighDiskUsage", "warning", "synthdata-api"),
    ]:
        assert states[key]["state"] == "active", key
        assert not states[key]["inhibitedBy"], key


@pytest.mark.slow
def test_notifications_reach_pagerduty_slack_and_the_incident_webhook(
    alertmanager: str, receiver: Receiver
) -> None:
    """One alert per severity; waits for the runbook's 10 s group_wait."""
    two_pods = [_alert("HighMemoryUtilization", "warning", "synthdata-worker", pod=p) for p in "ab"]
    for alert in two_pods:
        alert["annotations"]["description"] = f"memory of pod {alert['labels']['pod']}"
    _http(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [
            _alert("DatabaseConnectionFailure", "critical", "synthdata-api", instance="db:9187"),
            _alert("GenerationQueueBacklog", "warning", "synthdata-worker"),
            _alert("InfoNotice", "info", "synthdata-api"),
            *two_pods,
        ],
    )

    def titled(title: str) -> Callable[[dict[str, Any]], bool]:
        return lambda body: body["attachments"][0]["title"] == title

    (page,) = receiver.wait_for(
        "/pagerduty", lambda body: body["payload"]["summary"].startswith("DatabaseConnection")
    )
    body = page["body"]
    assert body["routing_key"] == SECRETS["pagerduty-routing-key"]
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["summary"] == (
        "DatabaseConnectionFailure - DatabaseConnectionFailure summary"
    )
    assert body["links"][0]["href"].endswith("#databaseconnectionfailure")

    (slack,) = receiver.wait_for("/slack", titled("Alert: GenerationQueueBacklog"))
    assert slack["body"]["channel"] == "#alerts"
    assert slack["body"]["attachments"][0]["text"] == "GenerationQueueBacklog warning description"

    # No common description in a group of two pods: each alert's is listed.
    (memory,) = receiver.wait_for("/slack", titled("Alert: HighMemoryUtilization"))
    assert memory["body"]["attachments"][0]["text"] == "- memory of pod a\n- memory of pod b"

    wanted = {"DatabaseConnectionFailure", "GenerationQueueBacklog", "InfoNotice"}
    hooks = [
        receiver.wait_for("/webhook", lambda body, n=name: body["groupLabels"]["alertname"] == n)[0]
        for name in sorted(wanted)
    ]
    names = {hook["body"]["groupLabels"]["alertname"]: hook for hook in hooks}
    assert set(names) == wanted
    for hook in names.values():
        token = SECRETS["incident-webhook-token"]
        assert hook["headers"]["Authorization"] == f"Bearer {token}"
        assert hook["body"]["version"] == "4"
