"""`synthdata ops`: security-check, analyze-access-patterns, security-report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from synthdata.cli.ops.app import ops_app, settings_from_env, window_option
from synthdata.ops.report import Report, emit

if TYPE_CHECKING:
    from synthdata.ops.security_patterns import BusinessHours

JsonOption = Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")]
MonitoringDirOption = Annotated[
    Path | None,
    typer.Option(
        help="The monitoring/ folder whose alert rules give the thresholds "
        "(default: $SYNTHDATA_MONITORING_DIR or the repository's)."
    ),
]


def _monitoring_dir(explicit: Path | None) -> Path:
    from synthdata.ops.monitoring_stack import find_monitoring_dir

    try:
        return find_monitoring_dir(explicit)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--monitoring-dir") from None


def _finish(report: Report, as_json: bool) -> None:
    raise typer.Exit(emit(report, as_json=as_json))


@ops_app.command("security-check")
def security_check(
    suspicious_ips: Annotated[
        bool, typer.Option("--suspicious-ips", help="Sources over the alert rates.")
    ] = False,
    failed_logins: Annotated[
        bool, typer.Option("--failed-logins", help="Auth failures and lockouts.")
    ] = False,
    last: Annotated[str, typer.Option(help="Window to look at (30m, 1h, 24h).")] = "1h",
    distinct_customers: Annotated[
        int, typer.Option(min=2, help="Flag a source that used this many customers' keys.")
    ] = 5,
    error_ratio: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Flag a source with this share of 4xx.")
    ] = 0.5,
    monitoring_dir: MonitoringDirOption = None,
    json_flag: JsonOption = False,
) -> None:
    """Failed logins by reason and source, locked-out sources, and suspicious sources
    (exit 1 when anything suspicious is found; neither flag: both checks)."""
    from synthdata.ops.security_check import CheckOptions
    from synthdata.ops.security_check import security_check as run

    both = not (suspicious_ips or failed_logins)
    options = CheckOptions(
        last=window_option(last),
        failed_logins=failed_logins or both,
        suspicious_ips=suspicious_ips or both,
        distinct_customers=distinct_customers,
        error_ratio=error_ratio,
    )
    report = run(settings_from_env(), _monitoring_dir(monitoring_dir), options)
    _finish(report, json_flag)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _business_hours(hours: str, days: str, timezone: str) -> BusinessHours:
    """`08-18`, `mon-fri` (or `mon,wed,sat`), an IANA zone -> BusinessHours."""
    from zoneinfo import ZoneInfo

    from synthdata.ops.security_patterns import BusinessHours

    try:
        start, end = (int(part) for part in hours.split("-"))
    except ValueError:
        start, end = -1, -1
    if not (0 <= start <= 23 and 0 <= end <= 24):
        raise typer.BadParameter("expected HH-HH, e.g. 08-18", param_hint="--business-hours")
    chosen: set[int] = set()
    for part in days.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in _DAYS or (last or first) not in _DAYS:
            raise typer.BadParameter("expected e.g. mon-fri", param_hint="--business-days")
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        chosen.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        hint = "--timezone"
        raise typer.BadParameter(f"unknown time zone {timezone!r}", param_hint=hint) from None
    return BusinessHours(start, end, frozenset(chosen), timezone)


@ops_app.command("analyze-access-patterns")
def analyze_access_patterns(
    period: Annotated[str, typer.Option(help="How far back to look (24h, 7d).")] = "24h",
    anomalies: Annotated[
        bool,
        typer.Option(
            "--anomalies",
            help="Flag unusual hourly volume, new sources and off-hours admin actions.",
        ),
    ] = False,
    top: Annotated[int, typer.Option(min=1, help="How many top entries to keep.")] = 10,
    business_hours: Annotated[
        str, typer.Option(help="Expected admin hours, local HH-HH (e.g. 08-18 or 22-06).")
    ] = "08-18",
    business_days: Annotated[str, typer.Option(help="Expected admin days.")] = "mon-fri",
    timezone: Annotated[str, typer.Option(help="Time zone of the business hours.")] = "UTC",
    json_flag: JsonOption = False,
) -> None:
    """Per-hour volume, top endpoints/sources/customers, status mix, p95 latency per
    endpoint; with --anomalies, exit 1 when something stands out."""
    from synthdata.ops.security_check import PatternOptions
    from synthdata.ops.security_check import analyze_access_patterns as run

    options = PatternOptions(
        period=window_option(period),
        anomalies=anomalies,
        top=top,
        business_hours=_business_hours(business_hours, business_days, timezone),
    )
    _finish(run(settings_from_env(), options), json_flag)


@ops_app.command("security-report")
def security_report(
    period: Annotated[str, typer.Option(help="How far back the threats go (7d).")] = "7d",
    threats: Annotated[
        bool,
        typer.Option("--threats", help="Failed logins, suspicious sources, privileged ops."),
    ] = False,
    vulnerabilities: Annotated[
        bool,
        typer.Option("--vulnerabilities", help="Certificates, API keys, risky settings."),
    ] = False,
    dependency_audit: Annotated[
        bool,
        typer.Option(
            "--dependency-audit", help="Also run pip-audit if installed (needs the network)."
        ),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="Report file format: md or html.")] = "md",
    output: Annotated[
        Path | None,
        typer.Option(help="Report file (default: var/reports/security-report-<time>.<format>)."),
    ] = None,
    unused_days: Annotated[int, typer.Option(min=1, help="Flag keys unused this long.")] = 90,
    rotate_days: Annotated[int, typer.Option(min=1, help="Flag keys older than this.")] = 180,
    max_admin_keys: Annotated[int, typer.Option(min=0, help="Admin keys expected.")] = 3,
    monitoring_dir: MonitoringDirOption = None,
    json_flag: JsonOption = False,
) -> None:
    """Write a threats + vulnerabilities report and print its findings (neither flag:
    both sections; exit 1 when a finding needs attention)."""
    from synthdata.ops.security_report import ReportOptions, render, write_report
    from synthdata.ops.security_report import security_report as run
    from synthdata.ops.security_vulnerabilities import KeyPolicy

    if fmt not in ("md", "html"):
        raise typer.BadParameter("md or html", param_hint="--format")
    both = not (threats or vulnerabilities)
    options = ReportOptions(
        period=window_option(period),
        threats=threats or both,
        vulnerabilities=vulnerabilities or both,
        dependency_audit=dependency_audit,
        keys=KeyPolicy(unused_days, rotate_days, max_admin_keys),
    )
    from synthdata.service.core.db import utcnow

    settings = settings_from_env()
    now = utcnow()
    whole, sections = run(settings, _monitoring_dir(monitoring_dir), options, now)
    path = output or Path("var") / "reports" / f"security-report-{now:%Y%m%dT%H%M%SZ}.{fmt}"
    try:
        write_report(render(whole, sections, settings, fmt), path)
    except OSError as exc:
        whole.add("report file", "fail", f"cannot write {path}: {exc.strerror or exc}")
    else:
        whole.add("report file", "info", str(path), path=str(path))
        whole.extra["report_file"] = str(path)
    _finish(whole, json_flag)
