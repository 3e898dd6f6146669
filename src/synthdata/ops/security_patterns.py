"""`analyze-access-patterns`: who called what, how often and how fast, and what stands out.

From the access log of the period: requests per hour (hours counted back from now, so
none is partial), the top endpoints, sources and customers, the status mix and the
p95 latency per endpoint. With anomalies on, three things are flagged:

- hours whose volume is far from the period's median, by the modified z-score of
  Iglewicz and Hoaglin: z = 0.6745 (x - median) / MAD, flagged when |z| > 3.5. When
  more than half the hours are equal (MAD = 0) the mean absolute deviation stands in:
  z = (x - median) / (1.2533 MeanAD). Needs at least `MIN_HOURS` hours, and an hour
  must also differ from the median by `MIN_DEVIATION` requests (a quiet service's
  hour of 3 requests against a median of 0 is not an event);
- sources first seen in the last hour of the period (when there is traffic before it
  to compare with);
- admin actions in the audit log outside business hours (by default 08-18,
  Monday-Friday, UTC).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from synthdata.ops.access_log import AccessLine
from synthdata.ops.report import Report
from synthdata.ops.security_records import AuditRecord

Z_THRESHOLD = 3.5
MIN_HOURS = 6
MIN_DEVIATION = 10
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class BusinessHours:
    """When admin work is expected: local hours [start, end) on the given weekdays."""

    start: int = 8
    end: int = 18
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    timezone: str = "UTC"

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        if local.weekday() not in self.weekdays:
            return False
        if self.start <= self.end:
            return self.start <= local.hour < self.end
        return local.hour >= self.start or local.hour < self.end  # an overnight shift

    def describe(self) -> str:
        days = "".join("MTWTFSS"[d] if d in self.weekdays else "-" for d in range(7))
        return f"{self.start:02d}-{self.end:02d} {days} {self.timezone}"


@dataclass
class Patterns:
    """Aggregates of one period's access lines."""

    start: datetime
    hours: int
    hourly: list[int] = field(default_factory=list)
    endpoints: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    customers: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_seen: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hourly = [0] * self.hours

    def add(self, line: AccessLine) -> None:
        index = min(self.hours - 1, int((line.at - self.start) / HOUR))
        self.hourly[index] += 1
        endpoint = f"{line.method} {line.route}"
        self.endpoints[endpoint] += 1
        self.sources[line.source] += 1
        if line.customer_id:
            self.customers[line.customer_id] += 1
        self.statuses[f"{line.status // 100}xx"] += 1
        self.latencies[endpoint].append(line.response_time_ms)
        if line.source not in self.first_seen or line.at < self.first_seen[line.source]:
            self.first_seen[line.source] = line.at


def aggregate(lines: Iterable[AccessLine], start: datetime, end: datetime) -> Patterns:
    """The aggregates of `lines` over [start, end)."""
    patterns = Patterns(start, max(1, math.ceil((end - start) / HOUR)))
    for line in lines:
        patterns.add(line)
    return patterns


def p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def robust_z(values: list[int]) -> list[float]:
    """The modified z-score of each value (0 for all when the values do not vary)."""
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return [0.6745 * (v - median) / mad for v in values]
    mean_ad = statistics.fmean(deviations)
    if mean_ad > 0:
        return [(v - median) / (1.253314 * mean_ad) for v in values]
    return [0.0 for _ in values]


def _top(counter: Counter[str], n: int) -> str:
    return ", ".join(f"{name} ({count})" for name, count in counter.most_common(n)) or "none"


def report_patterns(report: Report, patterns: Patterns, top: int) -> None:
    """The descriptive findings (all `info`)."""
    hourly = patterns.hourly
    report.add(
        "requests per hour",
        "info",
        f"{sum(hourly)} requests over {patterns.hours} h: min {min(hourly)}, "
        f"median {statistics.median(hourly):g}, max {max(hourly)}",
        hours=[
            {"start": (patterns.start + i * HOUR).isoformat(), "requests": count}
            for i, count in enumerate(hourly)
        ],
    )
    for name, counter in (
        ("top endpoints", patterns.endpoints),
        ("top sources", patterns.sources),
        ("top customers", patterns.customers),
    ):
        report.add(name, "info", _top(counter, 5), top=dict(counter.most_common(top)))
    total = sum(patterns.statuses.values()) or 1
    mix = ", ".join(f"{cls}: {n} ({n / total:.0%})" for cls, n in sorted(patterns.statuses.items()))
    report.add("status mix", "info", mix or "no requests", statuses=dict(patterns.statuses))
    latency = {name: round(p95(values), 1) for name, values in patterns.latencies.items()}
    slowest = sorted(latency.items(), key=lambda item: item[1], reverse=True)
    report.add(
        "latency p95 by endpoint",
        "info",
        ", ".join(f"{name}: {ms:g} ms" for name, ms in slowest[:5]) or "no requests",
        p95_ms=dict(slowest),
    )


def report_volume_anomalies(report: Report, patterns: Patterns) -> None:
    """Hours whose request count is far from the period's median."""
    if patterns.hours < MIN_HOURS:
        report.add(
            "volume anomalies",
            "info",
            f"a period of {patterns.hours} h is too short (at least {MIN_HOURS} h)",
        )
        return
    median = statistics.median(patterns.hourly)
    flagged = [
        (patterns.start + i * HOUR, patterns.hourly[i], z)
        for i, z in enumerate(robust_z(patterns.hourly))
        if abs(z) > Z_THRESHOLD and abs(patterns.hourly[i] - median) >= MIN_DEVIATION
    ]
    rule = f"|modified z| > {Z_THRESHOLD} and >= {MIN_DEVIATION} off the median {median:g}/h"
    if not flagged:
        report.add("volume anomalies", "ok", f"none ({rule})")
        return
    report.add(
        "volume anomalies",
        "warn",
        "; ".join(
            f"{at:%m-%d %H:%M} UTC: {count} requests (z {z:+.1f})" for at, count, z in flagged
        ),
        rule=rule,
        hours=[{"start": at.isoformat(), "requests": c, "z": round(z, 2)} for at, c, z in flagged],
    )


def report_new_sources(report: Report, patterns: Patterns, end: datetime) -> None:
    """Sources whose first request of the period came in its last hour."""
    cutoff = end - HOUR
    if not any(at < cutoff for at in patterns.first_seen.values()):
        report.add("new sources (last hour)", "info", "no traffic before the last hour to compare")
        return
    new = sorted(src for src, at in patterns.first_seen.items() if at >= cutoff)
    if new:
        listed = ", ".join(f"{src} ({patterns.sources[src]} requests)" for src in new)
        report.add("new sources (last hour)", "warn", listed, sources=new)
    else:
        report.add("new sources (last hour)", "ok", "every source of the last hour was seen before")


def report_off_hours(report: Report, entries: list[AuditRecord], hours: BusinessHours) -> None:
    """Admin actions (audit log) outside business hours."""
    late = [e for e in entries if not hours.contains(e.at)]
    if not late:
        report.add(
            "off-hours admin actions",
            "ok",
            f"none of {len(entries)} admin actions outside {hours.describe()}",
        )
        return
    report.add(
        "off-hours admin actions",
        "warn",
        "; ".join(f"{e.at:%m-%d %H:%M} UTC {e.actor} {e.action} {e.target}".rstrip() for e in late),
        business_hours=hours.describe(),
        actions=[
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "source": e.source}
            for e in late
        ],
    )
