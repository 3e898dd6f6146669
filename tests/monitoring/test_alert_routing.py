"""Who gets which alert, and what a critical alert may hide (issue 14, items 6 and 7).

Every rule carries a `team` label; the security team's alerts go to its own Slack
channel and, when critical, its own PagerDuty service. The routes are checked with
`amtool config routes test` for every shipped alert, and the inhibition with a real
Alertmanager: a critical alert hides the warning about the same thing only.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest

from synthdata.service.incidents import policy
from tests.fixtures.alertmanager import (
    SECRETS,
    Receiver,
    alert_payload,
    alertmanager,  # noqa: F401  (the fixture)
    alertmanager_config,
    copy_config,
    http_json,
    receiver,  # noqa: F401  (the fixture)
    severity_inhibition,
)
from tests.fixtures.monitoring import Tools
from tests.fixtures.rules import alerts

TEAMS = {"platform", "security"}
SECURITY_ALERTS = {"BruteForceAttack", "DDoSAttack", "PrivilegedOperationsSpike"}
EXPECTED_RECEIVER = {
    ("security", "critical"): "security-pagerduty",
    ("security", "warning"): "security-slack",
    ("security", "info"): "security-slack",
    ("platform", "critical"): "pagerduty-critical",
    ("platform", "warning"): "slack-warnings",
    ("platform", "info"): "web.hook",
}


# -- team labels and routes -------------------------------------------------------------
@pytest.mark.parametrize("rule", alerts(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}")
def test_every_alert_names_its_team(rule: dict[str, Any]) -> None:
    team = rule["labels"].get("team")
    assert team in TEAMS, f"{rule['alert']}: labels.team must be one of {sorted(TEAMS)}"
    assert (team == "security") == (rule["alert"] in SECURITY_ALERTS), rule["alert"]


def _route(tools: Tools, config: str, labels: dict[str, str]) -> str:
    result = tools.run(
        [
            tools.amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            *(f"{name}={value}" for name, value in labels.items()),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_routes_every_shipped_alert_to_its_team(tools: Tools, tmp_path: Any) -> None:
    config = str(copy_config(tmp_path))
    wrong = {}
    for rule in alerts():
        labels = {
            "alertname": rule["alert"],
            "cluster": "local",
            **{k: v for k, v in rule["labels"].items() if "{{" not in v},
        }
        if "{{" in rule["labels"]["service"]:  # templated from the container
            labels["service"] = "synthdata-worker"
        expected = EXPECTED_RECEIVER[(labels["team"], labels["severity"])]
        got = _route(tools, config, labels)
        if got != expected:
            wrong[f"{rule['alert']}-{labels['severity']}"] = (got, expected)
    assert not wrong, f"(receiver, expected) per alert: {wrong}"


@pytest.mark.parametrize(
    ("labels", "receiver_name"),
    [
        (["alertname=BruteForceAttack", "severity=warning", "team=security"], "security-slack"),
        (["alertname=DDoSAttack", "severity=critical", "team=security"], "security-pagerduty"),
        (["alertname=HighErrorRate", "severity=critical", "team=platform"], "pagerduty-critical"),
        (["alertname=HighDiskUsage", "severity=warning", "team=platform"], "slack-warnings"),
    ],
    ids=["brute-force", "ddos", "5xx", "disk"],
)
def test_amtool_verifies_the_security_route(
    tools: Tools, tmp_path: Any, labels: list[str], receiver_name: str
) -> None:
    config = copy_config(tmp_path)
    result = tools.run(
        [
            tools.amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={receiver_name}",
            "service=synthdata-api",
            "cluster=local",
            *labels,
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_security_receivers_have_their_own_channel_and_pagerduty_service() -> None:
    receivers = {r["name"]: r for r in alertmanager_config()["receivers"]}
    main_slack = receivers["slack-warnings"]["slack_configs"][0]
    main_page = receivers["pagerduty-critical"]["pagerduty_configs"][0]
    for name in ("security-slack", "security-pagerduty"):
        (slack,) = receivers[name]["slack_configs"]
        assert slack["channel"] == "#security-alerts" != main_slack["channel"]
        assert slack["api_url_file"] != main_slack["api_url_file"]
        assert slack["send_resolved"] is True
    (page,) = receivers["security-pagerduty"]["pagerduty_configs"]
    assert page["routing_key_file"].endswith("/pagerduty-security-routing-key")
    assert page["routing_key_file"] != main_page["routing_key_file"]
    assert "pagerduty_configs" not in receivers["security-slack"], "a warning never pages"


# -- inhibition --------------------------------------------------------------------------
def _grouping_labels(expr: str) -> set[str]:
    found: set[str] = set()
    for group in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
        found.update(label.strip() for label in group.split(",") if label.strip())
    return found


def test_inhibition_compares_the_labels_that_identify_each_alert() -> None:
    """Every label an alert is kept apart by (its `by (...)`) must be compared, or a
    critical alert about one thing hides the warning about another."""
    equal = set(severity_inhibition()["equal"])
    missing = {
        rule["alert"]: _grouping_labels(rule["expr"]) - equal
        for rule in alerts()
        if _grouping_labels(rule["expr"]) - equal
    }
    assert not missing, f"labels missing from the inhibition's equal: {missing}"
    assert {"certificate", "instance", "source_ip", "pod", "device"} <= equal


def test_a_critical_certificate_alert_hides_only_its_own_warning(alertmanager: str) -> None:  # noqa: F811
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [
            alert_payload(
                "CertificateExpiringSoon", "critical", "synthdata-api", certificate="api.pem"
            ),
            alert_payload(
                "CertificateExpiringSoon", "warning", "synthdata-api", certificate="api.pem"
            ),
            alert_payload(
                "CertificateExpiringSoon", "warning", "synthdata-api", certificate="db.pem"
            ),
        ],
    )
    alerts_now = http_json("GET", f"{alertmanager}/api/v2/alerts")
    state = {
        (a["labels"]["severity"], a["labels"]["certificate"]): a["status"]
        for a in alerts_now
        if a["labels"]["alertname"] == "CertificateExpiringSoon"
    }
    assert state[("warning", "api.pem")]["state"] == "suppressed"
    assert state[("critical", "api.pem")]["state"] == "active"
    # Another certificate's warning stays visible.
    assert state[("warning", "db.pem")]["state"] == "active"
    assert not state[("warning", "db.pem")]["inhibitedBy"]


@pytest.mark.slow
def test_security_alerts_reach_the_security_channel_and_pagerduty_service(
    alertmanager: str,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    """Through a real Alertmanager (waits for the 10 s group_wait)."""
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [
            alert_payload("BruteForceAttack", "warning", "synthdata-api", team="security"),
            alert_payload(
                "DDoSAttack", "critical", "synthdata-api", team="security", source_ip="203.0.113.7"
            ),
            alert_payload("HighErrorRate", "critical", "synthdata-api", team="platform"),
        ],
    )
    (slack,) = receiver.wait_for(
        "/slack", lambda body: body["attachments"][0]["title"] == "Alert: BruteForceAttack"
    )
    assert slack["body"]["channel"] == "#security-alerts"
    (ddos,) = receiver.wait_for(
        "/pagerduty", lambda body: body["payload"]["summary"].startswith("DDoSAttack")
    )
    assert ddos["body"]["routing_key"] == SECRETS["pagerduty-security-routing-key"]
    (platform,) = receiver.wait_for(
        "/pagerduty", lambda body: body["payload"]["summary"].startswith("HighErrorRate")
    )
    assert platform["body"]["routing_key"] == SECRETS["pagerduty-routing-key"]
    # The security channel also sees the page; the brute force never pages.
    receiver.wait_for("/slack", lambda body: body["attachments"][0]["title"] == "Alert: DDoSAttack")
    pages = [
        r["body"]["payload"]["summary"] for r in receiver.requests if r["path"] == "/pagerduty"
    ]
    assert not [s for s in pages if s.startswith("BruteForceAttack")]


# -- one cause, one page (item 5) -------------------------------------------------------
def _family_route() -> dict[str, Any]:
    (critical,) = [
        r
        for r in alertmanager_config()["route"]["routes"]
        if r["matchers"] == ['severity="critical"']
    ]
    (family,) = critical["routes"]
    return dict(family)


def test_the_error_family_route_is_the_intakes_cause_group() -> None:
    family = _family_route()
    (matcher,) = family["matchers"]
    names = set(re.fullmatch(r'alertname=~"(.*)"', matcher).group(1).split("|"))  # type: ignore[union-attr]
    assert names == policy.CAUSE_GROUPS["api-errors"]
    assert family["group_by"] == ["cluster", "service"]  # not by alertname: one group
    assert family["receiver"] == "pagerduty-critical"
    shipped = {(r["alert"], r["labels"]["severity"]): r["labels"] for r in alerts()}
    for name in names:  # each a critical rule of the API, so it lands in this route
        assert shipped[(name, "critical")]["service"] == "synthdata-api", name


@pytest.mark.slow
def test_the_error_family_firing_at_once_pages_once(
    alertmanager: str,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    """A 5xx episode fires three alerts: one PagerDuty trigger, one incident notification."""
    cluster = "one-cause"  # apart from the other tests' alerts in this Alertmanager
    family = sorted(policy.CAUSE_GROUPS["api-errors"])
    seen_before = len(receiver.requests)
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [alert_payload(name, "critical", "synthdata-api", cluster=cluster) for name in family],
    )
    (hook,) = receiver.wait_for("/webhook", lambda b: b["commonLabels"].get("cluster") == cluster)
    assert sorted(a["labels"]["alertname"] for a in hook["body"]["alerts"]) == family
    (page,) = receiver.wait_for(
        "/pagerduty", lambda b: b["payload"]["summary"].startswith("synthdata-api: ")
    )
    assert page["body"]["payload"]["summary"] == f"synthdata-api: {', '.join(family)}"
    assert page["body"]["links"][0]["href"].endswith("#apiavailabilitylow")
    # Alertmanager's dedup_key is the hash of the group key the incident intake keys by.
    group_key = hook["body"]["groupKey"]
    assert page["body"]["dedup_key"] == hashlib.sha256(group_key.encode()).hexdigest()
    time.sleep(12)  # past another group_interval: nothing more for this episode
    new = receiver.requests[seen_before:]
    # The receiver pages and notifies the incident webhook with each notification, so
    # one incident notification for the episode's alerts is one page.
    hooks = [
        r["body"]["groupKey"]
        for r in new
        if r["path"] == "/webhook" and r["body"]["alerts"][0]["labels"]["cluster"] == cluster
    ]
    assert hooks == [group_key]
    same_page = [r for r in new if r["path"] == "/pagerduty" and r["body"] == page["body"]]
    assert len(same_page) == 1
