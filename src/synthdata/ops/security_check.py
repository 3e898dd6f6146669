"""`security-check` and `analyze-access-patterns`: where the evidence comes from.

The judging lives in `synthdata.ops.security` and `synthdata.ops.security_patterns`;
this module gathers the inputs (the access log window, the lockout state, the audit
log, Prometheus) and reports each one that cannot be read as `unreachable`, naming
what and where, instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from synthdata.observability.heavy_hitters import SOURCE_WINDOW_SECONDS
from synthdata.observability.logging import scrub
from synthdata.ops.access_log import AccessLine, read_access_lines
from synthdata.ops.live_api import LiveApi, Unreachable
from synthdata.ops.report import Report
from synthdata.ops.security import (
    SourceLimits,
    SourceStats,
    collect,
    report_failed_auth,
    report_lockouts,
    report_prometheus_auth,
    report_prometheus_sources,
    report_suspicious_sources,
)
from synthdata.ops.security_patterns import (
    BusinessHours,
    aggregate,
    report_new_sources,
    report_off_hours,
    report_patterns,
    report_volume_anomalies,
)
from synthdata.ops.security_records import audit_entries
from synthdata.ops.security_thresholds import BRUTE_FORCE, DDOS, ThresholdError, alert_threshold
from synthdata.ops.timeparse import duration_text
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class CheckOptions:
    """What `security-check` looks at."""

    last: timedelta = timedelta(hours=1)
    failed_logins: bool = True
    suspicious_ips: bool = True
    distinct_customers: int = 5
    error_ratio: float = 0.5
    ratio_min_requests: int = 20


def read_window(
    settings: Settings,
    start: datetime,
    end: datetime,
    report: Report,
    consume: Callable[[Iterable[AccessLine]], T],
) -> T | None:
    """`consume` the access lines of the window (None, and a finding, if unreadable)."""
    path = settings.log_file
    if path is None:
        report.add(
            "access log",
            "unreachable",
            "SYNTHDATA_LOG_FILE is not set: the service writes no log file to read",
        )
        return None
    seen = 0

    def counted(lines: Iterable[AccessLine]) -> Iterator[AccessLine]:
        nonlocal seen
        for line in lines:
            seen += 1
            yield line

    try:
        result = consume(counted(read_access_lines(path, start, end)))
    except OSError as exc:
        report.add("access log", "unreachable", f"cannot read {path}: {exc.strerror or exc}")
        return None
    report.add(
        "access log",
        "info",
        f"{seen} requests from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC in {path}",
        path=str(path),
        requests=seen,
    )
    return result


def redis_lockouts(settings: Settings) -> dict[str, int] | None:
    """Source address -> seconds left, from Redis; None when lockouts live in memory."""
    if not (settings.uses_redis_rate_limits and settings.redis_url):
        return None
    import redis

    prefix = f"{settings.rate_limit_prefix}:lock:src:"
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        found: dict[str, int] = {}
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            ttl = int(client.ttl(key))
            if ttl > 0:
                found[key.decode()[len(prefix) :]] = ttl
        return found
    except redis.RedisError as exc:
        raise Unreachable(f"Redis at {scrub(settings.redis_url)}: {exc}") from None
    finally:
        client.close()


def source_limits(monitoring_dir: Path, options: CheckOptions) -> SourceLimits:
    """The per-source limits: the alert thresholds from the rule files, our own ratios."""
    ddos = alert_threshold(monitoring_dir, DDOS)
    if ddos.window is None:  # a gauge that is already a rate over the sketch's window
        ddos = replace(ddos, window=timedelta(seconds=SOURCE_WINDOW_SECONDS))
    return SourceLimits(
        brute_force=alert_threshold(monitoring_dir, BRUTE_FORCE),
        ddos=ddos,
        distinct_customers=options.distinct_customers,
        error_ratio=options.error_ratio,
        ratio_min_requests=options.ratio_min_requests,
    )


def add_source_checks(
    report: Report,
    settings: Settings,
    limits: SourceLimits,
    stats: dict[str, SourceStats] | None,
    options: CheckOptions,
    now: datetime,
) -> None:
    """The failed-login and suspicious-source findings for one window."""
    with LiveApi("Prometheus", settings.prometheus_url) as prometheus:
        if options.failed_logins:
            if stats is not None:
                report_failed_auth(report, stats, options.last)
            try:
                locked = redis_lockouts(settings)
            except Unreachable as exc:
                report.add("locked-out sources", "unreachable", str(exc))
            else:
                if locked is not None or stats is not None:
                    report_lockouts(report, locked, stats or {}, now, settings.auth_lockout_seconds)
            report_prometheus_auth(report, prometheus, options.last, limits.brute_force)
        if options.suspicious_ips:
            if stats is not None:
                report_suspicious_sources(report, stats, limits)
            report_prometheus_sources(report, prometheus, limits.ddos)


def security_check(
    settings: Settings, monitoring_dir: Path, options: CheckOptions, now: datetime | None = None
) -> Report:
    """Failed logins and suspicious sources over the last `options.last`."""
    now = now or utcnow()
    report = Report(f"security-check (last {duration_text(options.last)})")
    try:
        limits = source_limits(monitoring_dir, options)
    except (ThresholdError, OSError) as exc:
        report.add("alert thresholds", "fail", str(exc))
        return report
    stats = read_window(settings, now - options.last, now, report, collect)
    add_source_checks(report, settings, limits, stats, options, now)
    return report


@dataclass(frozen=True)
class PatternOptions:
    """What `analyze-access-patterns` looks at."""

    period: timedelta = timedelta(hours=24)
    anomalies: bool = False
    top: int = 10
    business_hours: BusinessHours = field(default_factory=BusinessHours)


def analyze_access_patterns(
    settings: Settings, options: PatternOptions, now: datetime | None = None
) -> Report:
    """Volume, top talkers, status mix and latency over the period; anomalies if asked."""
    end = now or utcnow()
    start = end - options.period
    report = Report(f"analyze-access-patterns (period {duration_text(options.period)})")
    patterns = read_window(settings, start, end, report, lambda ls: aggregate(ls, start, end))
    if patterns is not None:
        report_patterns(report, patterns, options.top)
        report.extra["hourly"] = patterns.hourly
    if not options.anomalies:
        return report
    if patterns is not None:
        report_volume_anomalies(report, patterns)
        report_new_sources(report, patterns, end)
    try:
        entries = audit_entries(settings, start, end)
    except Unreachable as exc:
        report.add("off-hours admin actions", "unreachable", str(exc))
    else:
        report_off_hours(report, entries, options.business_hours)
    return report
