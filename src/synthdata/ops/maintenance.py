"""`monitoring-maintenance --weekly`: the weekly checklist, one finding per step.

Static checks of the shipped configuration (promtool check rules, promtool test
rules, amtool check-config, dashboard drift and lint), then the live stack
(Prometheus targets down, rules failing to evaluate, TSDB head series and the
highest-cardinality metrics, Alertmanager silences expiring soon or expired), then a
configuration backup and a dry run of the metrics cleanup.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from synthdata.ops.dashboards import Dashboard, drift, lint, read_dashboard_file
from synthdata.ops.live_api import ApiError, LiveApi, Unreachable
from synthdata.ops.maintenance_backup import backup_monitoring_config
from synthdata.ops.maintenance_cleanup import cleanup_metrics
from synthdata.ops.monitoring_stack import rule_files
from synthdata.ops.report import Report
from synthdata.ops.timeparse import parse_timestamp
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

TOOL_TIMEOUT = 120


@dataclass(frozen=True)
class WeeklyOptions:
    """Where the backup goes and how far the live checks look."""

    backup_dir: Path = field(default_factory=lambda: Path("var/backups/monitoring"))
    older_than: timedelta = timedelta(days=90)
    silence_horizon: timedelta = timedelta(days=7)
    top: int = 10


def _run(args: list[str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _tool(report: Report, step: str, name: str) -> str | None:
    found = shutil.which(name)
    if found is None:
        report.add(step, "unreachable", f"{name} is not installed (apt-get install prometheus)")
    return found


def rule_and_test_files(monitoring_dir: Path) -> tuple[list[Path], list[Path]]:
    """The rule files (those prometheus.yml lists, plus any other beside them) and the
    promtool test files (`*_tests.yml`) next to them."""
    listed = rule_files(monitoring_dir)
    folders = sorted({path.parent for path in listed})
    rules = set(listed)
    tests: set[Path] = set()
    for folder in folders:
        for path in folder.glob("*.yml"):
            (tests if path.stem.endswith("_tests") else rules).add(path)
    return sorted(rules), sorted(tests)


def check_rules(report: Report, monitoring_dir: Path) -> None:
    """`promtool check rules` and `promtool test rules`, file by file."""
    rules, tests = rule_and_test_files(monitoring_dir)
    promtool = _tool(report, "promtool check rules", "promtool")
    if promtool is None:
        return
    for step, command, files in (
        ("promtool check rules", ["check", "rules"], rules),
        ("promtool test rules", ["test", "rules"], tests),
    ):
        failed: dict[str, str] = {}
        for path in files:
            code, output = _run([promtool, *command, path.name], path.parent)
            if code != 0:
                failed[str(path)] = _last_line(output) or f"exit {code}"
        if failed:
            detail = "; ".join(f"{path}: {why}" for path, why in failed.items())
            report.add(step, "fail", detail, files=sorted(failed))
        else:
            report.add(step, "ok", f"{len(files)} files pass")


def check_alertmanager(report: Report, monitoring_dir: Path) -> None:
    """`amtool check-config` on the shipped Alertmanager configuration."""
    amtool = _tool(report, "amtool check-config", "amtool")
    config = monitoring_dir / "alertmanager" / "alertmanager.yml"
    if amtool is None:
        return
    code, output = _run([amtool, "check-config", config.name], config.parent)
    if code == 0:
        report.add("amtool check-config", "ok", f"{config} passes")
    else:
        report.add("amtool check-config", "fail", f"{config}: {_last_line(output)}")


def load_dashboard_specs(definitions: Path) -> tuple[Dashboard, ...]:
    """`DASHBOARDS` of the Python file the dashboards are generated from."""
    spec = importlib.util.spec_from_file_location("synthdata_weekly_dashboards", definitions)
    if spec is None or spec.loader is None:
        raise ImportError(f"{definitions} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.DASHBOARDS)


def check_dashboards(report: Report, monitoring_dir: Path) -> None:
    """The committed dashboards equal what the definitions generate, and pass the lint."""
    grafana = monitoring_dir / "grafana"
    try:
        specs = load_dashboard_specs(grafana / "dashboards.py")
        stale = drift(specs, grafana / "dashboards")
    except Exception as exc:  # the definitions are code: any error is a finding, not a crash
        report.add("dashboard drift", "fail", f"{grafana / 'dashboards.py'}: {exc!r}")
        return
    if stale:
        report.add(
            "dashboard drift",
            "fail",
            f"out of date (run generate-dashboards): {', '.join(stale)}",
            files=stale,
        )
    else:
        report.add("dashboard drift", "ok", f"{len(specs)} dashboards match their definitions")
    problems = []
    for path in sorted((grafana / "dashboards").glob("*.json")):
        try:
            problems += [f"{path.name}: {p}" for b in read_dashboard_file(path) for p in lint(b)]
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: {exc}")
    report.add("dashboard lint", "fail" if problems else "ok", "; ".join(problems) or "clean")


def check_prometheus(report: Report, url: str, top: int) -> None:
    """Targets down, rules failing, TSDB head series and top cardinality."""
    with LiveApi("Prometheus", url) as api:
        try:
            targets = api.get("/api/v1/targets", state="active")["activeTargets"]
            groups = api.get("/api/v1/rules")["groups"]
            tsdb = api.get("/api/v1/status/tsdb")
        except (Unreachable, ApiError, KeyError, TypeError) as exc:
            report.add("live Prometheus", "unreachable", str(exc))
            return
    down = [
        f"{t['labels'].get('job')} {t['labels'].get('instance')}: {t.get('lastError') or 'down'}"
        for t in targets
        if t.get("health") == "down"
    ]
    report.add(
        "targets down",
        "warn" if down else "ok",
        "; ".join(down) or f"all {len(targets)} targets up",
    )
    failing = [
        f"{group['name']}/{rule.get('name')}: {rule.get('lastError', '')}"
        for group in groups
        for rule in group.get("rules") or []
        if rule.get("health") == "err"
    ]
    total = sum(len(group.get("rules") or []) for group in groups)
    report.add(
        "rule evaluation",
        "fail" if failing else "ok",
        "; ".join(failing) or f"{total} rules in {len(groups)} groups evaluate",
    )
    head = tsdb.get("headStats") or {}
    heavy = (tsdb.get("seriesCountByMetricName") or [])[:top]
    report.add(
        "TSDB head series",
        "info",
        f"{head.get('numSeries', 0)} series; top: "
        + (", ".join(f"{m['name']} ({m['value']})" for m in heavy) or "none"),
        series=head.get("numSeries", 0),
        top_metrics={m["name"]: m["value"] for m in heavy},
    )


def check_silences(report: Report, url: str, horizon: timedelta, now: datetime) -> None:
    """Active silences ending within `horizon` (warn) and expired silences (info)."""
    with LiveApi("Alertmanager", url) as api:
        try:
            silences = api.get("/api/v2/silences")
        except (Unreachable, ApiError) as exc:
            report.add("live Alertmanager", "unreachable", str(exc))
            return
    ending, expired = [], []
    for silence in silences:
        state = (silence.get("status") or {}).get("state")
        ends = parse_timestamp(silence["endsAt"])
        label = f"{silence.get('id', '?')[:8]} by {silence.get('createdBy', '?')}"
        if state == "expired":
            expired.append(f"{label} (ended {ends:%Y-%m-%d %H:%M})")
        elif ends - now <= horizon:
            ending.append(f"{label}: {silence.get('comment', '')!r} ends {ends:%Y-%m-%d %H:%M}")
    days = horizon.days
    report.add(
        f"silences ending within {days} days",
        "warn" if ending else "ok",
        "; ".join(ending) or f"none of {len(silences) - len(expired)} active/pending",
    )
    report.add("expired silences", "info", "; ".join(expired) or "none")


def _merge(report: Report, step: str, part: Report) -> None:
    for finding in part.findings:
        report.add(f"{step}: {finding.name}", finding.status, finding.detail, **finding.data)


def weekly(
    settings: Settings, monitoring_dir: Path, options: WeeklyOptions, now: datetime | None = None
) -> Report:
    """Every step of the weekly checklist, in order."""
    now = now or utcnow()
    report = Report(f"monitoring-maintenance --weekly ({monitoring_dir})")
    check_rules(report, monitoring_dir)
    check_alertmanager(report, monitoring_dir)
    check_dashboards(report, monitoring_dir)
    check_prometheus(report, settings.prometheus_url, options.top)
    check_silences(report, settings.alertmanager_url, options.silence_horizon, now)
    backup = backup_monitoring_config(settings, monitoring_dir, options.backup_dir, now)
    _merge(report, "backup", backup)
    cleanup = cleanup_metrics(settings.prometheus_url, options.older_than, dry_run=True, now=now)
    _merge(report, "cleanup dry run", cleanup)
    report.extra["archive"] = backup.extra.get("archive")
    return report
