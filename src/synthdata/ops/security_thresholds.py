"""The security alerts' thresholds, read from the Prometheus rule files.

The ops commands judge the access log and the audit log by the same numbers as the
alerts (BruteForceAttack, DDoSAttack, PrivilegedOperationsSpike,
CertificateExpiringSoon), so an operator never sees the script and the pager
disagree. The numbers are read from `monitoring/prometheus/rules/*.yml` rather than
copied: change the rule and the commands follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from synthdata.ops.monitoring_stack import rule_files
from synthdata.ops.timeparse import duration_text, parse_duration

BRUTE_FORCE = "BruteForceAttack"
DDOS = "DDoSAttack"
PRIVILEGED_SPIKE = "PrivilegedOperationsSpike"
CERT_EXPIRY = "CertificateExpiringSoon"

_COMPARISON = re.compile(r"(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$")
_WINDOW = re.compile(r"\[((?:\d+(?:ms|[smhdwy]))+)\]")


class ThresholdError(Exception):
    """An alert is missing from the rule files, or its expression has no threshold."""


@dataclass(frozen=True)
class AlertThreshold:
    """`expr <comparison> threshold`, over `window` (the expression's range, if any)."""

    alert: str
    expr: str
    comparison: str
    threshold: float
    window: timedelta | None
    severity: str
    source: Path

    def describe(self) -> str:
        window = f" over {duration_text(self.window)}" if self.window else ""
        return f"{self.alert} ({self.source.name}): {self.comparison} {self.threshold:g}{window}"


def alert_thresholds(monitoring_dir: Path, alert: str) -> list[AlertThreshold]:
    """Every rule named `alert` (one per severity), in file order."""
    found: list[AlertThreshold] = []
    for path in rule_files(monitoring_dir):
        document = yaml.safe_load(path.read_text()) or {}
        for group in document.get("groups") or []:
            for rule in group.get("rules") or []:
                if rule.get("alert") == alert:
                    found.append(_threshold(alert, rule, path))
    if not found:
        raise ThresholdError(f"alert {alert} not found in the rule files of {monitoring_dir}")
    return found


def alert_threshold(monitoring_dir: Path, alert: str) -> AlertThreshold:
    """The first rule named `alert` (the alerts with one severity)."""
    return alert_thresholds(monitoring_dir, alert)[0]


def _threshold(alert: str, rule: dict[str, object], path: Path) -> AlertThreshold:
    expr = str(rule.get("expr", "")).strip()
    match = _COMPARISON.search(expr)
    if match is None:
        raise ThresholdError(f"{path.name}: {alert} has no `> N` / `< N` threshold: {expr}")
    window = _WINDOW.search(expr)
    labels = rule.get("labels") or {}
    return AlertThreshold(
        alert=alert,
        expr=expr,
        comparison=match.group(1),
        threshold=float(match.group(2)),
        window=parse_duration(window.group(1)) if window else None,
        severity=str(labels.get("severity", "")) if isinstance(labels, dict) else "",
        source=path,
    )
