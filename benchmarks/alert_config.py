"""The shipped alerting configuration, read at run time: rule files, `for:` durations,
scrape/evaluation intervals and Alertmanager's grouping timers.

Nothing here holds a threshold or a duration of its own: the benchmark reads
monitoring/ every time it runs, so it measures whatever the repository ships. The
compressed mode (the CI test) divides the shipped durations by TIME_SCALE in its own
copies; the production mode uses the files as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
MONITORING = REPO / "monitoring"
PROMETHEUS_YML = MONITORING / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = MONITORING / "alertmanager" / "alertmanager.yml"
TIME_SCALE = 30
MIN_RANGE_SECONDS = 5
# Prometheus' own default for --rules.alert.resend-delay (the production mode keeps it).
DEFAULT_RESEND_DELAY = "1m"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")


def seconds(duration: str) -> float:
    """A Prometheus duration ("1h30m", "5m") in seconds."""
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def scaled(duration: str, scale: int, floor: float = 0.0) -> str:
    value = max(seconds(duration) / scale, floor)
    return f"{max(1, round(value))}s"


def compress_rules(text: str, scale: int = TIME_SCALE) -> str:
    """A rule file with every `for:`, range selector and group `interval:` divided by
    `scale`."""
    document = yaml.safe_load(text)
    for group in document["groups"]:
        if "interval" in group:
            group["interval"] = scaled(group["interval"], scale)
        for rule in group["rules"]:
            rule["expr"] = re.sub(
                r"\[(\w+)\]",
                lambda m: f"[{scaled(m.group(1), scale, MIN_RANGE_SECONDS)}]",
                rule["expr"],
            )
            if "for" in rule:
                rule["for"] = scaled(rule["for"], scale)
    return yaml.safe_dump(document, sort_keys=False)


def shipped_prometheus() -> dict[str, Any]:
    return dict(yaml.safe_load(PROMETHEUS_YML.read_text()))


def shipped_rule_files() -> list[Path]:
    return [PROMETHEUS_YML.parent / name for name in shipped_prometheus()["rule_files"]]


def shipped_alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of the shipped rule files (recording rules left out)."""
    rules = []
    for path in shipped_rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


def alert_names() -> list[str]:
    """The shipped alert names, longest first (so a name never matches inside another)."""
    return sorted({rule["alert"] for rule in shipped_alert_rules()}, key=len, reverse=True)


def names_in(text: str, names: list[str]) -> list[str]:
    """The alert names that occur in `text` as words."""
    return [name for name in names if re.search(rf"\b{re.escape(name)}\b", text)]


@dataclass(frozen=True)
class Timing:
    """The waits between a fault and its notification that the configuration fixes."""

    scrape_interval_s: float
    evaluation_interval_s: float
    group_wait_s: float
    group_interval_s: float

    def floor_s(self, for_s: float) -> float:
        """The shortest possible fault-to-notification time: `for:` + group_wait (the
        fault seen by the very next scrape and evaluation)."""
        return for_s + self.group_wait_s

    def bound_s(self, for_s: float) -> float:
        """`for:` + one scrape interval + one evaluation interval + group_wait: the
        configured latency when scrape and evaluation are worst aligned (a rate over
        a window may add time on top, to reach its threshold)."""
        return for_s + self.scrape_interval_s + self.evaluation_interval_s + self.group_wait_s


def shipped_timing() -> Timing:
    """The shipped global intervals and the root route's grouping timers."""
    prometheus = shipped_prometheus()["global"]
    route = yaml.safe_load(ALERTMANAGER_YML.read_text())["route"]
    return Timing(
        scrape_interval_s=seconds(prometheus.get("scrape_interval", "1m")),
        evaluation_interval_s=seconds(prometheus.get("evaluation_interval", "1m")),
        group_wait_s=seconds(route.get("group_wait", "30s")),
        group_interval_s=seconds(route.get("group_interval", "5m")),
    )


def alert_for_seconds(alertname: str, severity: str | None = None) -> float:
    """The shortest shipped `for:` of `alertname` (of that severity, when given)."""
    durations = [
        seconds(rule.get("for", "0s"))
        for rule in shipped_alert_rules()
        if rule["alert"] == alertname
        and (severity is None or rule.get("labels", {}).get("severity") == severity)
    ]
    if not durations:
        raise KeyError(f"no shipped alert {alertname!r}")
    return min(durations)


def longest_critical_for_seconds() -> float:
    """The longest `for:` among the shipped critical alerts: how long a fault must last
    before every page it can cause has had its chance."""
    return max(
        seconds(rule.get("for", "0s"))
        for rule in shipped_alert_rules()
        if rule.get("labels", {}).get("severity") == "critical"
    )


def pages_expected(alertname: str) -> int:
    """Pages one cause of `alertname` should give: 1 when it is critical (PagerDuty), 0 when
    it only warns (Slack: BruteForceAttack is a warning in the runbook)."""
    return int(
        any(
            rule.get("labels", {}).get("severity") == "critical"
            for rule in shipped_alert_rules()
            if rule["alert"] == alertname
        )
    )
