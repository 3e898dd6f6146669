"""`synthdata ops check-error-logs --slow [--min-ms MS]`: the runbook's "Find slow requests" query.

The saved query `monitoring/fluent-bit/queries/slow-requests.json` (response_time at
or above 1000 ms, slowest first) with the threshold set from `--min-ms` (default 1000) and the time
range from `--last` (the runbook's query has none: over all time it would search every
index the cluster holds). From the log file, the same test on each access line.
Requests are grouped by endpoint: count, median and slowest time, the slowest
request's id and customer, the statuses answered.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from synthdata.ops.diagnose import reason
from synthdata.ops.log_sources import MAX_HITS, LogLine, LogQuery, read_lines
from synthdata.ops.logs import saved_query
from synthdata.ops.report import Report
from synthdata.ops.timeparse import duration_text
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

SLOW_QUERY = Path("fluent-bit") / "queries" / "slow-requests.json"


@dataclass
class SlowGroup:
    """The slow requests of one endpoint."""

    endpoint: str
    times: list[float] = field(default_factory=list)
    slowest: LogLine | None = None
    statuses: set[int] = field(default_factory=set)

    def add(self, line: LogLine) -> None:
        took = line.response_ms or 0.0
        self.times.append(took)
        if self.slowest is None or took > (self.slowest.response_ms or 0.0):
            self.slowest = line
        if line.status is not None:
            self.statuses.add(line.status)


def slow_query(saved: dict[str, Any], window: timedelta, threshold_ms: float) -> dict[str, Any]:
    """The saved query with its threshold set, a time range added, and a size."""
    query = copy.deepcopy(saved)
    must = query["query"]["bool"]["must"]
    thresholds = [clause["range"] for clause in must if "range" in clause]
    if len(thresholds) != 1:
        raise ValueError(f"{SLOW_QUERY} no longer has one response-time range")
    ((_, bounds),) = thresholds[0].items()
    bounds["gte"] = threshold_ms
    must.append({"range": {"@timestamp": {"gte": f"now-{duration_text(window)}"}}})
    query["size"] = MAX_HITS
    query["track_total_hits"] = True
    return query


def slow_requests(
    settings: Settings, *, window: timedelta, threshold_ms: float, limit: int
) -> Report:
    """Requests that took at least `threshold_ms` in the window, by endpoint."""
    report = Report(
        f"check-error-logs --last {duration_text(window)} --slow --min-ms {threshold_ms:g}"
    )
    try:
        query = slow_query(saved_query(SLOW_QUERY), window, threshold_ms)
    except (OSError, ValueError, KeyError) as exc:
        report.add("saved query", "fail", f"cannot load {SLOW_QUERY}: {reason(exc)}")
        return report
    range_field = next(iter(query["query"]["bool"]["must"][0]["range"]))  # app.response_time
    found = read_lines(
        report,
        settings,
        LogQuery(
            elasticsearch=query,
            record_key=range_field.rpartition(".")[0],
            wanted=lambda line: (line.response_ms or 0.0) >= threshold_ms,
            might_match=lambda raw: '"response_time"' in raw,
        ),
        since=utcnow() - window,
    )
    if found is None:
        return report
    lines, source = found
    span = f"at or above {threshold_ms:g} ms in the last {duration_text(window)} ({source})"
    if not lines:
        report.add("slow requests", "ok", f"no request {span}")
        return report
    groups: dict[str, SlowGroup] = {}
    for line in lines:
        groups.setdefault(line.endpoint, SlowGroup(line.endpoint)).add(line)
    ranked = sorted(groups.values(), key=lambda g: (-max(g.times), g.endpoint))
    report.add(
        "slow requests", "warn", f"{len(lines)} request(s) {span}, {len(groups)} endpoint(s)"
    )
    for group in ranked[:limit]:
        _add_group(report, group)
    if len(ranked) > limit:
        report.add("more endpoints", "info", f"{len(ranked) - limit} more (raise --limit)")
    return report


def _add_group(report: Report, group: SlowGroup) -> None:
    slowest = group.slowest
    assert slowest is not None  # a group holds at least one line
    statuses = ", ".join(str(s) for s in sorted(group.statuses))
    median = statistics.median(group.times)
    detail = (
        f"{len(group.times)}x, median {median:.0f} ms, slowest {max(group.times):.0f} ms"
        + (f" (HTTP {statuses})" if statuses else "")
        + f", slowest request_id {slowest.request_id or '-'}"
        + f" at {slowest.at.strftime('%Y-%m-%d %H:%M:%SZ')}"
        + f", customer {slowest.customer or '-'}"
    )
    report.add(
        f"slow {group.endpoint}",
        "warn",
        detail,
        endpoint=group.endpoint,
        count=len(group.times),
        median_ms=median,
        max_ms=max(group.times),
        request_id=slowest.request_id,
        customer=slowest.customer,
        statuses=sorted(group.statuses),
    )
