"""`security-report`: threats over a period and this deployment's weaknesses, as a file.

Threats are the security-check findings over the whole period (failed logins,
lockouts, suspicious sources, the alert expressions now) plus the privileged
operations of the audit log, counted by action and actor, with every 5-minute
window over the PrivilegedOperationsSpike threshold named. Vulnerabilities come
from `synthdata.ops.security_vulnerabilities`. The report is written as Markdown or
HTML (jinja2, escaped) and the findings are also returned for the terminal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import jinja2

from synthdata.ops.live_api import Unreachable
from synthdata.ops.report import Report
from synthdata.ops.security import busiest_window, collect
from synthdata.ops.security_check import CheckOptions, add_source_checks, read_window, source_limits
from synthdata.ops.security_records import AuditRecord, api_keys, audit_entries
from synthdata.ops.security_thresholds import (
    CERT_EXPIRY,
    PRIVILEGED_SPIKE,
    AlertThreshold,
    ThresholdError,
    alert_threshold,
    alert_thresholds,
)
from synthdata.ops.security_vulnerabilities import (
    KeyPolicy,
    check_certificates,
    check_dependencies,
    check_keys,
    check_settings,
)
from synthdata.ops.timeparse import duration_text
from synthdata.service.admin.privileged import is_privileged
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

_MARKDOWN = """\
# {{ title }}

Generated {{ generated_at }} for the `{{ environment }}` deployment.
Verdict: **{{ verdict }}** ({% for status, n in counts.items() %}{{ status }}: {{ n }}\
{{ ", " if not loop.last }}{% endfor %}).
{% for section in sections %}
## {{ section.title | capitalize }}

| check | status | detail |
|---|---|---|
{% for f in section.findings -%}
| {{ f.name | cell }} | {{ f.status }} | {{ f.detail | cell }} |
{% endfor %}{% endfor %}"""

_HTML = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .6em; }
.ok { color: #2a7; } .info { color: #27a; } .warn { color: #b80; }
.fail { color: #c22; font-weight: bold; } .unreachable { color: #a2a; }
</style></head><body>
<h1>{{ title }}</h1>
<p>Generated {{ generated_at }} for the <code>{{ environment }}</code> deployment.
Verdict: <strong>{{ verdict }}</strong>
({% for status, n in counts.items() %}{{ status }}: {{ n }}{{ ", " if not loop.last }}\
{% endfor %}).</p>
{% for section in sections %}
<h2>{{ section.title | capitalize }}</h2>
<table><tr><th>check</th><th>status</th><th>detail</th></tr>
{% for f in section.findings -%}
<tr><td>{{ f.name }}</td><td class="{{ f.status }}">{{ f.status }}</td><td>{{ f.detail }}</td></tr>
{% endfor %}</table>
{% endfor %}</body></html>
"""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.DictLoader({"md": _MARKDOWN, "html": _HTML}),
        autoescape=autoescape,  # HTML escapes every detail; Markdown cells use `cell`
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["cell"] = _cell
    return environment


FORMATS = {"md": _environment(False), "html": _environment(True)}


@dataclass(frozen=True)
class ReportOptions:
    """What `security-report` covers."""

    period: timedelta = timedelta(days=7)
    threats: bool = True
    vulnerabilities: bool = True
    dependency_audit: bool = False
    keys: KeyPolicy = field(default_factory=KeyPolicy)


def report_privileged(report: Report, entries: list[AuditRecord], rule: AlertThreshold) -> None:
    """Privileged operations by action and actor; windows over the spike threshold.

    Only what `privileged_operations_total` counts: incident work (`incident.*`) is in
    the audit log but never privileged.
    """
    entries = [e for e in entries if is_privileged(e.action)]
    if not entries:
        report.add("privileged operations", "ok", "none in the period")
        return
    by_action = Counter(e.action for e in entries)
    by_actor = Counter(e.actor for e in entries)
    report.add(
        "privileged operations",
        "info",
        f"{len(entries)}: " + ", ".join(f"{a} ({n})" for a, n in by_action.most_common()),
        by_action=dict(by_action),
        by_actor=dict(by_actor),
    )
    spikes = _spikes([e.at for e in entries], rule)
    if spikes:
        listed = "; ".join(f"{count} from {start:%Y-%m-%d %H:%M} UTC" for start, count in spikes)
        report.add(f"{rule.alert} windows", "warn", listed, rule=rule.describe())
    else:
        report.add(f"{rule.alert} windows", "ok", f"none ({rule.describe()})")


def _spikes(moments: list[datetime], rule: AlertThreshold) -> list[tuple[datetime, int]]:
    """Non-overlapping windows of the rule's range holding more than its threshold."""
    window = rule.window or timedelta(minutes=5)
    found: list[tuple[datetime, int]] = []
    remaining = sorted(moments)
    while remaining:
        per_second = Counter(int(m.timestamp()) for m in remaining)
        count, start = busiest_window(per_second, window)
        if count <= rule.threshold:
            break
        begin = datetime.fromtimestamp(start, remaining[0].tzinfo)
        found.append((begin, count))
        remaining = [m for m in remaining if not begin <= m < begin + window]
    return sorted(found)


def threats(settings: Settings, monitoring_dir: Path, period: timedelta, now: datetime) -> Report:
    """The threat findings of the period."""
    report = Report("threats")
    try:
        options = CheckOptions(last=period)
        limits = source_limits(monitoring_dir, options)
        spike_rule = alert_threshold(monitoring_dir, PRIVILEGED_SPIKE)
    except (ThresholdError, OSError) as exc:
        report.add("alert thresholds", "fail", str(exc))
        return report
    stats = read_window(settings, now - period, now, report, collect)
    add_source_checks(report, settings, limits, stats, options, now)
    try:
        entries = audit_entries(settings, now - period, now)
    except Unreachable as exc:
        report.add("privileged operations", "unreachable", str(exc))
    else:
        report_privileged(report, entries, spike_rule)
    return report


def vulnerabilities(
    settings: Settings, monitoring_dir: Path, options: ReportOptions, now: datetime
) -> Report:
    """The configuration-weakness findings."""
    report = Report("vulnerabilities")
    try:
        check_certificates(report, settings, alert_thresholds(monitoring_dir, CERT_EXPIRY))
    except (ThresholdError, OSError) as exc:
        report.add("certificates", "fail", str(exc))
    try:
        check_keys(report, api_keys(settings), now, options.keys)
    except Unreachable as exc:
        report.add("API keys", "unreachable", str(exc))
    check_settings(report, settings)
    if options.dependency_audit:
        check_dependencies(report)
    return report


def security_report(
    settings: Settings, monitoring_dir: Path, options: ReportOptions, now: datetime | None = None
) -> tuple[Report, list[Report]]:
    """The whole report (every finding) and its sections, in order."""
    now = now or utcnow()
    sections: list[Report] = []
    if options.threats:
        sections.append(threats(settings, monitoring_dir, options.period, now))
    if options.vulnerabilities:
        sections.append(vulnerabilities(settings, monitoring_dir, options, now))
    whole = Report(f"security-report (period {duration_text(options.period)})")
    for section in sections:
        whole.findings += section.findings
    whole.extra["generated_at"] = now.isoformat(timespec="seconds")
    return whole, sections


def render(whole: Report, sections: list[Report], settings: Settings, fmt: str) -> str:
    """The report document, Markdown (`md`) or HTML (`html`)."""
    template = FORMATS[fmt].get_template(fmt)
    counts = Counter(finding.status for finding in whole.findings)
    return template.render(
        title=whole.title,
        generated_at=whole.extra.get("generated_at", ""),
        environment=settings.environment,
        verdict=whole.to_dict()["status"],
        counts=dict(sorted(counts.items())),
        sections=sections,
    )


def write_report(text: str, path: Path) -> Path:
    """Write the document (creating its folder); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
