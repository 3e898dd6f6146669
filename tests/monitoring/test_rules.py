"""Prometheus rules and configuration, checked with the real promtool.

Beyond `promtool check rules` / `promtool test rules`, the suite checks that the
tests are complete: every alert (per severity) has a case where it fires and a
case where it stays silent, every recording rule is evaluated in a test, and
every alert carries the labels and annotations the runbook and Alertmanager rely
on. A new alert without tests or documentation fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.monitoring import ALERTS_DOC, PROMETHEUS_DIR, RULES_DIR, Tools
from tests.fixtures.rules import alerts, load, rule_files, rules

RUNBOOK_URL = "https://github.com/inferloop/synthdata/blob/main/docs/runbook.md#"
SEVERITIES = {"critical", "warning", "info"}
SERVICES = {"synthdata-api", "synthdata-worker"}
# Node-wide signals (file systems, node conditions, volumes) are about the cluster.
INFRASTRUCTURE = "infrastructure"
# Labels taken from the container name: only our two containers are selected.
TEMPLATED_SERVICE = "{{ $labels.container }}"
# ... or from the pod name, for cAdvisor's per-pod network series.
POD_SERVICE = "{{ $labels.service }}"
# Alerts whose value is only 0/1 (up/down, a condition holds): no $value in the text.
VALUELESS = {
    "APIDown",
    "DatabaseConnectionFailure",
    "RedisConnectionFailure",
    "NodeNotReady",
    "NodeUnderPressure",
}
# The runbook's alerts: severity and `for` exactly as it states them.
RUNBOOK_ALERTS = {
    "APIAvailabilityLow": ("critical", "2m"),
    "HighErrorRate": ("critical", "5m"),
    "DatabaseConnectionFailure": ("critical", "1m"),
    "HighResponseTime": ("warning", "10m"),
    "HighCPUUtilization": ("warning", "10m"),
    "HighMemoryUtilization": ("warning", "10m"),
    "HighDiskUsage": ("warning", "5m"),
    "BruteForceAttack": ("warning", "2m"),
    "DDoSAttack": ("critical", "1m"),
}
REQUIRED_ALERTS = {
    *RUNBOOK_ALERTS,
    "PrivilegedOperationsSpike",
    "CertificateExpiringSoon",
    "PodRestartingFrequently",
    "GenerationSuccessRateLow",
    "GenerationQueueBacklog",
    "GenerationDurationHigh",
    "APIErrorBudgetBurn",
    "APILatencyBudgetBurn",
    # The runbook's "Kubernetes Metrics", network and "Query performance" signals.
    "PersistentVolumeUsageHigh",
    "NodeNotReady",
    "NodeUnderPressure",
    "ContainerNetworkErrors",
    "PostgreSQLSlowQueries",
}
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")


def promtool_test_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*_tests.yml"))


def alert_cases() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in promtool_test_files():
        for test in load(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                yield path, case


# -- promtool -------------------------------------------------------------------------
def test_rule_files_and_tests_exist() -> None:
    assert rule_files(), f"no rule files in {RULES_DIR}"
    for path in rule_files():
        tests = path.with_name(f"{path.stem}_tests.yml")
        assert tests.exists(), f"{path.name} has no promtool test file {tests.name} beside it"
        assert path.name in load(tests)["rule_files"], f"{tests.name} does not load {path.name}"


def test_promtool_check_rules(tools: Tools) -> None:
    result = tools.run([tools.promtool, "check", "rules", *map(str, rule_files())])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout + result.stderr


@pytest.mark.parametrize("tests", promtool_test_files(), ids=lambda p: p.name)
def test_promtool_test_rules(tools: Tools, tests: Path) -> None:
    result = tools.run([tools.promtool, "test", "rules", tests.name], cwd=tests.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config(tools: Tools) -> None:
    result = tools.run([tools.promtool, "check", "config", "prometheus.yml"], cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


# -- coverage of the tests ------------------------------------------------------------
def test_every_alert_fires_and_stays_silent_in_a_test() -> None:
    defined = {(rule["alert"], rule["labels"]["severity"]) for rule in alerts()}
    names = {name for name, _ in defined}
    fired: set[tuple[str, str]] = set()
    silent: set[str] = set()
    for path, case in alert_cases():
        name = case["alertname"]
        assert name in names, f"{path.name} tests {name}, which no rule file defines"
        expected = case.get("exp_alerts") or []
        if not expected:
            silent.add(name)
        for alert in expected:
            fired.add((name, alert["exp_labels"]["severity"]))
            assert set(alert.get("exp_annotations", {})) >= {
                "summary",
                "description",
                "runbook_url",
            }, f"{path.name}: a firing case of {name} does not check its annotations"
    assert not defined - fired, f"alerts without a test case where they fire: {defined - fired}"
    assert not names - silent, (
        f"alerts without a test case where they stay silent: {names - silent}"
    )


def test_every_recording_rule_is_evaluated_in_a_test() -> None:
    exprs = [
        case["expr"]
        for path in promtool_test_files()
        for test in load(path)["tests"]
        for case in test.get("promql_expr_test", [])
    ]
    # Long-window SLO ratios are covered through their burn-rate alerts; the rest
    # must appear in a promql_expr_test.
    for rule in rules():
        if "record" not in rule:
            continue
        name = rule["record"]
        assert RECORD_NAME.match(name), f"{name} is not named level:metric:operations"
        if re.search(r":ratio_rate(30m|1h|2h|6h|1d)$", name):
            continue
        assert any(re.search(rf"\b{re.escape(name)}\b", e) for e in exprs), (
            f"recording rule {name} is not evaluated in any promql_expr_test"
        )


def test_recording_rules_are_defined_once() -> None:
    names = [rule["record"] for rule in rules() if "record" in rule]
    assert len(names) == len(set(names))


# -- what every alert carries ----------------------------------------------------------
def test_runbook_and_required_alerts_exist() -> None:
    names = {rule["alert"] for rule in alerts()}
    assert not REQUIRED_ALERTS - names


@pytest.mark.parametrize("name", sorted(RUNBOOK_ALERTS))
def test_runbook_thresholds_durations_and_severities(name: str) -> None:
    severity, duration = RUNBOOK_ALERTS[name]
    (rule,) = [rule for rule in alerts() if rule["alert"] == name]
    assert rule["labels"]["severity"] == severity
    assert rule.get("for") == duration


@pytest.mark.parametrize(
    "rule",
    alerts(),
    ids=lambda rule: f"{rule['alert']}-{rule['labels'].get('severity')}",
)
def test_alert_labels_and_annotations(rule: dict[str, Any]) -> None:
    name = rule["alert"]
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name), "alert names are CamelCase"
    labels, annotations = rule["labels"], rule["annotations"]
    assert labels.get("severity") in SEVERITIES
    assert labels.get("service") in SERVICES | {INFRASTRUCTURE, TEMPLATED_SERVICE, POD_SERVICE}
    if labels["service"] == TEMPLATED_SERVICE:
        assert 'container=~"synthdata-api|synthdata-worker"' in rule["expr"]
    if labels["service"] == POD_SERVICE:
        assert '"service", "synthdata-$1", "pod", "synthdata-(api|worker)-.*"' in rule["expr"]
    if labels["service"] == INFRASTRUCTURE:
        assert labels.get("component"), f"{name}: say which part of the infrastructure"
    assert annotations.get("summary")
    assert annotations.get("runbook_url") == RUNBOOK_URL + name.lower()
    description = annotations.get("description", "")
    assert description
    if name not in VALUELESS:
        assert "$value" in description, f"{name}: the description should give the value"
    for use in re.findall(r"\{\{[^}]*\$value[^}]*\}\}", description):
        assert "|" in use, f"{name}: {use} prints the raw float; format it"


def test_histogram_quantiles_use_rate_and_sum_by_le() -> None:
    for rule in rules():
        expr = " ".join(rule["expr"].split())
        for match in re.finditer(r"histogram_quantile\((.*)", expr):
            body = match.group(1)
            assert re.search(r"sum by \([^)]*\ble\b[^)]*\) \(rate\(", body), (
                f"{rule.get('record') or rule.get('alert')}: quantile without sum by (le) (rate())"
            )


def test_every_alert_is_documented() -> None:
    """Each runbook_url anchor exists as a heading (docs/runbook.md)."""
    anchors = {
        _github_anchor(line) for line in ALERTS_DOC.read_text().splitlines() if line.startswith("#")
    }
    for rule in alerts():
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in anchors, f"no heading in {ALERTS_DOC.name} for #{anchor}"


def _github_anchor(heading: str) -> str:
    text = heading.lstrip("#").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


# -- prometheus.yml ---------------------------------------------------------------------
def test_prometheus_config_loads_every_rule_file() -> None:
    config = load(PROMETHEUS_DIR / "prometheus.yml")
    listed = {PROMETHEUS_DIR / path for path in config["rule_files"]}
    assert listed == set(rule_files())


def test_prometheus_config_scrapes_the_platform() -> None:
    config = load(PROMETHEUS_DIR / "prometheus.yml")
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"
    assert "cluster" in config["global"]["external_labels"]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs >= {
        "synthdata-api",
        "synthdata-worker",
        "node-exporter",
        "postgres-exporter",
        "redis-exporter",
    }
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:9093"]
