"""Alerts end to end: a fault in a real process becomes a notification at the receiver.

A real `synthdata serve` (SYNTHDATA_FAULT_INJECTION=true), a real Prometheus loaded
with the SHIPPED rule files, a real Alertmanager with the SHIPPED routing, and the
Debian postgres_exporter and redis_exporter watching the machine's PostgreSQL and
Redis through local TCP proxies (the database "goes down" for the exporter when its
proxy drops and resets connections; the shared server keeps running). Only PagerDuty,
Slack and the incident webhook are replaced, by a local HTTP receiver that records
what it gets.

Time is compressed in the test's own copies (benchmarks/alert_stack.py; the flows are
benchmarks/alert_flows.py, which `python -m benchmarks.alert_latency --compressed`
times): 1 s scrape (postgres_exporter 3 s) and evaluation intervals, every `for:`,
range selector and group `interval:` of the rules divided by 30, Alertmanager's
group_wait and group_interval 1 s. The shipped files are only read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import yaml
from benchmarks.alert_config import MONITORING, TIME_SCALE, compress_rules, shipped_rule_files
from benchmarks.alert_flows import flow_brute_force, flow_database, flow_error_rate
from benchmarks.alert_receiver import TimedReceiver, start_receiver
from benchmarks.alert_stack import AlertStack

from tests.fixtures.alertmanager import SECRETS
from tests.fixtures.monitoring import Tools, tools  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def alert_stack(
    tools: Tools,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AlertStack]:
    receiver, server = start_receiver()
    stack = AlertStack(tmp_path_factory.mktemp("alert-flows"), receiver)
    try:
        stack.start(alertmanager_binary=tools.alertmanager)
        yield stack
    finally:
        stack.stop()
        server.shutdown()
        server.server_close()


def test_the_compressed_rules_are_the_shipped_rules_with_shorter_durations() -> None:
    """Only `for:` and range selectors change: names, labels, annotations, thresholds stay."""
    for path in shipped_rule_files():
        shipped = yaml.safe_load(path.read_text())
        compressed = yaml.safe_load(compress_rules(path.read_text()))
        for before_group, after_group in zip(shipped["groups"], compressed["groups"], strict=True):
            for before, after in zip(before_group["rules"], after_group["rules"], strict=True):
                for key in set(before) - {"for", "expr"}:
                    assert before[key] == after[key], (path.name, key)
                ranges = re.compile(r"\[\w+\]")
                assert ranges.sub("[]", before["expr"]) == ranges.sub("[]", after["expr"])
    # 5m -> 10 s: HighErrorRate's `for:`.
    availability = yaml.safe_load(
        compress_rules((MONITORING / "prometheus/rules/availability.yml").read_text())
    )
    rules = {r.get("alert"): r for g in availability["groups"] for r in g["rules"]}
    assert rules["HighErrorRate"]["for"] == f"{300 // TIME_SCALE}s"
    assert (MONITORING / "prometheus/rules/availability.yml").read_text().count("for: 5m") >= 1


@pytest.mark.slow
def test_database_down_pages_pagerduty(alert_stack: AlertStack) -> None:
    result = flow_database(alert_stack)
    body = result["page"]["body"]
    assert body["routing_key"] == SECRETS["pagerduty-routing-key"]
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["summary"] == "DatabaseConnectionFailure - Database connection failed"
    # Caused by the real exporter's pg_up 0 (the instance is named): the exporter itself
    # is alive and scraped (up 1), it is the database behind it that is gone.
    assert result["exporter_pg_up"] == 0
    assert result["scrape_up"] == [1]
    target = alert_stack.exporter_targets["postgres-exporter"]
    details = body["payload"]["custom_details"]
    assert f"on {target}" in details["description"]
    assert details["service"] == "synthdata-api"
    assert body["links"][0]["href"].endswith("#databaseconnectionfailure")
    # The incident webhook got the same alert, with exactly these labels.
    hooks = alert_stack.receiver.wait_for(
        "/webhook",
        lambda b: (
            b["groupLabels"].get("alertname") == "DatabaseConnectionFailure"
            and b["status"] == "firing"
        ),
        after=result["page"]["t"] - result["fire_s"],  # since the database went down
    )
    token = SECRETS["incident-webhook-token"]
    assert hooks[0]["headers"]["Authorization"] == f"Bearer {token}"
    shipped = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    expected = {
        **shipped["global"]["external_labels"],  # cluster
        "alertname": "DatabaseConnectionFailure",
        "job": "postgres-exporter",
        "instance": target,
        "severity": "critical",
        "service": "synthdata-api",
        "team": "platform",
    }
    labels = [a["labels"] for a in hooks[0]["body"]["alerts"]]
    assert expected in labels
    # On a loaded machine a scrape of the exporter (which waits 1 s on a refused
    # connection) can also time out: the rule's `absent(pg_up)` branch then adds a
    # series without an instance. Anything else in the group is a defect.
    without_instance = {k: v for k, v in expected.items() if k != "instance"}
    assert all(label in (expected, without_instance) for label in labels), labels


@pytest.mark.slow
def test_injected_5xx_page_and_resolve(alert_stack: AlertStack) -> None:
    result = flow_error_rate(alert_stack)
    page = result["page"]["body"]
    assert page["payload"]["severity"] == "critical"
    # The API's error family pages as one group (one cause, one page): the summary
    # names the service and its alerts, HighErrorRate among them.
    summary = page["payload"]["summary"]
    assert summary.startswith("synthdata-api: ") and "HighErrorRate" in summary
    assert "Error rate is " in page["payload"]["custom_details"]["description"]
    resolved = result["resolved"]["body"]
    assert resolved["event_action"] == "resolve"
    assert resolved["dedup_key"] == page["dedup_key"]
    # The real service answered both: injected 500s and real 200s.
    assert result["statuses"].get("500", 0) > 0 and result["statuses"].get("200", 0) > 0
    assert set(result["statuses"]) <= {"200", "500"}


@pytest.mark.slow
def test_bad_api_key_burst_posts_to_slack(alert_stack: AlertStack) -> None:
    result = flow_brute_force(alert_stack)
    body = result["message"]["body"]
    attachment = body["attachments"][0]
    assert body["channel"] == "#security-alerts"  # team="security": the security team's
    assert attachment["title"] == "Alert: BruteForceAttack"
    assert attachment["title_link"].endswith("#bruteforceattack")
    assert attachment["text"].endswith("failed authentication attempts per second")
    # Real authentication failures: 401 for unknown keys, then 429 once locked out.
    assert set(result["statuses"]) <= {"401", "429"}
    assert result["statuses"].get("401", 0) > 0
    # A warning never pages.
    receiver: TimedReceiver = alert_stack.receiver
    assert not [
        r
        for r in receiver.requests
        if r["path"] == "/pagerduty" and r["body"]["payload"]["summary"].startswith("BruteForce")
    ]
