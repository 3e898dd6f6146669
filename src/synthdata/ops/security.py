"""`security-check`: failed logins and suspicious sources, from the access log and Prometheus.

Evidence comes from three places, each reported on its own line so a missing one is
visible: the JSON access log (`SYNTHDATA_LOG_FILE`: every request with its source
address and status), the auth lockout state (Redis keys, or 429 answers in the log
when the limits live in each process's memory), and Prometheus (the counters by
reason, and the alert expressions themselves).

A failed authentication is what `auth_failures_total` counts, so the command and
the BruteForceAttack rule count the same requests: an access line marked with an
`auth_failure` reason (401 missing/unknown/revoked key, 403 forbidden, and the 429s of
a locked-out address), or, in lines written before the mark existed, a 401 or 403.
A 429 of a busy but honest address (the per-source rate limit) is not a failure.

A source is suspicious when, in the window:
- its failed authentications exceed the BruteForceAttack rate in any window of that
  rule's range (`rate(auth_failures_total[5m]) > 10` as shipped); the rule adds up
  every source, so when only all of them together cross it, the finding says so and
  names the biggest contributors;
- its requests exceed the DDoSAttack rate in any window of that rule's range
  (`> 1000` requests/s over 1 m as shipped);
- it authenticated as `distinct_customers` or more customers (many keys from one place);
- it sent at least `ratio_min_requests` requests and at least `error_ratio` of them got 4xx.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from synthdata.ops.access_log import AccessLine
from synthdata.ops.live_api import ApiError, LiveApi, Unreachable
from synthdata.ops.report import Report
from synthdata.ops.security_thresholds import AlertThreshold
from synthdata.ops.timeparse import duration_text

FAILED_AUTH = (401, 403)  # without an `auth_failure` mark (older log lines)
REFUSED = 429
TOP = 5


@dataclass(frozen=True)
class SourceLimits:
    """When a source is suspicious: two alert thresholds and two ratios of our own."""

    brute_force: AlertThreshold
    ddos: AlertThreshold
    distinct_customers: int = 5
    error_ratio: float = 0.5
    ratio_min_requests: int = 20


@dataclass
class SourceStats:
    """What one source address did in the window."""

    source: str
    requests: int = 0
    failed_auth: int = 0
    client_errors: int = 0
    refused: int = 0
    last_refused: datetime | None = None
    customers: set[str] = field(default_factory=set)
    per_second: Counter[int] = field(default_factory=Counter)
    failures_per_second: Counter[int] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failure_statuses: Counter[int] = field(default_factory=Counter)


def is_failed_auth(line: AccessLine) -> bool:
    """Whether `auth_failures_total` counted this request (see the module docstring)."""
    return line.auth_failure is not None or line.status in FAILED_AUTH


def collect(lines: Iterable[AccessLine]) -> dict[str, SourceStats]:
    """Per-source counts of the access lines."""
    stats: dict[str, SourceStats] = {}
    for line in lines:
        entry = stats.setdefault(line.source, SourceStats(line.source))
        second = int(line.at.timestamp())
        entry.requests += 1
        entry.per_second[second] += 1
        entry.statuses[line.status] += 1
        if line.customer_id:
            entry.customers.add(line.customer_id)
        if 400 <= line.status < 500:
            entry.client_errors += 1
        if is_failed_auth(line):
            entry.failed_auth += 1
            entry.failures_per_second[second] += 1
            entry.failure_statuses[line.status] += 1
        if line.status == REFUSED:
            entry.refused += 1
            if entry.last_refused is None or line.at > entry.last_refused:
                entry.last_refused = line.at
    return stats


def busiest_window(per_second: Counter[int], window: timedelta) -> tuple[int, int]:
    """(most events in any `window`, the start second of that window)."""
    span = max(1, int(window.total_seconds()))
    seconds = sorted(per_second)
    best, best_start, total, left = 0, seconds[0] if seconds else 0, 0, 0
    for second in seconds:
        total += per_second[second]
        while seconds[left] <= second - span:
            total -= per_second[seconds[left]]
            left += 1
        if total > best:
            best, best_start = total, seconds[left]
    return best, best_start


def _over_rate(per_second: Counter[int], rule: AlertThreshold) -> tuple[bool, float, int]:
    """Whether the busiest window of `rule`'s range crosses its per-second threshold."""
    window = rule.window or timedelta(minutes=5)
    count, start = busiest_window(per_second, window)
    rate = count / window.total_seconds()
    return rate > rule.threshold, rate, start


def _stamp(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")


def _top(counter: Counter[str], n: int = TOP) -> str:
    return ", ".join(f"{name} ({count})" for name, count in counter.most_common(n))


# -- failed logins ----------------------------------------------------------------------
def report_failed_auth(report: Report, stats: dict[str, SourceStats], last: timedelta) -> None:
    """Failed authentications in the window (lockout 429s included), by status and source."""
    by_source = Counter({s.source: s.failed_auth for s in stats.values() if s.failed_auth})
    by_status: Counter[int] = Counter()
    for entry in stats.values():
        by_status.update(entry.failure_statuses)
    total = sum(by_source.values())
    if not total:
        report.add("failed auths (access log)", "ok", f"none in the last {duration_text(last)}")
        return
    statuses = ", ".join(
        f"{status}{' locked out' if status == REFUSED else ''}: {by_status[status]}"
        for status in sorted(by_status)
    )
    report.add(
        "failed auths (access log)",
        "info",
        f"{total} in the last {duration_text(last)} ({statuses}) "
        f"from {len(by_source)} sources: {_top(by_source)}",
        by_status={str(k): v for k, v in by_status.items()},
        by_source=dict(by_source),
    )


def report_prometheus_auth(
    report: Report, prometheus: LiveApi, last: timedelta, brute_force: AlertThreshold
) -> None:
    """`increase(auth_failures_total[last])` by reason, and the BruteForceAttack expression."""
    try:
        rows = prometheus.query(
            f"sum by (reason) (increase(auth_failures_total[{duration_text(last)}]))"
        )
        firing = prometheus.query(brute_force.expr)
    except (Unreachable, ApiError) as exc:
        report.add("auth failures (Prometheus)", "unreachable", str(exc))
        return
    by_reason = {row["metric"].get("reason", "?"): round(float(row["value"][1]), 1) for row in rows}
    listed = ", ".join(f"{k}: {v:g}" for k, v in sorted(by_reason.items()) if v) or "none"
    report.add("auth failures (Prometheus)", "info", listed, by_reason=by_reason)
    if firing:
        values = ", ".join(f"{float(row['value'][1]):.2f}/s" for row in firing)
        report.add(f"{brute_force.alert} (Prometheus)", "fail", f"condition holds now: {values}")
    else:
        report.add(f"{brute_force.alert} (Prometheus)", "ok", brute_force.describe())


def report_lockouts(
    report: Report,
    locked: dict[str, int] | None,
    stats: dict[str, SourceStats],
    now: datetime,
    lockout_seconds: int,
) -> None:
    """Sources locked out now: exact from Redis, or inferred from recent 429 answers."""
    if locked is not None:
        if locked:
            listed = ", ".join(f"{s} ({t} s left)" for s, t in sorted(locked.items()))
            report.add("locked-out sources", "warn", listed, sources=locked)
        else:
            report.add("locked-out sources", "ok", "none (Redis lockout keys)")
        return
    since = now - timedelta(seconds=lockout_seconds)
    recent = sorted(
        s.source
        for s in stats.values()
        if s.last_refused and s.last_refused >= since and s.failed_auth
    )
    if recent:
        report.add(
            "locked-out sources",
            "warn",
            f"refused with 429 after failed auths in the last {lockout_seconds} s "
            f"(lockouts live in each process's memory; inferred from the log): "
            + ", ".join(recent),
            sources=recent,
        )
    else:
        report.add(
            "locked-out sources", "ok", "none refused after failed auths (inferred from the log)"
        )


# -- suspicious sources -------------------------------------------------------------------
def report_suspicious_sources(
    report: Report, stats: dict[str, SourceStats], limits: SourceLimits
) -> None:
    """The four per-source checks of the module docstring, one finding each."""
    brute, flood, many, errors = [], [], [], []
    for entry in sorted(stats.values(), key=lambda s: s.source):
        over, rate, start = _over_rate(entry.failures_per_second, limits.brute_force)
        if entry.failed_auth and over:
            brute.append(f"{entry.source} ({rate:.2f} failed/s from {_stamp(start)})")
        over, rate, start = _over_rate(entry.per_second, limits.ddos)
        if over:
            flood.append(f"{entry.source} ({rate:.2f} req/s from {_stamp(start)})")
        if len(entry.customers) >= limits.distinct_customers:
            many.append(f"{entry.source} ({len(entry.customers)} customers)")
        ratio = entry.client_errors / entry.requests if entry.requests else 0.0
        if entry.requests >= limits.ratio_min_requests and ratio >= limits.error_ratio:
            errors.append(f"{entry.source} ({ratio:.0%} of {entry.requests})")
    if not brute:
        brute += _together(stats, limits.brute_force)
    _verdict(report, "brute-force sources", brute, "fail", limits.brute_force.describe())
    _verdict(report, "flooding sources (DDoS)", flood, "fail", limits.ddos.describe())
    _verdict(
        report,
        "sources using many customers' keys",
        many,
        "warn",
        f">= {limits.distinct_customers} distinct customers from one source",
    )
    _verdict(
        report,
        "sources with mostly 4xx",
        errors,
        "warn",
        f">= {limits.error_ratio:.0%} 4xx of >= {limits.ratio_min_requests} requests",
    )


def _together(stats: dict[str, SourceStats], rule: AlertThreshold) -> list[str]:
    """The rule's own view (every source added up), when no single source crosses it."""
    combined: Counter[int] = Counter()
    for entry in stats.values():
        combined.update(entry.failures_per_second)
    over, rate, start = _over_rate(combined, rule)
    if not over:
        return []
    window = rule.window or timedelta(minutes=5)
    end = start + int(window.total_seconds())
    in_window = Counter(
        {
            entry.source: sum(n for s, n in entry.failures_per_second.items() if start <= s < end)
            for entry in stats.values()
        }
    )
    return [
        f"all sources together ({rate:.2f} failed/s from {_stamp(start)}; "
        f"{len(+in_window)} sources, most: {_top(+in_window)})"
    ]


def _verdict(report: Report, name: str, hits: list[str], bad: str, rule: str) -> None:
    if hits:
        report.add(name, "fail" if bad == "fail" else "warn", "; ".join(hits), rule=rule)
    else:
        report.add(name, "ok", f"none ({rule})")


def report_prometheus_sources(report: Report, prometheus: LiveApi, ddos: AlertThreshold) -> None:
    """The DDoSAttack expression evaluated now (per heavy-hitter source address)."""
    try:
        firing = prometheus.query(ddos.expr)
    except (Unreachable, ApiError) as exc:
        report.add(f"{ddos.alert} (Prometheus)", "unreachable", str(exc))
        return
    if firing:
        listed = ", ".join(
            f"{row['metric'].get('source_ip', '?')} ({float(row['value'][1]):.0f} req/s)"
            for row in firing
        )
        report.add(f"{ddos.alert} (Prometheus)", "fail", f"condition holds now: {listed}")
    else:
        report.add(f"{ddos.alert} (Prometheus)", "ok", ddos.describe())
